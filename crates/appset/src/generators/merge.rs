//! `merge`: the first child's parameter sets, each overridden by the sets of later children
//! that have the same values for every `mergeKeys` key.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{Context, GeneratorError, generate as generate_child};
use crate::merge_json::merge_override;
use crate::params::Params;

pub fn generate(spec: &Value, ctx: Context<'_>) -> Result<Vec<Params>, GeneratorError> {
    let children = spec
        .get("generators")
        .and_then(Value::as_array)
        .ok_or_else(|| GeneratorError::invalid("merge", "generators is not a list"))?;
    if children.len() < 2 {
        return Err(GeneratorError::invalid(
            "merge",
            "needs two or more child generators",
        ));
    }
    let keys: BTreeSet<String> = spec
        .get("mergeKeys")
        .and_then(Value::as_array)
        .map(|k| {
            k.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if keys.is_empty() {
        return Err(GeneratorError::invalid(
            "merge",
            "no merge keys were specified, merge requires at least one",
        ));
    }
    let mut sets: Vec<Vec<Params>> = Vec::new();
    for child in children {
        sets.push(generate_child(child, ctx)?);
    }
    let mut base: Vec<(String, Params)> = keyed(&keys, std::mem::take(&mut sets[0]))?;
    for later in &sets[1..] {
        let overrides = keyed(&keys, later.clone())?;
        for (key, params) in &mut base {
            if let Some((_, over)) = overrides.iter().find(|(k, _)| k == key) {
                if ctx.mode.is_go() {
                    merge_override(params, over);
                } else {
                    for (k, v) in over {
                        params.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    Ok(base.into_iter().map(|(_, p)| p).collect())
}

/// Each set with its merge key (the JSON of its merge-key values); a key twice is an error.
fn keyed(
    keys: &BTreeSet<String>,
    sets: Vec<Params>,
) -> Result<Vec<(String, Params)>, GeneratorError> {
    let mut out: Vec<(String, Params)> = Vec::new();
    for params in sets {
        let key_values: Map<String, Value> = keys
            .iter()
            .map(|k| (k.clone(), params.get(k).cloned().unwrap_or(Value::Null)))
            .collect();
        let key = Value::Object(key_values).to_string();
        if out.iter().any(|(k, _)| *k == key) {
            return Err(GeneratorError::invalid(
                "merge",
                format!(
                    "the parameters from a generator were not unique by the given mergeKeys. Duplicate key was {key}"
                ),
            ));
        }
        out.push((key, params));
    }
    Ok(out)
}
