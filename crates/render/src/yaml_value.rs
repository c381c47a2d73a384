//! Reads YAML into JSON the way Kubernetes' YAML reader does: YAML 1.1 scalars (`0644` is
//! the octal 420, `yes`, `on` and `y` are true), merge keys applied, scalar keys turned into
//! strings, tags dropped.

use serde_json::{Map, Number, Value};
use serde_norway::Value as Yaml;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("failed to apply a YAML merge key: {0}")]
    Merge(String),
    #[error("failed to convert a mapping key: only scalar keys are allowed")]
    ComplexKey,
    #[error("failed to convert key {0:?}: it appears twice")]
    DuplicateKey(String),
    #[error("failed to convert number {0}: JSON has no infinity or NaN")]
    NonFiniteNumber(String),
}

/// One YAML document as Kubernetes reads it; `None` when this reader refuses it, and the
/// caller reads it with [`to_json`] over serde_norway instead, for its error (or its value:
/// whatever YAML 1.2 accepts and this reader does not is still read, not refused).
pub fn kubernetes_json(text: &str) -> Option<Value> {
    let mut options = serde_saphyr::options::Options::default();
    // Kubernetes' YAML 1.1: a leading zero means octal (`defaultMode: 0644`).
    options.legacy_octal_numbers = true;
    // Its default budget (nesting 64 deep, a million events) keeps the stack safe; what goes
    // past it is left to serde_norway, which reads (or refuses) it as before.
    // A `null` key is the key "null", as serde_norway's reading made it.
    options.null_as_string = true;
    serde_saphyr::from_str_with_options(text, options).ok()
}

pub fn to_json(mut value: Yaml) -> Result<Value, ConvertError> {
    value
        .apply_merge()
        .map_err(|e| ConvertError::Merge(e.to_string()))?;
    convert(value)
}

fn convert(value: Yaml) -> Result<Value, ConvertError> {
    Ok(match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => number(&n)?,
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => {
            Value::Array(items.into_iter().map(convert).collect::<Result<_, _>>()?)
        }
        Yaml::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping {
                let key = key_text(key)?;
                if map.contains_key(&key) {
                    return Err(ConvertError::DuplicateKey(key));
                }
                map.insert(key, convert(value)?);
            }
            Value::Object(map)
        }
        Yaml::Tagged(tagged) => convert(tagged.value)?,
    })
}

fn number(n: &serde_norway::Number) -> Result<Value, ConvertError> {
    if let Some(i) = n.as_i64() {
        return Ok(Value::Number(i.into()));
    }
    if let Some(u) = n.as_u64() {
        return Ok(Value::Number(u.into()));
    }
    n.as_f64()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| ConvertError::NonFiniteNumber(n.to_string()))
}

fn key_text(key: Yaml) -> Result<String, ConvertError> {
    match key {
        Yaml::String(s) => Ok(s),
        Yaml::Bool(b) => Ok(b.to_string()),
        Yaml::Number(n) => Ok(n.to_string()),
        Yaml::Null => Ok("null".to_string()),
        Yaml::Tagged(tagged) => key_text(tagged.value),
        Yaml::Sequence(_) | Yaml::Mapping(_) => Err(ConvertError::ComplexKey),
    }
}
