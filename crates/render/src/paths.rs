//! Repository-relative paths: joined and normalized lexically, never above the root.

/// Normalizes `a/./b/../c` to `a/c`; the root is `""`. A leading `/` means the root.
/// None when the path climbs above the root.
pub fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// Joins `rel` onto the directory `base` (both repository-relative).
pub fn join(base: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') {
        return normalize(rel);
    }
    normalize(&format!("{base}/{rel}"))
}

/// True when `path` is `dir` itself or lies below it.
pub fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The parent directory of a normalized path (`""` for top-level entries).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_normalizes_within_the_root() {
        assert_eq!(join("apps/web", "../base").as_deref(), Some("apps/base"));
        assert_eq!(
            join("apps/web", "./x/../y.yaml").as_deref(),
            Some("apps/web/y.yaml")
        );
        assert_eq!(
            join("apps", "/shared/v.yaml").as_deref(),
            Some("shared/v.yaml")
        );
        assert_eq!(join("", ".").as_deref(), Some(""));
        assert_eq!(join("apps", "../../etc/passwd"), None);
        assert!(is_within("apps/web/x", "apps/web"));
        assert!(!is_within("apps/webby", "apps/web"));
        assert!(is_within("anything", ""));
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("a"), "");
    }
}
