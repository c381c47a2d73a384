//! Whether a plugin's `discover` rule matches an app directory, as Argo CD's cmp-server
//! decides it: `fileName` is a Go `filepath.Glob` pattern (`*` stays within one path segment)
//! and `find.glob` also knows `**`, both relative to the app path; `find.command` runs in the
//! app path and matches when it exits 0 and prints something.

use super::PluginError;
use super::definition::{Plugin, Rule};
use super::run::{Step, run_step};
use crate::tools::Toolbox;
use globset::GlobBuilder;
use std::path::Path;

/// True when `plugin` has a discovery rule and it matches `app_dir`.
pub fn matches(
    plugin: &Plugin,
    app_dir: &Path,
    toolbox: Toolbox<'_>,
    env: &[(String, String)],
) -> Result<bool, PluginError> {
    let bad_glob = |message: String| PluginError::Discover {
        plugin: plugin.full_name(),
        message,
    };
    match plugin.discover.rule() {
        None => Ok(false),
        Some(Rule::FileName(pattern)) => glob_matches(app_dir, &pattern, false).map_err(bad_glob),
        Some(Rule::Glob(pattern)) => glob_matches(app_dir, &pattern, true).map_err(bad_glob),
        Some(Rule::Command(command)) => {
            let stdout = run_step(toolbox, plugin, Step::Discover, &command, app_dir, env)?;
            // Argo CD trims one trailing newline, then any output at all is a match.
            let out = stdout.strip_suffix(b"\n").unwrap_or(&stdout);
            Ok(!out.is_empty())
        }
    }
}

/// True when some file or directory below `dir` matches `pattern`. `double_star`: `**` matches
/// any number of directories (`find.glob`); otherwise it is a plain `*` (Go's `filepath.Glob`).
/// A pattern that climbs out of `dir` matches nothing: discovery only looks at the app path.
pub fn glob_matches(dir: &Path, pattern: &str, double_star: bool) -> Result<bool, String> {
    let mut parts: Vec<String> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Ok(false);
                }
            }
            other if double_star => parts.push(other.to_string()),
            // Go's patterns have no `**` and no `{a,b}`: `**` is `*`, braces are literal.
            other => parts.push(
                other
                    .replace("**", "*")
                    .replace('{', "[{]")
                    .replace('}', "[}]"),
            ),
        }
    }
    if parts.is_empty() {
        return Ok(dir.exists());
    }
    let joined = parts.join("/");
    let matcher = GlobBuilder::new(&joined)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| format!("failed to use glob {pattern:?}: {e}"))?
        .compile_matcher();
    let depth = if parts.iter().any(|p| p == "**") {
        usize::MAX
    } else {
        parts.len()
    };
    Ok(walk_any(dir, "", depth, &mut |rel| matcher.is_match(rel)))
}

/// Visits paths below `dir` (relative, `/`-separated) up to `depth` segments deep, without
/// following symlinked directories, until `found` says yes.
fn walk_any(dir: &Path, prefix: &str, depth: usize, found: &mut dyn FnMut(&str) -> bool) -> bool {
    if depth == 0 {
        return false;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().to_string();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if found(&rel) {
            return true;
        }
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && walk_any(&entry.path(), &rel, depth - 1, found) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp");
        for file in [
            "subdir/secrets.yaml",
            "charts/web/Chart.yaml",
            "env.yaml",
            "{x}.txt",
        ] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "x").expect("write");
        }
        dir
    }

    #[test]
    fn file_name_is_a_go_glob_relative_to_the_app_path() {
        let dir = app();
        let glob = |p: &str| glob_matches(dir.path(), p, false).expect("valid pattern");
        assert!(glob("./subdir/s*.yaml"));
        assert!(glob("env.yaml"));
        assert!(glob("*.yaml"));
        assert!(
            !glob("*/Chart.yaml"),
            "charts/web/Chart.yaml is two levels down"
        );
        assert!(glob("*/*/Chart.yaml"));
        assert!(!glob("**/Chart.yaml"), "Go's Glob has no **");
        assert!(glob("{x}.txt"), "braces are literal in Go");
        assert!(!glob("../*"), "nothing outside the app path");
        assert!(glob_matches(dir.path(), "[", false).is_err());
    }

    #[test]
    fn find_glob_knows_double_star() {
        let dir = app();
        let glob = |p: &str| glob_matches(dir.path(), p, true).expect("valid pattern");
        assert!(glob("**/Chart.yaml"));
        assert!(glob("**/env.yaml"), "** also matches no directory");
        assert!(!glob("**/values.yaml"));
    }
}
