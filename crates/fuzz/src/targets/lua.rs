//! Lua health checks through the controller's API: `argocd-cm` data read into `CustomChecks`,
//! then `health_of` on an object (the built-in checks run when no script matches), in the
//! sandbox, under a smaller instruction budget than the default so that runaway scripts cost
//! little (the default budget itself is checked by the `lua-*` probes).

use super::{Target, decode, encode, mutate_json};
use crate::corpus;
use crate::generators::{json, k8s, lua};
use crate::rng::{Rng, one_in, pick};
use driftless_health::{CustomChecks, LuaLimits, health_of};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub const TARGET: Target = Target {
    name: "lua",
    about: "driftless_health::{CustomChecks::from_config_map_data, health_of} (Lua sandbox)",
    seeds,
    generate,
    mutate,
    run,
};

/// The fuzzing budget: a runaway script stops after ~1 ms instead of ~0.1 s.
pub const LIMITS: LuaLimits = LuaLimits {
    instructions: 200_000,
    memory_bytes: 16 * 1024 * 1024,
};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Input {
    /// The flat key's `<group>_<Kind>` (or a wildcard), for `resource.customizations.health.`.
    key: String,
    script: String,
    /// The legacy `resource.customizations` YAML, when given.
    yaml: Option<String>,
    object: Value,
}

const KEYS: &[&str] = &[
    "status",
    "conditions",
    "type",
    "reason",
    "message",
    "phase",
    "replicas",
    "observedGeneration",
    "health",
];

fn key_of(object: &Value) -> String {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("ConfigMap");
    match object
        .get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|v| v.rsplit_once('/'))
    {
        Some((group, _)) => format!("{group}_{kind}"),
        None => kind.to_string(),
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let prefix = driftless_health::HEALTH_KEY_PREFIX;
    let mut out = Vec::new();
    for case in corpus::yaml_values("crates/health/testdata") {
        let object = case.get("object").cloned().unwrap_or(Value::Null);
        let config = case.get("config").and_then(Value::as_object);
        let scripts: Vec<(String, String)> = config
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| {
                Some((k.strip_prefix(prefix)?.to_string(), v.as_str()?.to_string()))
            })
            .collect();
        let yaml = config
            .and_then(|c| c.get(driftless_health::CUSTOMIZATIONS_KEY))
            .and_then(Value::as_str)
            .map(str::to_string);
        if scripts.is_empty() {
            out.push(encode(&Input {
                key: key_of(&object),
                script: String::new(),
                yaml,
                object,
            }));
            continue;
        }
        for (key, script) in scripts {
            out.push(encode(&Input {
                key,
                script,
                yaml: yaml.clone(),
                object: object.clone(),
            }));
        }
    }
    out
}

fn generate(rng: &mut Rng) -> Vec<u8> {
    let mut object = k8s::object(rng);
    if let Value::Object(map) = &mut object {
        map.insert("status".into(), json::value(rng, 3, KEYS));
    }
    let key = if one_in(rng, 8) {
        pick(
            rng,
            &["*", "*_*", "apps_*", "_", "a_b_c", "example.com_Widget"],
        )
        .to_string()
    } else {
        key_of(&object)
    };
    encode(&Input {
        key,
        script: lua::script(rng),
        yaml: None,
        object,
    })
}

fn mutate(rng: &mut Rng, input: &[u8], others: &[&[u8]]) -> Vec<u8> {
    mutate_json(rng, input, others, Some(("script", lua::DICT)), KEYS)
}

fn run(input: &[u8]) {
    let Some(input) = decode::<Input>(input) else {
        return;
    };
    let mut data = BTreeMap::new();
    if !input.script.is_empty() {
        data.insert(
            format!("{}{}", driftless_health::HEALTH_KEY_PREFIX, input.key),
            input.script,
        );
    }
    if let Some(yaml) = input.yaml {
        data.insert(driftless_health::CUSTOMIZATIONS_KEY.to_string(), yaml);
    }
    let Ok(checks) = CustomChecks::from_config_map_data(&data) else {
        return;
    };
    let checks = checks.with_limits(LIMITS);
    let _ = checks.syntax_errors();
    let _ = health_of(&input.object, &checks);
}
