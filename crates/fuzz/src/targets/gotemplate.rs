//! Go templates with the ApplicationSet function map (`goTemplate: true`), on generator
//! parameters: parse, rewrite, execute.

use super::{Target, decode, encode, mutate_json};
use crate::corpus;
use crate::generators::{gotmpl, json};
use crate::rng::{Rng, one_in, pick};
use driftless_appset::gotemplate::{GoTemplateOptions, from_json, render};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const TARGET: Target = Target {
    name: "gotemplate",
    about: "driftless_appset::gotemplate::render",
    seeds,
    generate,
    mutate,
    run,
};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Input {
    template: String,
    data: Value,
    options: Vec<String>,
}

const KEYS: &[&str] = &[
    "a", "b", "name", "path", "segments", "values", "list", "n", "x", "server", "metadata",
    "labels",
];

fn seeds() -> Vec<Vec<u8>> {
    let fixtures = corpus::json_values("crates/appset/testdata");
    let mut out = Vec::new();
    for fixture in &fixtures {
        let Some(templates) = fixture.get("templates").and_then(Value::as_array) else {
            continue;
        };
        for t in templates {
            out.push(encode(&Input {
                template: t
                    .get("template")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                data: t.get("data").cloned().unwrap_or(Value::Null),
                options: t
                    .get("options")
                    .and_then(|o| serde_json::from_value(o.clone()).ok())
                    .unwrap_or_default(),
            }));
        }
    }
    out
}

fn data(rng: &mut Rng) -> Value {
    let mut data = json!({
        "name": json::string(rng),
        "path": {"path": "apps/a", "basename": "a", "segments": ["apps", "a"]},
        "values": {"n": json::number(rng), "list": [1, "two", null, 3.5]},
        "server": "https://kubernetes.default.svc",
    });
    if one_in(rng, 2)
        && let Value::Object(map) = &mut data
    {
        map.insert(json::key(rng, KEYS), json::value(rng, 3, KEYS));
    }
    data
}

fn generate(rng: &mut Rng) -> Vec<u8> {
    let options = if one_in(rng, 4) {
        vec![
            pick(
                rng,
                &[
                    "missingkey=error",
                    "missingkey=zero",
                    "missingkey=bogus",
                    "",
                ],
            )
            .to_string(),
        ]
    } else {
        Vec::new()
    };
    encode(&Input {
        template: gotmpl::body(rng, 3),
        data: data(rng),
        options,
    })
}

fn mutate(rng: &mut Rng, input: &[u8], others: &[&[u8]]) -> Vec<u8> {
    mutate_json(rng, input, others, Some(("template", gotmpl::DICT)), KEYS)
}

fn run(input: &[u8]) {
    let Some(input) = decode::<Input>(input) else {
        return;
    };
    let Ok(options) = GoTemplateOptions::parse(&input.options) else {
        return;
    };
    let _ = render(&input.template, &from_json(&input.data), options);
}
