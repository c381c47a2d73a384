//! JSON, YAML, base64 and hash functions: Sprig's, plus Argo CD's `toYaml`, `fromYaml` and
//! `fromYamlArray`.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gotmpl::{FuncMap, Value};
use sha2::{Digest, Sha256};

use super::args::{FuncResult, exact, fail, string};
use super::gojson::{JsonStyle, to_json};
use super::goyaml::to_yaml;
use super::limits::too_long;
use super::value::{from_json, string as text};

pub fn register(m: &mut FuncMap) {
    json(m, "toJson", true, false);
    json(m, "toRawJson", false, false);
    json(m, "toPrettyJson", true, true);
    m.insert("fromJson".into(), Arc::new(from_json_fn));
    m.insert("toYaml".into(), Arc::new(to_yaml_fn));
    m.insert(
        "fromYaml".into(),
        Arc::new(|a: &[Value]| from_yaml(a, false)),
    );
    m.insert(
        "fromYamlArray".into(),
        Arc::new(|a: &[Value]| from_yaml(a, true)),
    );
    m.insert("b64enc".into(), Arc::new(b64enc));
    m.insert("b64dec".into(), Arc::new(b64dec));
    m.insert("sha256sum".into(), Arc::new(sha256sum));
}

fn json(m: &mut FuncMap, name: &'static str, escape_html: bool, pretty: bool) {
    m.insert(
        name.into(),
        Arc::new(move |args: &[Value]| {
            let args = exact(name, args, 1)?;
            let style = JsonStyle {
                escape_html,
                pretty,
            };
            to_json(&args[0], style)
                .map(text)
                .ok_or_else(|| too_long(name))
        }),
    );
}

/// Sprig's `fromJson`: invalid JSON gives nil rather than an error.
fn from_json_fn(args: &[Value]) -> FuncResult {
    let args = exact("fromJson", args, 1)?;
    let parsed: Option<serde_json::Value> = serde_json::from_str(string(&args[0])?).ok();
    Ok(parsed.as_ref().map(from_json).unwrap_or(Value::Nil))
}

fn to_yaml_fn(args: &[Value]) -> FuncResult {
    let args = exact("toYaml", args, 1)?;
    to_yaml(&args[0])
        .map(text)
        .ok_or_else(|| too_long("toYaml"))
}

/// Argo CD's `fromYaml` (a map) and `fromYamlArray` (a list): a parse error, or a document
/// of the other kind, is an error. An empty document is an empty map or list.
fn from_yaml(args: &[Value], array: bool) -> FuncResult {
    let name = if array { "fromYamlArray" } else { "fromYaml" };
    let args = exact(name, args, 1)?;
    let source = string(&args[0])?;
    let parsed: serde_json::Value =
        serde_norway::from_str(source).map_err(|e| fail(format!("error calling {name}: {e}")))?;
    match (parsed, array) {
        (serde_json::Value::Null, false) => Ok(Value::Map(Arc::default())),
        (serde_json::Value::Null, true) => Ok(Value::List(Arc::from(Vec::new()))),
        (v @ serde_json::Value::Object(_), false) | (v @ serde_json::Value::Array(_), true) => {
            // Through JSON, as in Go: numbers become float64.
            Ok(from_json(&v))
        }
        (other, _) => Err(fail(format!(
            "error calling {name}: cannot unmarshal {} into the expected type",
            json_kind(&other)
        ))),
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

fn b64enc(args: &[Value]) -> FuncResult {
    let args = exact("b64enc", args, 1)?;
    Ok(text(STANDARD.encode(string(&args[0])?)))
}

/// Sprig's `b64dec`: a decoding error is returned as the text, not as a template error.
fn b64dec(args: &[Value]) -> FuncResult {
    let args = exact("b64dec", args, 1)?;
    let input = string(&args[0])?;
    Ok(text(match STANDARD.decode(input) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(err) => {
            let at = match err {
                base64::DecodeError::InvalidByte(at, _)
                | base64::DecodeError::InvalidLastSymbol(at, _) => at,
                base64::DecodeError::InvalidLength(len) => len,
                base64::DecodeError::InvalidPadding => input.len(),
            };
            format!("illegal base64 data at input byte {at}")
        }
    }))
}

fn sha256sum(args: &[Value]) -> FuncResult {
    let args = exact("sha256sum", args, 1)?;
    Ok(text(hex::encode(Sha256::digest(
        string(&args[0])?.as_bytes(),
    ))))
}
