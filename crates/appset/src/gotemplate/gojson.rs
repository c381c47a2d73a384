//! `toJson`, `toRawJson` and `toPrettyJson` as Go's `encoding/json` writes them: map keys
//! sorted, `<`, `>` and `&` escaped unless raw, floats in Go's shortest form.

use std::fmt::Write;

use gotmpl::Value;

/// How to write JSON.
#[derive(Debug, Clone, Copy)]
pub struct JsonStyle {
    /// Escape `<`, `>` and `&` as `\u003c`… (`json.Marshal`'s default).
    pub escape_html: bool,
    /// Indent with two spaces (`json.MarshalIndent(v, "", "  ")`).
    pub pretty: bool,
}

/// The JSON text, or `None` when it would be longer than
/// [`MAX_OUTPUT`](super::limits::MAX_OUTPUT) (writing stops there).
pub fn to_json(value: &Value, style: JsonStyle) -> Option<String> {
    let mut out = String::new();
    write_value(&mut out, value, style, 0);
    (out.len() <= super::limits::MAX_OUTPUT).then_some(out)
}

fn write_value(out: &mut String, value: &Value, style: JsonStyle, depth: usize) {
    // Past the limit nothing more is written; the caller sees the length.
    if out.len() > super::limits::MAX_OUTPUT {
        return;
    }
    match value {
        Value::Nil | Value::Function(_) => out.push_str("null"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Uint(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(f) => out.push_str(&go_json_float(*f)),
        Value::String(s) => write_string(out, s, style.escape_html),
        Value::List(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_value(out, item, style, depth + 1);
            }
            newline(out, style, depth);
            out.push(']');
        }
        Value::Map(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_string(out, k, style.escape_html);
                out.push(':');
                if style.pretty {
                    out.push(' ');
                }
                write_value(out, v, style, depth + 1);
            }
            newline(out, style, depth);
            out.push('}');
        }
    }
}

fn newline(out: &mut String, style: JsonStyle, depth: usize) {
    if style.pretty {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
}

fn write_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            // Go escapes these two always: they end lines in JavaScript.
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A `float64` as `encoding/json` writes it: plain digits between 1e-6 and 1e21, exponent
/// form outside (`1e+21`, `1e-7`), shortest round-trip digits either way.
pub fn go_json_float(f: f64) -> String {
    if !f.is_finite() {
        // json.Marshal refuses these; sprig's toJson then prints nothing useful. Use null.
        return "null".into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let sci = format!("{f:e}");
        if let Some((mantissa, exp)) = sci.split_once('e') {
            let exp: i32 = exp.parse().unwrap_or(0);
            let sign = if exp < 0 { '-' } else { '+' };
            return format!("{mantissa}e{sign}{}", exp.abs());
        }
        return sci;
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_encoding_json() {
        assert_eq!(go_json_float(1_000_000.0), "1000000");
        assert_eq!(go_json_float(2.5), "2.5");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1e-7), "1e-7");
        assert_eq!(go_json_float(0.000001), "0.000001");
    }
}
