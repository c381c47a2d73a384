//! `list`: literal parameter sets (`elements`, and `elementsYaml`, usually templated by a
//! matrix parent). In default mode every element value must be a string, and a `values` map
//! becomes `values.<key>` parameters; in Go-template mode elements are used as written.

use serde_json::Value;

use super::{Context, GeneratorError};
use crate::params::Params;

pub fn generate(spec: &Value, ctx: Context<'_>) -> Result<Vec<Params>, GeneratorError> {
    let mut out = Vec::new();
    if let Some(elements) = spec.get("elements").and_then(Value::as_array) {
        for element in elements {
            let Some(element) = element.as_object() else {
                return Err(GeneratorError::invalid(
                    "list",
                    "an element is not an object",
                ));
            };
            out.push(if ctx.mode.is_go() {
                element.clone()
            } else {
                flat_strings(element)?
            });
        }
    }
    if let Some(yaml) = spec
        .get("elementsYaml")
        .and_then(Value::as_str)
        .filter(|y| !y.is_empty())
    {
        let parsed: Vec<Params> = serde_norway::from_str(yaml).map_err(|e| {
            GeneratorError::invalid(
                "list",
                format!("elementsYaml is not a list of objects: {e}"),
            )
        })?;
        // Argo CD appends these as parsed, in either mode.
        out.extend(parsed);
    }
    Ok(out)
}

/// Default mode: string values only; `values: {k: v}` becomes `values.k`.
fn flat_strings(element: &Params) -> Result<Params, GeneratorError> {
    let mut params = Params::new();
    for (key, value) in element {
        match (key.as_str(), value) {
            ("values", Value::Object(values)) => {
                for (k, v) in values {
                    let Value::String(v) = v else {
                        return Err(GeneratorError::invalid(
                            "list",
                            format!("values.{k} is not a string (use goTemplate for other types)"),
                        ));
                    };
                    params.insert(format!("values.{k}"), Value::String(v.clone()));
                }
            }
            ("values", _) => {
                return Err(GeneratorError::invalid("list", "values is not a map"));
            }
            (_, Value::String(_)) => {
                params.insert(key.clone(), value.clone());
            }
            _ => {
                return Err(GeneratorError::invalid(
                    "list",
                    format!("{key} is not a string (use goTemplate for other types)"),
                ));
            }
        }
    }
    Ok(params)
}
