//! Argo CD's name helpers: `normalize` (the `*Normalized` parameters) and `slugify`.

/// Argo CD's `normalize`: lower case, every character outside `[-a-z0-9.]` becomes `-`, at
/// most 253 characters, no leading or trailing `-` or `.` (a DNS subdomain-ish name).
pub fn normalize(name: &str) -> String {
    let replaced: String = name
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '.' => c,
            _ => '-',
        })
        .collect();
    // Only ASCII is left, so slicing by bytes is slicing by characters.
    let truncated = &replaced[..replaced.len().min(253)];
    truncated.trim_matches(|c| c == '-' || c == '.').to_string()
}

/// Argo CD's `slugify [maxSize [smartTruncate]] name`: normalize, then make a URL slug
/// (dots and other punctuation become dashes, runs of dashes collapse, no dash or underscore
/// at either end), cut to `max_size` at a dash boundary when `smart_truncate`.
pub fn slugify(name: &str, max_size: usize, smart_truncate: bool) -> String {
    let mut slug = normalize(name).trim().to_string();
    if !smart_truncate && slug.len() >= max_size {
        slug.truncate(max_size);
    }
    let mut collapsed = String::with_capacity(slug.len());
    for c in slug.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '-'
        };
        if c == '-' && collapsed.ends_with('-') {
            continue;
        }
        collapsed.push(c);
    }
    let trimmed = collapsed.trim_matches(|c| c == '-' || c == '_').to_string();
    if max_size > 0 && smart_truncate {
        smart_cut(&trimmed, max_size)
    } else {
        trimmed
    }
}

/// Cuts at the last dash at or before `max`, or at `max` when there is none.
fn smart_cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    match (0..=max).rev().find(|&i| bytes.get(i) == Some(&b'-')) {
        Some(i) => text[..i].to_string(),
        None => text[..max].to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_makes_dns_friendly_names() {
        assert_eq!(normalize("My_Cluster.Name"), "my-cluster.name");
        assert_eq!(normalize("--x--"), "x");
        assert_eq!(normalize(".in-cluster."), "in-cluster");
        assert_eq!(normalize(&"a".repeat(300)).len(), 253);
    }

    #[test]
    fn slugify_cuts_at_a_dash() {
        assert_eq!(slugify("alpha-beta-gamma", 12, true), "alpha-beta");
        assert_eq!(slugify("alpha-beta-gamma", 12, false), "alpha-beta-g");
        assert_eq!(slugify("a..b__c  d", 50, true), "a-b-c-d");
    }
}
