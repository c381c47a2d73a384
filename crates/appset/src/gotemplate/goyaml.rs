//! `toYaml` as Argo CD writes it (`sigs.k8s.io/yaml`: JSON first, then go-yaml v2): keys in
//! go-yaml's natural order, sequences not indented under their key, strings quoted only when
//! they would read back as something else, multi-line strings as literal blocks.

use std::cmp::Ordering;
use std::sync::{Arc, OnceLock};

use gotmpl::Value;
use regex::Regex;

use super::gojson::go_json_float;
use super::limits::MAX_OUTPUT;
use super::value::go_float;

/// The YAML document for `value`, without the final newline (as Argo CD's `toYaml`), or
/// `None` when it would be longer than [`MAX_OUTPUT`] (writing stops there: a list holding
/// one big map many times is written once per entry).
pub fn to_yaml(value: &Value) -> Option<String> {
    let mut used = 0;
    let lines = match value {
        Value::Map(m) if !m.is_empty() => block(value, 0, &mut used),
        Value::List(l) if !l.is_empty() => block(value, 0, &mut used),
        scalar => match scalar_text(scalar) {
            Scalar::Inline(text) => vec![text],
            Scalar::Literal { header, lines } => {
                let mut out = vec![header];
                out.extend(indent_lines(&lines, 2));
                out
            }
        },
    };
    let text = lines.join("\n");
    (used <= MAX_OUTPUT && text.len() <= MAX_OUTPUT).then_some(text)
}

/// Adds lines to `out`, counting their bytes in `used`.
fn push(out: &mut Vec<String>, used: &mut usize, lines: impl IntoIterator<Item = String>) {
    for line in lines {
        *used = used.saturating_add(line.len() + 1);
        out.push(line);
    }
}

/// Lines of a non-empty map or list whose entries start at column `indent`; stops early
/// once `used` is past the limit.
fn block(value: &Value, indent: usize, used: &mut usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    let mut out = Vec::new();
    match value {
        Value::Map(map) => {
            let mut keys: Vec<&Arc<str>> = map.keys().collect();
            keys.sort_by(|a, b| natural_order(a, b));
            for key in keys {
                if *used > MAX_OUTPUT {
                    break;
                }
                let Some(child) = map.get(key) else { continue };
                let key_text = match string_scalar(key) {
                    Scalar::Inline(text) => text,
                    Scalar::Literal { .. } => super::value::go_quote(key),
                };
                entry(
                    &mut out,
                    &format!("{pad}{key_text}:"),
                    child,
                    indent,
                    true,
                    used,
                );
            }
        }
        Value::List(items) => {
            for item in items.iter() {
                if *used > MAX_OUTPUT {
                    break;
                }
                entry(&mut out, &format!("{pad}-"), item, indent, false, used);
            }
        }
        _ => {}
    }
    out
}

/// One `key: value` or `- value` entry; `lead` is `key:` or `-` already indented.
fn entry(
    out: &mut Vec<String>,
    lead: &str,
    child: &Value,
    indent: usize,
    in_map: bool,
    used: &mut usize,
) {
    match child {
        Value::Map(m) if !m.is_empty() => {
            if in_map {
                push(out, used, [lead.to_string()]);
                let lines = block(child, indent + 2, used);
                out.extend(lines);
            } else {
                let lines = block(child, indent + 2, used);
                inline_first(out, lead, lines, indent + 2, used);
            }
        }
        Value::List(l) if !l.is_empty() => {
            if in_map {
                // go-yaml does not indent a sequence under its key.
                push(out, used, [lead.to_string()]);
                let lines = block(child, indent, used);
                out.extend(lines);
            } else {
                let lines = block(child, indent + 2, used);
                inline_first(out, lead, lines, indent + 2, used);
            }
        }
        Value::Map(_) => push(out, used, [format!("{lead} {{}}")]),
        Value::List(_) => push(out, used, [format!("{lead} []")]),
        scalar => match scalar_text(scalar) {
            Scalar::Inline(text) => push(out, used, [format!("{lead} {text}")]),
            Scalar::Literal { header, lines } => {
                push(out, used, [format!("{lead} {header}")]);
                push(out, used, indent_lines(&lines, indent + 2));
            }
        },
    }
}

/// Puts the first line of a nested block on the `- ` line (counted once in `used`).
fn inline_first(
    out: &mut Vec<String>,
    lead: &str,
    lines: Vec<String>,
    indent: usize,
    used: &mut usize,
) {
    let mut lines = lines.into_iter();
    if let Some(first) = lines.next() {
        *used = used.saturating_sub(first.len() + 1);
        push(
            out,
            used,
            [format!("{lead} {}", first.get(indent..).unwrap_or(""))],
        );
    }
    out.extend(lines);
}

fn indent_lines(lines: &[String], indent: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    lines
        .iter()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect()
}

enum Scalar {
    Inline(String),
    /// A literal block: `|-` (or `|`, `|+`) and its unindented lines.
    Literal {
        header: String,
        lines: Vec<String>,
    },
}

fn scalar_text(value: &Value) -> Scalar {
    match value {
        Value::Nil | Value::Function(_) => Scalar::Inline("null".into()),
        Value::Bool(b) => Scalar::Inline(b.to_string()),
        Value::Int(n) => Scalar::Inline(n.to_string()),
        Value::Uint(n) => Scalar::Inline(n.to_string()),
        // Through JSON: an integral float comes back as an int, others as go-yaml's %g.
        Value::Float(f) => {
            let json = go_json_float(*f);
            if json.contains(['.', 'e', 'E']) {
                Scalar::Inline(go_float(*f))
            } else {
                Scalar::Inline(json)
            }
        }
        Value::String(s) => string_scalar(s),
        Value::List(_) | Value::Map(_) => Scalar::Inline(String::new()),
    }
}

fn string_scalar(s: &str) -> Scalar {
    if s.contains('\n') && !s.chars().any(is_special) && !space_before_break(s) {
        return literal(s);
    }
    if s.contains('\n') || s.chars().any(is_special) {
        return Scalar::Inline(double_quoted(s));
    }
    if !resolves_to_string(s) {
        return Scalar::Inline(double_quoted(s));
    }
    if plain_allowed(s) {
        Scalar::Inline(s.to_string())
    } else {
        Scalar::Inline(format!("'{}'", s.replace('\'', "''")))
    }
}

fn literal(s: &str) -> Scalar {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let indicator = if s.starts_with(' ') { "2" } else { "" };
    let body = if trailing > 0 { &s[..s.len() - 1] } else { s };
    Scalar::Literal {
        header: format!("|{indicator}{chomp}"),
        lines: body.split('\n').map(str::to_string).collect(),
    }
}

/// A space right before a line break keeps libyaml from writing a literal block.
fn space_before_break(s: &str) -> bool {
    s.contains(" \n")
}

/// Characters libyaml will not write unescaped.
fn is_special(c: char) -> bool {
    let code = c as u32;
    !(c == '\n'
        || (0x20..=0x7e).contains(&code)
        || code == 0x85
        || ((0xa0..=0xd7ff).contains(&code))
        || ((0xe000..=0xfffd).contains(&code) && code != 0xfeff)
        || (0x10000..=0x10ffff).contains(&code))
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if is_special(c) => {
                let code = c as u32;
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02X}"));
                } else if code <= 0xffff {
                    out.push_str(&format!("\\u{code:04X}"));
                } else {
                    out.push_str(&format!("\\U{code:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether go-yaml would read `s`, unquoted, back as a string (not a bool, null, number,
/// timestamp or base-60 float) — otherwise it quotes it.
fn resolves_to_string(s: &str) -> bool {
    const OTHER_TYPES: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no",
        "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null",
        "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF", "<<",
    ];
    if OTHER_TYPES.contains(&s) {
        return false;
    }
    let first = s.as_bytes().first().copied().unwrap_or(b' ');
    match first {
        b'.' => s.parse::<f64>().is_err(),
        b'+' | b'-' | b'0'..=b'9' => {
            let plain = s.replace('_', "");
            !(is_timestamp(s)
                || parses_as_go_int(&plain)
                || is_yaml_float(&plain)
                || is_base60_float(s)
                || binary_int(&plain))
        }
        _ => true,
    }
}

fn parses_as_go_int(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (digits, radix) = if let Some(rest) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        (rest, 16)
    } else if let Some(rest) = unsigned
        .strip_prefix("0o")
        .or_else(|| unsigned.strip_prefix("0O"))
    {
        (rest, 8)
    } else if let Some(rest) = unsigned
        .strip_prefix("0b")
        .or_else(|| unsigned.strip_prefix("0B"))
    {
        (rest, 2)
    } else if unsigned.len() > 1 && unsigned.starts_with('0') {
        (&unsigned[1..], 8)
    } else {
        (unsigned, 10)
    };
    !digits.is_empty() && u64::from_str_radix(digits, radix).is_ok()
}

fn binary_int(s: &str) -> bool {
    let rest = s.strip_prefix("-0b").or_else(|| s.strip_prefix("0b"));
    rest.is_some_and(|r| !r.is_empty() && u64::from_str_radix(r, 2).is_ok())
}

fn is_timestamp(s: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    matches(
        &RE,
        r"^\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]|[ \t]+)\d{1,2}:\d{2}:\d{2}(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d{1,2}(?::\d{2})?))?)?$",
        s,
    )
}

fn is_yaml_float(s: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    matches(
        &RE,
        r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$",
        s,
    )
}

fn is_base60_float(s: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    matches(
        &RE,
        r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$",
        s,
    )
}

/// Matches `s` against a fixed pattern compiled once (the patterns are valid; a failure to
/// compile would only make the check answer "no").
fn matches(cell: &OnceLock<Option<Regex>>, pattern: &str, s: &str) -> bool {
    cell.get_or_init(|| Regex::new(pattern).ok())
        .as_ref()
        .is_some_and(|re| re.is_match(s))
}

/// libyaml's rule for a plain scalar in block context.
fn plain_allowed(s: &str) -> bool {
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_blank = chars.get(i + 1).is_none_or(|n| *n == ' ' || *n == '\t');
        let preceded_by_blank = i > 0 && matches!(chars.get(i - 1), Some(' ' | '\t'));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => return false,
                '?' | ':' | '-' if followed_by_blank => return false,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_blank => return false,
                '#' if preceded_by_blank => return false,
                _ => {}
            }
        }
    }
    true
}

/// go-yaml v2's key order: digit runs compare as numbers, letters after other characters.
fn natural_order(a: &str, b: &str) -> Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .saturating_mul(10)
                .saturating_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .saturating_mul(10)
                .saturating_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_would_read_back_as_another_type() {
        assert!(!resolves_to_string("123"));
        assert!(!resolves_to_string("1.5"));
        assert!(!resolves_to_string("yes"));
        assert!(!resolves_to_string("2024-01-02"));
        assert!(!resolves_to_string("0x1F"));
        assert!(resolves_to_string("v1.2.3"));
        assert!(resolves_to_string("1.2.3"));
    }

    #[test]
    fn plain_unless_indicators() {
        assert!(plain_allowed("a-b: c"[..3].trim()));
        assert!(!plain_allowed("a: b"));
        assert!(!plain_allowed("- x"));
        assert!(!plain_allowed("#x"));
        assert!(plain_allowed("a#b"));
        assert!(!plain_allowed("a #b"));
        assert!(!plain_allowed("*ref"));
    }

    #[test]
    fn natural_key_order() {
        assert_eq!(natural_order("a9", "a10"), Ordering::Less);
        assert_eq!(natural_order("b", "a"), Ordering::Greater);
        assert_eq!(natural_order("a_b", "aa"), Ordering::Less);
    }
}
