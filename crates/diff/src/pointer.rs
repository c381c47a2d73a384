//! JSON pointers (RFC 6901): parsing, printing and removing the value a pointer names.

use serde_json::Value;
use std::fmt::Write as _;

/// One step of a path into a JSON document: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// A list index; ordered before keys, as jq orders numbers before strings.
    Index(usize),
    Key(String),
}

/// Why a JSON pointer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    #[error("failed to parse JSON pointer {0:?}: it must be empty or start with '/'")]
    NoLeadingSlash(String),
    #[error("failed to parse JSON pointer {0:?}: '~' must be followed by '0' or '1'")]
    BadEscape(String),
}

/// Splits a pointer into its unescaped reference tokens (`/a~1b/0` → `["a/b", "0"]`).
/// The empty pointer names the whole document and has no tokens.
pub fn parse_pointer(pointer: &str) -> Result<Vec<String>, PointerError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest = pointer
        .strip_prefix('/')
        .ok_or_else(|| PointerError::NoLeadingSlash(pointer.to_owned()))?;
    rest.split('/')
        .map(|token| unescape(token).ok_or_else(|| PointerError::BadEscape(pointer.to_owned())))
        .collect()
}

fn unescape(token: &str) -> Option<String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Prints a path as a JSON pointer, escaping `~` and `/` in keys.
pub fn format_pointer(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        out.push('/');
        match segment {
            Segment::Index(i) => {
                let _ = write!(out, "{i}");
            }
            Segment::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
        }
    }
    out
}

/// Removes the value at `tokens` (as returned by [`parse_pointer`]); a path that names
/// nothing is left alone, the way Argo CD skips a "remove" patch whose path is missing.
/// Removing from a list shifts the later items down. The empty path removes nothing.
pub fn remove_tokens(doc: &mut Value, tokens: &[String]) {
    let Some((last, parents)) = tokens.split_last() else {
        return;
    };
    let mut current = doc;
    for token in parents {
        let next = match current {
            Value::Object(map) => map.get_mut(token.as_str()),
            Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        };
        match next {
            Some(v) => current = v,
            None => return,
        }
    }
    match current {
        Value::Object(map) => {
            map.shift_remove(last.as_str());
        }
        Value::Array(items) => {
            if let Some(i) = last.parse::<usize>().ok().filter(|i| *i < items.len()) {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// Removes the value at a path of segments; see [`remove_tokens`].
pub fn remove_path(doc: &mut Value, path: &[Segment]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = doc;
    for segment in parents {
        let next = match (current, segment) {
            (Value::Object(map), Segment::Key(k)) => map.get_mut(k.as_str()),
            (Value::Array(items), Segment::Index(i)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(v) => current = v,
            None => return,
        }
    }
    match (current, last) {
        (Value::Object(map), Segment::Key(k)) => {
            map.shift_remove(k.as_str());
        }
        (Value::Array(items), Segment::Index(i)) if *i < items.len() => {
            items.remove(*i);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointer_tokens_are_unescaped_and_printed_back() {
        let tokens = parse_pointer("/metadata/annotations/a~1b~0c").unwrap();
        assert_eq!(tokens, ["metadata", "annotations", "a/b~c"]);
        let path: Vec<Segment> = tokens.into_iter().map(Segment::Key).collect();
        assert_eq!(format_pointer(&path), "/metadata/annotations/a~1b~0c");
        assert!(parse_pointer("spec").is_err());
        assert!(parse_pointer("/a~2").is_err());
    }

    #[test]
    fn removing_a_missing_path_changes_nothing() {
        let mut doc = json!({"spec": {"replicas": 3, "list": [1, 2, 3]}});
        remove_tokens(&mut doc, &parse_pointer("/spec/nothing/here").unwrap());
        remove_tokens(&mut doc, &parse_pointer("/spec/list/7").unwrap());
        assert_eq!(doc, json!({"spec": {"replicas": 3, "list": [1, 2, 3]}}));
        remove_tokens(&mut doc, &parse_pointer("/spec/list/1").unwrap());
        remove_tokens(&mut doc, &parse_pointer("/spec/replicas").unwrap());
        assert_eq!(doc, json!({"spec": {"list": [1, 3]}}));
    }
}
