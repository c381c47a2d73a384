//! Argo CD's glob matching for project fields (source repositories, destinations, resource
//! lists, source namespaces, sync windows): `*` and `?` within a segment, `**` across
//! segments, `[a-z]`, `[!a]`, `{a,b}`, `\` escapes. Segments are split at `separator` when one
//! is given (repository URLs use `/`); without one `*` matches anything. A pattern that does not
//! compile matches nothing, as in Argo CD.

use globset::{GlobBuilder, GlobMatcher};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// Whether `value` matches `pattern`; `*` alone matches everything, even the empty string.
pub fn matches(pattern: &str, value: &str) -> bool {
    matches_with(pattern, value, None)
}

/// [`matches`] with `*` and `?` not crossing `separator`.
pub fn matches_with(pattern: &str, value: &str, separator: Option<char>) -> bool {
    if pattern == "*" {
        return true;
    }
    // A pattern without a glob character matches itself only (an empty one, the empty value):
    // most project fields are such, and every reconcile tests them.
    if !pattern.contains(['*', '?', '[', ']', '{', '}', '\\']) {
        return pattern == value;
    }
    let Some(matcher) = compiled(pattern, separator) else {
        return false;
    };
    match separator {
        Some(sep) if sep != '/' => matcher.is_match(swap(value, sep)),
        _ => matcher.is_match(value),
    }
}

/// How many compiled patterns are kept; past it the cache starts again (patterns come from
/// projects and windows, a handful each).
const KEPT_PATTERNS: usize = 1024;

type Compiled<K, V> = LazyLock<Mutex<HashMap<K, Option<Arc<V>>>>>;

static GLOBS: Compiled<(String, Option<char>), GlobMatcher> = LazyLock::new(Default::default);
static REGEXES: Compiled<String, regex::Regex> = LazyLock::new(Default::default);

/// `pattern` compiled once (a glob compiles to a regex: too slow to do per reconcile); None
/// when it does not compile.
fn compiled(pattern: &str, separator: Option<char>) -> Option<Arc<GlobMatcher>> {
    remembered(&GLOBS, (pattern.to_string(), separator), || {
        let literal_separator = separator.is_some();
        // globset's only separator is `/`: map another one onto it on both sides.
        let pattern = match separator {
            Some(sep) if sep != '/' => swap(pattern, sep),
            _ => pattern.to_string(),
        };
        GlobBuilder::new(&pattern)
            .literal_separator(literal_separator)
            .backslash_escape(true)
            .build()
            .ok()
            .map(|glob| glob.compile_matcher())
    })
}

fn remembered<K: std::hash::Hash + Eq, V>(
    cache: &Compiled<K, V>,
    key: K,
    compile: impl FnOnce() -> Option<V>,
) -> Option<Arc<V>> {
    if let Some(known) = lock(cache).get(&key) {
        return known.clone();
    }
    // Compiled outside the lock; two threads compiling one pattern at once both get it right.
    let made = compile().map(Arc::new);
    let mut cache = lock(cache);
    if cache.len() >= KEPT_PATTERNS {
        cache.clear();
    }
    cache.insert(key, made.clone());
    made
}

fn lock<K, V>(cache: &Compiled<K, V>) -> std::sync::MutexGuard<'_, HashMap<K, Option<Arc<V>>>> {
    // A panic elsewhere never leaves the map half-written: insert and clear are whole.
    cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn swap(text: &str, sep: char) -> String {
    text.chars()
        .map(|c| match c {
            c if c == sep => '/',
            '/' => sep,
            c => c,
        })
        .collect()
}

/// Argo CD's allow-and-deny lists (`!` marks a deny pattern): a deny pattern matching the
/// value refuses it; otherwise some entry must match, and as in Argo CD a deny pattern that
/// does not match counts (so a list of deny patterns alone allows everything else).
pub fn permitted_by(patterns: &[String], value: &str, separator: Option<char>) -> bool {
    let mut allowed = false;
    for pattern in patterns {
        match pattern.strip_prefix('!') {
            Some(denied) if matches_with(denied, value, separator) => return false,
            Some(_) => allowed = true,
            None => allowed |= matches_with(pattern, value, separator),
        }
    }
    allowed
}

/// One pattern of a list that allows negation: `!p` matches what `p` does not.
pub fn matches_negatable(pattern: &str, value: &str) -> bool {
    match pattern.strip_prefix('!') {
        Some(denied) => !matches(denied, value),
        None => matches(pattern, value),
    }
}

/// Whether `pattern` is a deny pattern (`!…`).
pub fn is_deny(pattern: &str) -> bool {
    pattern.starts_with('!')
}

/// `item` matches one entry of `list`: an entry wrapped in `/` is a regular expression, any
/// other a glob (Argo CD's `sourceNamespaces` and `--application-namespaces`).
pub fn in_list(list: &[String], item: &str) -> bool {
    list.iter().any(|entry| {
        match entry
            .strip_prefix('/')
            .and_then(|e| e.strip_suffix('/'))
            .filter(|_| entry.len() >= 2)
        {
            Some(expression) => remembered(&REGEXES, expression.to_string(), || {
                regex::Regex::new(expression).ok()
            })
            .is_some_and(|r| r.is_match(item)),
            None => matches(entry, item),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_questions() {
        assert!(matches("*", ""));
        assert!(matches("shop-*", "shop-prod"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "abbc"));
        assert!(!matches("shop", "shop-prod"));
        assert!(matches("*/team/*", "https://git.example/team/x/y"));
        assert!(matches("{dev,test}-*", "test-1"));
        assert!(matches("[a-c]x", "bx"));
        assert!(!matches("[!a-c]x", "bx"));
        assert!(
            !matches("[", "["),
            "a pattern that does not compile matches nothing"
        );
    }

    #[test]
    fn separators_bound_single_stars() {
        let sep = Some('/');
        assert!(matches_with(
            "https://git.example/team/*",
            "https://git.example/team/x",
            sep
        ));
        assert!(!matches_with(
            "https://git.example/team/*",
            "https://git.example/team/x/y",
            sep
        ));
        assert!(matches_with(
            "https://git.example/team/**",
            "https://git.example/team/x/y",
            sep
        ));
        assert!(!matches_with("*/team/*", "https://git.example/team/x", sep));
        assert!(matches_with("a.*", "a.b", Some('.')));
        assert!(!matches_with("a.*", "a.b.c", Some('.')));
    }

    #[test]
    fn allow_and_deny_lists() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let repos = list(&[
            "https://git.example/team/*",
            "!https://git.example/team/secret",
        ]);
        assert!(permitted_by(
            &repos,
            "https://git.example/team/apps",
            Some('/')
        ));
        assert!(!permitted_by(
            &repos,
            "https://git.example/team/secret",
            Some('/')
        ));
        // As in Argo CD: a deny pattern the value escapes counts as a match.
        assert!(permitted_by(
            &repos,
            "https://git.example/other/apps",
            Some('/')
        ));
        let allow_only = list(&["https://git.example/team/*"]);
        assert!(!permitted_by(
            &allow_only,
            "https://git.example/other/apps",
            Some('/')
        ));
        assert!(
            permitted_by(&list(&["!x"]), "y", None),
            "deny patterns alone allow the rest"
        );
        assert!(!permitted_by(&list(&["!x"]), "x", None));
        assert!(!permitted_by(&[], "x", None));
        assert!(matches_negatable("!prod", "dev"));
        assert!(!matches_negatable("!prod", "prod"));
    }

    #[test]
    fn lists_take_globs_and_regular_expressions() {
        let list = vec!["team-*".to_string(), "/^ops-[0-9]+$/".to_string()];
        assert!(in_list(&list, "team-a"));
        assert!(in_list(&list, "ops-12"));
        assert!(!in_list(&list, "ops-x"));
        assert!(!in_list(&[], "team-a"));
    }

    #[test]
    fn plain_patterns_match_themselves_and_compiled_ones_answer_alike_every_time() {
        assert!(matches("", ""));
        assert!(!matches("", "in-cluster"));
        assert!(matches("in-cluster", "in-cluster"));
        assert!(!matches("in-cluster", "in-cluster-2"));
        assert!(matches_with("a/b", "a/b", Some('.')));
        for _ in 0..3 {
            assert!(matches_with("a.*", "a.b", Some('.')));
            assert!(!matches_with("a.*", "a.b.c", Some('.')));
            assert!(
                !matches("[z", "[z"),
                "a pattern that does not compile matches nothing"
            );
        }
        assert!(
            matches_with("a.*", "a.b.c", None),
            "no separator: `*` crosses dots"
        );
        assert!(
            !matches_with("a.*", "a.b.c", Some('.')),
            "the cache keys on the separator"
        );
    }
}
