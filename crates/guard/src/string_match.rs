//! Istio's StringMatch (`exact`, `prefix`, `regex`, or `{}` for "present"): whether a value
//! matches, and whether one condition covers another (every value the second matches, the
//! first matches too). Coverage is only claimed when it is certain.

use regex::Regex;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StrMatch {
    Exact(String),
    Prefix(String),
    /// RE2 syntax, matched against the whole value.
    Regex(String),
    /// `{}`: any value (for headers: the header is present).
    Present,
}

impl StrMatch {
    /// Reads a StringMatch; `None` when it is not one (several kinds, or not strings).
    pub fn parse(value: &Value) -> Option<Self> {
        let map = value.as_object()?;
        let mut kinds = map.iter().filter(|(_, v)| !v.is_null());
        let Some((kind, text)) = kinds.next() else {
            return Some(StrMatch::Present);
        };
        if kinds.next().is_some() {
            return None;
        }
        let text = text.as_str()?.to_string();
        match kind.as_str() {
            "exact" => Some(StrMatch::Exact(text)),
            "prefix" => Some(StrMatch::Prefix(text)),
            "regex" => Some(StrMatch::Regex(text)),
            _ => None,
        }
    }

    /// Whether `value` matches. `ignore_case` applies to exact and prefix only, as in Istio.
    pub fn matches(&self, value: &str, ignore_case: bool) -> bool {
        let fold = |s: &str| {
            if ignore_case {
                s.to_lowercase()
            } else {
                s.to_string()
            }
        };
        match self {
            StrMatch::Exact(x) => fold(x) == fold(value),
            StrMatch::Prefix(p) => fold(value).starts_with(&fold(p)),
            StrMatch::Regex(r) => full_regex(r).is_some_and(|re| re.is_match(value)),
            StrMatch::Present => true,
        }
    }

    /// True when every value matching `other` also matches `self`. `self_ci`/`other_ci`
    /// say whether each side ignores case.
    pub fn covers(&self, other: &StrMatch, self_ci: bool, other_ci: bool) -> bool {
        let (a, b) = (self.literal_form(), other.literal_form());
        if a.is_universal() {
            return true;
        }
        // A case-insensitive `other` also matches case variants; a case-sensitive `self`
        // accepts them only when its text has no letters at all.
        if other_ci
            && !self_ci
            && !matches!(&a, StrMatch::Exact(t) | StrMatch::Prefix(t) if !t.chars().any(char::is_alphabetic))
        {
            return false;
        }
        let ci = self_ci || other_ci;
        let fold = |s: &str| if ci { s.to_lowercase() } else { s.to_string() };
        match (&a, &b) {
            (StrMatch::Exact(x), StrMatch::Exact(y)) => fold(x) == fold(y),
            (StrMatch::Prefix(p), StrMatch::Exact(y) | StrMatch::Prefix(y)) => {
                fold(y).starts_with(&fold(p))
            }
            (StrMatch::Regex(r), StrMatch::Exact(y)) => {
                !other_ci && full_regex(r).is_some_and(|re| re.is_match(y))
            }
            (StrMatch::Regex(r), StrMatch::Regex(s)) => r == s,
            _ => false,
        }
    }

    /// Matches every value: `{}`, prefix "" or the regex `.*`.
    pub fn is_universal(&self) -> bool {
        matches!(self.literal_form(), StrMatch::Present)
            || self.literal_form() == StrMatch::Prefix(String::new())
    }

    /// A regex that is a plain literal (`/api`) or a literal followed by `.*` (`^/api/.*`)
    /// is the exact or prefix match it spells; other matches are returned as they are.
    pub fn literal_form(&self) -> StrMatch {
        let StrMatch::Regex(r) = self else {
            return self.clone();
        };
        let body = r.strip_prefix('^').unwrap_or(r);
        let body = match body.strip_suffix('$') {
            Some(rest) if !rest.ends_with('\\') => rest,
            _ => body,
        };
        let (body, is_prefix) = match body.strip_suffix(".*") {
            Some(rest) if !rest.ends_with('\\') => (rest, true),
            _ => (body, false),
        };
        match unescape_literal(body) {
            Some(text) if is_prefix => StrMatch::Prefix(text),
            Some(text) => StrMatch::Exact(text),
            None => self.clone(),
        }
    }

    /// A short human description, e.g. `prefix "/api"`.
    pub fn describe(&self) -> String {
        match self {
            StrMatch::Exact(x) => format!("exact {x:?}"),
            StrMatch::Prefix(p) => format!("prefix {p:?}"),
            StrMatch::Regex(r) => format!("regex {r:?}"),
            StrMatch::Present => "present".to_string(),
        }
    }
}

/// The text a regex matches when it has no metacharacters (escaped punctuation allowed).
fn unescape_literal(body: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if !e.is_alphanumeric() => out.push(e),
                _ => return None,
            },
            '.' | '^' | '$' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' => {
                return None;
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

/// The regex anchored at both ends, as Istio (RE2 full match) applies it; `None` if invalid.
fn full_regex(pattern: &str) -> Option<Regex> {
    Regex::new(&format!("^(?:{pattern})$")).ok()
}

#[cfg(test)]
mod tests {
    use super::StrMatch::*;
    use super::*;
    use serde_json::json;

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn parse_reads_one_kind_or_presence() {
        assert_eq!(
            StrMatch::parse(&json!({"prefix": "/api"})),
            Some(Prefix(s("/api")))
        );
        assert_eq!(StrMatch::parse(&json!({})), Some(Present));
        assert_eq!(
            StrMatch::parse(&json!({"exact": "/a", "prefix": "/b"})),
            None
        );
        assert_eq!(StrMatch::parse(&json!({"exact": 3})), None);
    }

    #[test]
    fn prefix_covers_longer_prefixes_and_exacts_only() {
        assert!(Prefix(s("/api")).covers(&Prefix(s("/api/v1")), false, false));
        assert!(Prefix(s("/api")).covers(&Exact(s("/api/x")), false, false));
        // Istio prefixes are plain string prefixes: /api covers /apiary too.
        assert!(Prefix(s("/api")).covers(&Prefix(s("/apiary")), false, false));
        assert!(!Prefix(s("/api")).covers(&Prefix(s("/a")), false, false));
        assert!(!Exact(s("/api")).covers(&Prefix(s("/api")), false, false));
        assert!(!Prefix(s("/api")).covers(&Regex(s("/api/.+")), false, false));
    }

    #[test]
    fn literal_regexes_act_as_exact_or_prefix() {
        assert_eq!(Regex(s("^/api/.*")).literal_form(), Prefix(s("/api/")));
        assert_eq!(Regex(s("/v1\\.0")).literal_form(), Exact(s("/v1.0")));
        assert_eq!(Regex(s("/v[0-9]+")).literal_form(), Regex(s("/v[0-9]+")));
        assert!(Regex(s(".*")).is_universal());
        assert!(Regex(s("/v[0-9]+/.*")).covers(&Exact(s("/v2/users")), false, false));
        assert!(!Regex(s("/v[0-9]+/.*")).covers(&Exact(s("/vx/users")), false, false));
    }

    #[test]
    fn case_folding_only_widens_coverage_when_safe() {
        assert!(Prefix(s("/API")).covers(&Prefix(s("/api/v1")), true, false));
        assert!(!Prefix(s("/api")).covers(&Prefix(s("/api/v1")), false, true));
        assert!(Prefix(s("/")).covers(&Prefix(s("/Api")), false, true));
        assert!(Prefix(s("/v1")).matches("/V1/x", true));
        assert!(!Prefix(s("/v1")).matches("/V1/x", false));
        assert!(!Regex(s("[")).matches("[", false));
    }
}
