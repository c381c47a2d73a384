//! How a policy's resource, action and object fields match a request (`policy.matchMode`).

use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;

/// `policy.matchMode`: how resource, action and object fields of `p` rules match.
/// Subjects never use it: they match exactly, as Argo CD's role manager does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchMode {
    /// gobwas/glob without separators, as Argo CD uses it: `*` matches any run of characters,
    /// `/` included, `?` one character, `[a-z]` / `[!a]` a class, `{a,b}` alternatives,
    /// `\` escapes.
    #[default]
    Glob,
    /// Go `regexp.MatchString`: the expression may match anywhere in the value (it is not
    /// anchored), so `^` and `$` are needed to pin it.
    Regex,
}

impl MatchMode {
    /// Reads `policy.matchMode`. Argo CD takes `regex` as the regex matcher and anything
    /// else, a missing key or a typo alike, as glob (documented in argocd-rbac-cm.yaml).
    pub(crate) fn from_config(value: Option<&str>) -> MatchMode {
        match value.map(str::trim) {
            Some("regex") => MatchMode::Regex,
            _ => MatchMode::Glob,
        }
    }
}

/// One compiled field of a `p` rule.
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    /// No wildcard at all: plain equality (the common case, and the cheapest).
    Exact(String),
    Glob(GlobMatcher),
    Regex(Regex),
}

impl Pattern {
    /// Compiles `text` for `mode`; the error is the matcher's own explanation.
    pub(crate) fn compile(text: &str, mode: MatchMode) -> Result<Pattern, String> {
        match mode {
            MatchMode::Glob if !text.contains(['*', '?', '[', '{', '\\']) => {
                Ok(Pattern::Exact(text.to_string()))
            }
            MatchMode::Glob => GlobBuilder::new(&gobwas_to_globset(text))
                // gobwas is compiled without separators by Argo CD: `*` crosses `/`.
                .literal_separator(false)
                .backslash_escape(true)
                // gobwas keeps an empty alternative: `{,x}` matches "" and "x".
                .empty_alternates(true)
                .build()
                .map(|glob| Pattern::Glob(glob.compile_matcher()))
                .map_err(|error| error.kind().to_string()),
            MatchMode::Regex => Regex::new(text)
                .map(Pattern::Regex)
                .map_err(|error| error.to_string()),
        }
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            Pattern::Exact(text) => text == value,
            // From bytes, not a Path: the value is an RBAC name, never normalised as a path.
            Pattern::Glob(glob) => glob.is_match_candidate(&globset::Candidate::from_bytes(value)),
            Pattern::Regex(regex) => regex.is_match(value),
        }
    }
}

/// Rewrites the two spots where globset's path-oriented syntax differs from gobwas without
/// separators: a run of `*` becomes one `*` (gobwas's `**` equals `*` there, while globset
/// gives `**` directory meanings, e.g. `**/x` matching plain `x`), and a `}` outside any
/// `{...}` is escaped (gobwas reads it as a literal, globset as an error).
fn gobwas_to_globset(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let (mut in_class, mut brace_depth, mut previous_star) = (false, 0usize, false);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        let star = c == '*' && !in_class;
        match c {
            '\\' => {
                out.push(c);
                out.extend(chars.next());
            }
            _ if in_class => {
                in_class = c != ']';
                out.push(c);
            }
            '[' => {
                in_class = true;
                out.push(c);
            }
            '{' => {
                brace_depth += 1;
                out.push(c);
            }
            '}' if brace_depth == 0 => out.push_str("\\}"),
            '}' => {
                brace_depth -= 1;
                out.push(c);
            }
            '*' if previous_star => {}
            _ => out.push(c),
        }
        previous_star = star;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str, value: &str) -> bool {
        Pattern::compile(pattern, MatchMode::Glob)
            .unwrap()
            .matches(value)
    }

    #[test]
    fn glob_star_crosses_slashes() {
        assert!(glob("*", "proj/ns/app"));
        assert!(glob("proj/*", "proj/ns/app"));
        assert!(glob("*/*", "proj/app"));
        assert!(!glob("*/*", "app"));
        assert!(glob(
            "action/extensions/*",
            "action/extensions/DaemonSet/restart"
        ));
        assert!(glob("delete/*/Pod/*/*", "delete//Pod/default/web-0"));
    }

    #[test]
    fn double_star_means_star_as_in_gobwas() {
        assert!(glob("proj/**", "proj/ns/app"));
        // globset alone would let `**/x` match a bare `x`; gobwas needs the slash.
        assert!(!glob("**/app", "app"));
        assert!(glob("**/app", "proj/app"));
    }

    #[test]
    fn glob_classes_alternatives_and_escapes() {
        assert!(glob("proj-[ab]/*", "proj-a/x"));
        assert!(!glob("proj-[!ab]/*", "proj-a/x"));
        assert!(glob("{dev,staging}/*", "staging/x"));
        assert!(glob("{,x}y", "y"));
        assert!(glob(r"a\*b", "a*b"));
        assert!(!glob(r"a\*b", "axb"));
        assert!(glob("a}b", "a}b"));
        assert!(glob("[*]", "*"));
    }

    #[test]
    fn exact_patterns_are_equality() {
        assert!(glob("applications", "applications"));
        assert!(!glob("applications", "applicationsets"));
    }

    #[test]
    fn regex_is_not_anchored() {
        let pattern = Pattern::compile("get", MatchMode::Regex).unwrap();
        assert!(pattern.matches("get"));
        assert!(pattern.matches("target"));
        let anchored = Pattern::compile("^get$", MatchMode::Regex).unwrap();
        assert!(!anchored.matches("target"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(Pattern::compile("[abc", MatchMode::Glob).is_err());
        assert!(Pattern::compile("*/*", MatchMode::Regex).is_err());
    }

    #[test]
    fn match_mode_falls_back_to_glob() {
        assert_eq!(MatchMode::from_config(None), MatchMode::Glob);
        assert_eq!(MatchMode::from_config(Some("regex")), MatchMode::Regex);
        assert_eq!(MatchMode::from_config(Some("Regex")), MatchMode::Glob);
        assert_eq!(MatchMode::from_config(Some("")), MatchMode::Glob);
    }
}
