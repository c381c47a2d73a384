//! `matrix`: every combination of two child generators' parameter sets. The second child is
//! first rendered with each parameter set of the first, so it can use them (e.g. a git
//! `files` path built from a cluster name).

use serde_json::Value;

use super::{Context, GeneratorError, generate as generate_child};
use crate::merge_json::merge_override;
use crate::params::{Params, go_string};
use crate::render::Mode;

pub fn generate(spec: &Value, ctx: Context<'_>) -> Result<Vec<Params>, GeneratorError> {
    let children = spec
        .get("generators")
        .and_then(Value::as_array)
        .ok_or_else(|| GeneratorError::invalid("matrix", "generators is not a list"))?;
    let [first, second] = children.as_slice() else {
        return Err(GeneratorError::invalid(
            "matrix",
            format!(
                "needs exactly two child generators, found {}",
                children.len()
            ),
        ));
    };
    let mut out = Vec::new();
    for a in generate_child(first, ctx)? {
        let second = if a.is_empty() {
            second.clone()
        } else {
            interpolate(second, &a, ctx.mode)?
        };
        for b in generate_child(&second, ctx)? {
            out.push(combine(&a, &b, ctx.mode)?);
        }
    }
    Ok(out)
}

/// Renders a child generator with parameters from its sibling. In Go mode, a `values` entry
/// that needs a parameter the sibling does not have is left for the child to render.
pub(crate) fn interpolate(
    child: &Value,
    params: &Params,
    mode: Mode,
) -> Result<Value, GeneratorError> {
    if !mode.is_go() {
        return Ok(mode.render_value(child, params)?);
    }
    let Some(kinds) = child.as_object() else {
        return Ok(mode.render_value(child, params)?);
    };
    // `values` are resolved on their own below; render the rest.
    let mut without_values = child.clone();
    for spec in without_values
        .as_object_mut()
        .into_iter()
        .flat_map(|m| m.values_mut())
    {
        if let Some(spec) = spec.as_object_mut() {
            spec.remove("values");
        }
    }
    let mut rendered = mode.render_value(&without_values, params)?;
    for (kind, spec) in kinds {
        let Some(values) = spec.get("values").and_then(Value::as_object) else {
            continue;
        };
        let mut resolved = serde_json::Map::new();
        for (key, raw) in values {
            let template = match raw {
                Value::String(s) => s.clone(),
                other => go_string(other),
            };
            let value = match mode.with_missing_key_error().replace(&template, params) {
                Ok(text) => text,
                Err(e) if is_missing_key(&e.to_string()) => template,
                Err(e) => return Err(e.into()),
            };
            resolved.insert(key.clone(), Value::String(value));
        }
        if let Some(spec) = rendered.get_mut(kind).and_then(Value::as_object_mut) {
            spec.insert("values".into(), Value::Object(resolved));
        }
    }
    Ok(rendered)
}

fn is_missing_key(message: &str) -> bool {
    message.contains("map has no entry for key") || message.contains("can't evaluate field")
}

/// Go mode: a deep merge where the first child's parameters win. Default mode: a union of
/// strings, where the same key with two different values is an error.
fn combine(a: &Params, b: &Params, mode: Mode) -> Result<Params, GeneratorError> {
    if mode.is_go() {
        let mut out = b.clone();
        merge_override(&mut out, a);
        return Ok(out);
    }
    let mut out = Params::new();
    for (k, v) in a {
        out.insert(k.clone(), Value::String(go_string(v)));
    }
    for (k, v) in b {
        let v = go_string(v);
        if let Some(Value::String(current)) = out.get(k)
            && *current != v
        {
            return Err(GeneratorError::invalid(
                "matrix",
                format!("found duplicate key {k} with different value, a: {current} ,b: {v}"),
            ));
        }
        out.insert(k.clone(), Value::String(v));
    }
    Ok(out)
}
