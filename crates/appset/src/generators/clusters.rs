//! `clusters`: one parameter set per Argo CD cluster Secret matching `selector`, plus the
//! local cluster (`in-cluster`) when no selector is set and no Secret describes it.
//! Parameters: `name`, `nameNormalized`, `server`, `project`, and the Secret's labels and
//! annotations (`metadata.labels.<k>` in default mode, `.metadata.labels` in Go mode).

use std::collections::BTreeMap;

use driftless_model::annotations::{SECRET_TYPE, SECRET_TYPE_CLUSTER};
use driftless_model::secret_field as field;
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Value, json};

use super::{Context, GeneratorError, LabelSelector, append_values};
use crate::names::normalize;
use crate::params::Params;

pub use driftless_model::{IN_CLUSTER_NAME, IN_CLUSTER_SERVER};

pub fn generate(spec: &Value, ctx: Context<'_>) -> Result<Vec<Params>, GeneratorError> {
    let selector = match spec.get("selector").filter(|s| !s.is_null()) {
        Some(s) => LabelSelector::from_json(s)?,
        None => LabelSelector::default(),
    };
    let values = spec.get("values");
    let go = ctx.mode.is_go();

    // One Secret per cluster name (the last listed wins), in name order.
    let mut by_name: BTreeMap<String, &Secret> = BTreeMap::new();
    for secret in ctx.inputs.cluster_secrets {
        let labels = secret.metadata.labels.clone().unwrap_or_default();
        let is_cluster = labels.get(SECRET_TYPE).map(String::as_str) == Some(SECRET_TYPE_CLUSTER);
        if is_cluster && selector.matches(&labels) {
            by_name.insert(field(secret, "name"), secret);
        }
    }

    let mut out = Vec::new();
    for secret in by_name.values() {
        let mut params = cluster_params(secret, go);
        append_values(values, &mut params, ctx.mode)?;
        out.push(params);
    }
    let has_local = by_name
        .values()
        .any(|s| field(s, "server") == IN_CLUSTER_SERVER);
    // The local cluster has no Secret, so no labels to select on.
    if selector.is_empty() && !has_local {
        let mut params = Params::new();
        params.insert("name".into(), json!(IN_CLUSTER_NAME));
        params.insert("nameNormalized".into(), json!(IN_CLUSTER_NAME));
        params.insert("server".into(), json!(IN_CLUSTER_SERVER));
        params.insert("project".into(), json!(""));
        append_values(values, &mut params, ctx.mode)?;
        out.push(params);
    }
    if spec.get("flatList").and_then(Value::as_bool) == Some(true) {
        let all: Vec<Value> = out.into_iter().map(Value::Object).collect();
        let mut params = Params::new();
        params.insert("clusters".into(), Value::Array(all));
        return Ok(vec![params]);
    }
    Ok(out)
}

fn cluster_params(secret: &Secret, go: bool) -> Params {
    let name = field(secret, "name");
    let mut params = Params::new();
    params.insert("nameNormalized".into(), json!(normalize(&name)));
    params.insert("name".into(), json!(name));
    params.insert("server".into(), json!(field(secret, "server")));
    params.insert("project".into(), json!(field(secret, "project")));
    let labels = secret.metadata.labels.clone().unwrap_or_default();
    let annotations = secret.metadata.annotations.clone().unwrap_or_default();
    if go {
        let mut metadata = Params::new();
        if !annotations.is_empty() {
            metadata.insert("annotations".into(), json!(annotations));
        }
        if !labels.is_empty() {
            metadata.insert("labels".into(), json!(labels));
        }
        params.insert("metadata".into(), Value::Object(metadata));
    } else {
        for (k, v) in annotations {
            params.insert(format!("metadata.annotations.{k}"), json!(v));
        }
        for (k, v) in labels {
            params.insert(format!("metadata.labels.{k}"), json!(v));
        }
    }
    params
}
