//! Argo CD's Go helpers rewritten into expr-lang builtins, and every name checked against the
//! supported subset, before an expression is compiled. Strings and comments are copied
//! through untouched.

use std::collections::BTreeSet;

/// The variable the clock is passed in (`time.Now()` and `now()` read it).
pub(super) const NOW: &str = "__driftless_now";

/// expr-lang builtins a condition may call (those of the enabled features; no JSON/base64).
pub const FUNCTIONS: &[&str] = &[
    "abs",
    "all",
    "any",
    "ceil",
    "concat",
    "count",
    "date",
    "duration",
    "filter",
    "find",
    "findIndex",
    "findLast",
    "findLastIndex",
    "first",
    "flatten",
    "float",
    "floor",
    "get",
    "groupBy",
    "hasPrefix",
    "hasSuffix",
    "indexOf",
    "int",
    "join",
    "keys",
    "last",
    "lastIndexOf",
    "len",
    "lower",
    "map",
    "max",
    "mean",
    "median",
    "min",
    "none",
    "now",
    "one",
    "reduce",
    "repeat",
    "replace",
    "reverse",
    "round",
    "sort",
    "sortBy",
    "split",
    "splitAfter",
    "string",
    "sum",
    "take",
    "timezone",
    "toPairs",
    "fromPairs",
    "trim",
    "trimPrefix",
    "trimSuffix",
    "type",
    "uniq",
    "upper",
    "values",
];

/// Methods of time and duration values (`.Sub(…)`, `.Minutes()` …).
pub const METHODS: &[&str] = &[
    "Abs",
    "Add",
    "AddDate",
    "After",
    "Before",
    "Compare",
    "Day",
    "Equal",
    "Format",
    "Hour",
    "Hours",
    "In",
    "IsZero",
    "Local",
    "Microseconds",
    "Milliseconds",
    "Minute",
    "Minutes",
    "Month",
    "Nanosecond",
    "Nanoseconds",
    "Round",
    "Second",
    "Seconds",
    "String",
    "Sub",
    "Truncate",
    "UTC",
    "Unix",
    "UnixMicro",
    "UnixMilli",
    "UnixNano",
    "Weekday",
    "Year",
    "YearDay",
];

/// Words of the language that read like names.
const KEYWORDS: &[&str] = &[
    "and",
    "contains",
    "else",
    "endsWith",
    "false",
    "if",
    "in",
    "let",
    "matches",
    "nil",
    "not",
    "or",
    "startsWith",
    "true",
];

/// Go's `time` duration constants, as expr-lang durations.
const DURATIONS: &[(&str, &str)] = &[
    ("Nanosecond", "1ns"),
    ("Microsecond", "1us"),
    ("Millisecond", "1ms"),
    ("Second", "1s"),
    ("Minute", "1m"),
    ("Hour", "1h"),
];

/// Go's `time` layout constants (for `.Format(time.RFC3339)`).
const LAYOUTS: &[(&str, &str)] = &[
    ("RFC3339", "2006-01-02T15:04:05Z07:00"),
    ("RFC3339Nano", "2006-01-02T15:04:05.999999999Z07:00"),
    ("RFC1123", "Mon, 02 Jan 2006 15:04:05 MST"),
    ("RFC1123Z", "Mon, 02 Jan 2006 15:04:05 -0700"),
    ("RFC822", "02 Jan 06 15:04 MST"),
    ("Kitchen", "3:04PM"),
    ("DateTime", "2006-01-02 15:04:05"),
    ("DateOnly", "2006-01-02"),
    ("TimeOnly", "15:04:05"),
];

/// Argo CD's `strings.*` helpers and the builtin doing the same.
const STRINGS: &[(&str, &str)] = &[
    ("ToUpper", "upper"),
    ("ToLower", "lower"),
    ("ReplaceAll", "replace"),
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Punct(String),
    /// Strings, numbers, whitespace, comments: copied through.
    Verbatim(String),
}

impl Token {
    fn is(&self, punct: &str) -> bool {
        matches!(self, Token::Punct(p) if p == punct)
    }

    fn is_space(&self) -> bool {
        matches!(self, Token::Verbatim(t) if t.trim().is_empty() || t.starts_with("//") || t.starts_with("/*"))
    }
}

fn lex(source: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '\'' || c == '"' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && c != '`' {
                    i += 1;
                }
                i += 1;
            }
            if i >= chars.len() {
                return Err("a string is not closed".into());
            }
            i += 1;
            tokens.push(Token::Verbatim(chars[start..i].iter().collect()));
        } else if c.is_whitespace() {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            tokens.push(Token::Verbatim(chars[start..i].iter().collect()));
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            tokens.push(Token::Verbatim(chars[start..i].iter().collect()));
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i = (i + 2).min(chars.len());
            tokens.push(Token::Verbatim(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '_'
                    || (chars[i] == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            tokens.push(Token::Verbatim(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' || c == '$' || c == '#' {
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let punct = match two.as_str() {
                "?." | ".." | "??" | "==" | "!=" | "<=" | ">=" | "&&" | "||" | "**" => two,
                _ => c.to_string(),
            };
            i += punct.chars().count();
            tokens.push(Token::Punct(punct));
        }
    }
    Ok(tokens)
}

/// The index of the next token at or after `from` that is not whitespace or a comment.
fn next_significant(tokens: &[Token], from: usize) -> Option<usize> {
    (from..tokens.len()).find(|&i| !tokens[i].is_space())
}

/// Rewrites Argo CD's Go helpers into expr-lang builtins and checks every name; the reason
/// when something is not supported.
pub(super) fn translate(source: &str) -> Result<String, String> {
    let tokens = lex(source)?;
    let mut bound: BTreeSet<String> = BTreeSet::new();
    let mut out = String::with_capacity(source.len() + 16);
    let mut previous: Option<&Token> = None;
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let Token::Ident(name) = token else {
            if let Token::Punct(p) = token {
                out.push_str(p);
            } else if let Token::Verbatim(v) = token {
                out.push_str(v);
            }
            if !token.is_space() {
                previous = Some(token);
            }
            i += 1;
            continue;
        };
        let member = previous.is_some_and(|p| p.is(".") || p.is("?."));
        let next = next_significant(&tokens, i + 1);
        let keyword = !member && KEYWORDS.contains(&name.as_str());
        let called = !keyword && next.is_some_and(|n| tokens[n].is("("));
        if member {
            if called && !METHODS.contains(&name.as_str()) {
                return Err(format!("method .{name}() is not supported"));
            }
            out.push_str(name);
            previous = Some(token);
            i += 1;
            continue;
        }
        // `time.X`, `strings.X`, and the helpers that need Argo CD's repo server.
        if matches!(name.as_str(), "time" | "strings" | "sync" | "repo")
            && let Some(dot) = next.filter(|&n| tokens[n].is("."))
            && let Some(field) = next_significant(&tokens, dot + 1)
            && let Token::Ident(field_name) = &tokens[field]
        {
            let (text, consumed) = helper(name, field_name, &tokens, field)?;
            out.push_str(&text);
            previous = tokens.get(consumed - 1);
            i = consumed;
            continue;
        }
        if called {
            if name == "now" {
                let (text, consumed) = now_call(&tokens, i)?;
                out.push_str(&text);
                previous = tokens.get(consumed - 1);
                i = consumed;
                continue;
            }
            if !FUNCTIONS.contains(&name.as_str()) {
                return Err(format!("function {name}() is not supported"));
            }
        } else {
            let map_key = previous.is_some_and(|p| p.is("{") || p.is(","))
                && next.is_some_and(|n| tokens[n].is(":"));
            let after_let = previous.is_some_and(|p| matches!(p, Token::Ident(w) if w == "let"));
            if after_let {
                bound.insert(name.clone());
            } else if !(map_key
                || name == "app"
                || name == "$env"
                || name.starts_with('#')
                || KEYWORDS.contains(&name.as_str())
                || bound.contains(name))
            {
                return Err(format!("unknown name {name} (conditions see only `app`)"));
            }
        }
        out.push_str(name);
        previous = Some(token);
        i += 1;
    }
    Ok(out)
}

/// `time.Now()` or `now()` starting at `call` (the name): the clock's variable, and the
/// index after the closing parenthesis.
fn now_call(tokens: &[Token], name_at: usize) -> Result<(String, usize), String> {
    let open = next_significant(tokens, name_at + 1).filter(|&n| tokens[n].is("("));
    let close = open
        .and_then(|o| next_significant(tokens, o + 1))
        .filter(|&n| tokens[n].is(")"));
    match close {
        Some(close) => Ok((format!("date({NOW})"), close + 1)),
        None => Err("now takes no arguments".into()),
    }
}

/// The rewrite of `namespace.field` (the field's token at `field`), and the index after it.
fn helper(
    namespace: &str,
    field: &str,
    tokens: &[Token],
    field_at: usize,
) -> Result<(String, usize), String> {
    let found = match namespace {
        "time" if field == "Now" => return now_call(tokens, field_at),
        "time" if field == "Parse" => Some("date".to_string()),
        "time" => DURATIONS
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, d)| format!("duration(\"{d}\")"))
            .or_else(|| {
                LAYOUTS
                    .iter()
                    .find(|(name, _)| *name == field)
                    .map(|(_, l)| format!("\"{l}\""))
            }),
        "strings" => STRINGS
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, f)| f.to_string()),
        _ => None,
    };
    found
        .map(|text| (text, field_at + 1))
        .ok_or_else(|| format!("{namespace}.{field} is not supported"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_helpers_become_builtins() {
        assert_eq!(
            translate(
                "time.Now().Sub(time.Parse(app.status.operationState.startedAt)).Minutes() >= 5"
            )
            .unwrap(),
            format!("date({NOW}).Sub(date(app.status.operationState.startedAt)).Minutes() >= 5")
        );
        assert_eq!(
            translate("x(1 * time.Minute)").unwrap_err(),
            "function x() is not supported"
        );
        assert_eq!(
            translate("strings.ToUpper(app.metadata.name) == 'A'").unwrap(),
            "upper(app.metadata.name) == 'A'"
        );
        // Inside strings nothing is rewritten or checked.
        assert_eq!(
            translate("app.metadata.name == 'time.Now() foo()'").unwrap(),
            "app.metadata.name == 'time.Now() foo()'"
        );
    }
}
