//! Template data as Go sees it: JSON parameters become Go's `map[string]any` (every number a
//! `float64`, as after `json.Unmarshal`), and values print the way Go's `fmt` prints them.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use gotmpl::Value;

/// JSON to template data. Numbers become floats because Argo CD's generators pass every
/// parameter through `encoding/json`, which decodes numbers as `float64`; that is why
/// `{{ .replicas }}` compares with `eq .replicas 3.0` and prints `1e+06` for a million.
pub fn from_json(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::String(Arc::from(s.as_str())),
        serde_json::Value::Array(items) => Value::List(items.iter().map(from_json).collect()),
        serde_json::Value::Object(map) => Value::Map(Arc::new(
            map.iter()
                .map(|(k, v)| (Arc::from(k.as_str()), from_json(v)))
                .collect::<BTreeMap<_, _>>(),
        )),
    }
}

/// Template data back to JSON (for `toJson`, `toYaml` and friends). Integral floats stay
/// floats here; the encoders decide how to print them.
pub fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Nil | Value::Function(_) => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(n) => serde_json::Value::from(*n),
        Value::Uint(n) => serde_json::Value::from(*n),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::List(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        ),
    }
}

/// A string as template data.
pub fn string(s: impl AsRef<str>) -> Value {
    Value::String(Arc::from(s.as_ref()))
}

/// `fmt.Sprint(v)` for one value: Go's `%v`.
pub fn go_sprint(value: &Value) -> String {
    let mut out = String::new();
    write_go(&mut out, value, usize::MAX);
    out
}

/// [`go_sprint`] within a template: fails rather than print more than
/// [`MAX_OUTPUT`](super::limits::MAX_OUTPUT) bytes (a list holding one long string many
/// times prints far more than it takes in memory).
pub fn go_sprint_bounded(value: &Value, what: &str) -> Result<String, gotmpl::TemplateError> {
    let mut out = String::new();
    if write_go(&mut out, value, super::limits::MAX_OUTPUT) {
        Ok(out)
    } else {
        Err(super::limits::too_long(what))
    }
}

/// Writes `value` as `%v`; false (and stops) once `out` is longer than `limit`.
fn write_go(out: &mut String, value: &Value, limit: usize) -> bool {
    match value {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Uint(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(f) => out.push_str(&go_float(*f)),
        Value::String(s) => {
            if out.len().saturating_add(s.len()) > limit {
                return false;
            }
            out.push_str(s);
        }
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                if !write_go(out, item, limit) {
                    return false;
                }
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push_str("map[");
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                if !write_go(out, v, limit) {
                    return false;
                }
            }
            out.push(']');
        }
        Value::Function(_) => out.push_str("<func>"),
    }
    out.len() <= limit
}

/// Go's `%v` for a `float64`: `strconv.FormatFloat(f, 'g', -1, 64)`, i.e. the shortest
/// digits that round-trip, in exponent form when the exponent is below -4 or at least 6
/// (so a million prints `1e+06`, as it does in Argo CD).
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `1.073741824e9`.
    let sci = format!("{f:e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

/// Go's `strconv.Quote`: double quotes with Go escapes (printable Unicode kept).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let code = c as u32;
                if code <= 0xffff {
                    let _ = write!(out, "\\u{code:04x}");
                } else {
                    let _ = write!(out, "\\U{code:08x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Sprig's `empty`: nil, false, zero, and empty strings, lists and maps.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(n) => *n == 0,
        Value::Uint(n) => *n == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::List(items) => items.is_empty(),
        Value::Map(map) => map.is_empty(),
        Value::Function(_) => false,
    }
}

/// Go's type name of a value, for error messages (`float64`, `string`, …).
pub fn go_type(value: &Value) -> &'static str {
    match value {
        Value::Nil => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Uint(_) => "uint",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
        Value::Function(_) => "func",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        assert_eq!(go_float(3.0), "3");
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(999_999.0), "999999");
        assert_eq!(go_float(1_000_000.0), "1e+06");
        assert_eq!(go_float(1_073_741_824.0), "1.073741824e+09");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(-2.5e-7), "-2.5e-07");
        assert_eq!(go_float(1e21), "1e+21");
    }

    #[test]
    fn quotes_like_strconv_quote() {
        assert_eq!(go_quote("he said \"hi\"\n"), "\"he said \\\"hi\\\"\\n\"");
        assert_eq!(go_quote("ü\u{1}"), "\"ü\\x01\"");
    }
}
