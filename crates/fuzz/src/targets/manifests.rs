//! Manifest parsing: any bytes as a YAML stream, a JSON file and a single YAML value, the way
//! a directory source, `helm template` output and kustomization files are read.

use super::Target;
use crate::corpus;
use crate::generators::{json, k8s};
use crate::mutate;
use crate::rng::{Rng, one_in, small};
use driftless_render::manifest::{Format, parse_bytes, parse_yaml_value};
use rand::Rng as _;

pub const TARGET: Target = Target {
    name: "manifests",
    about: "driftless_render::manifest::{parse_bytes, parse_yaml_value}",
    seeds,
    generate,
    mutate,
    run,
};

const DICT: &[&str] = &[
    "---\n",
    "--- |\n",
    "...\n",
    "apiVersion: v1\n",
    "kind: List\n",
    "items:\n- ",
    "metadata:\n  name: a\n",
    "kind: ",
    "<<: *a\n",
    "&a ",
    "*a",
    "!!merge ",
    "!!int ",
    "!!float ",
    "!!binary ",
    "!!set ",
    "!!omap ",
    "!Custom ",
    "? complex\n: key\n",
    "{a: 1, a: 2}",
    "[[[[",
    "]]]]",
    "{{{{",
    "}}}}",
    "- - - - ",
    "# Source: chart/templates/x.yaml\n",
    "%YAML 1.2\n",
    "%TAG ! tag:x,2000:\n",
    "\"\\u0000\"",
    "'it''s'",
    "|+\n  x\n",
    ">2\n   x\n",
    "0o17",
    "0x_1",
    "+.inf",
    ".NaN",
    "~",
    "2001-12-14t21:59:43.10-05:00",
    "true",
    "On",
    "no",
    "1e1000",
    "-.0",
    "\t",
    "\r",
    "\u{85}",
    "\u{2028}",
];

fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for dir in [
        "crates/render/testdata/manifests",
        "crates/render/testdata/repo",
        "crates/guard/testdata",
        "crates/health/testdata",
        "crates/diff/testdata/objects",
        "crates/plan/testdata/plans",
        "crates/appset/testdata/appsets",
    ] {
        out.extend(corpus::raw(dir, &[".yaml", ".yml", ".json"]));
    }
    out.retain(|s| s.len() < 16 * 1024);
    out
}

fn generate(rng: &mut Rng) -> Vec<u8> {
    match rng.random_range(0..6) {
        0 => {
            // Deep flow nesting, around the parser's depth limit.
            let depth = pick_depth(rng);
            let (open, close) = if rng.random() {
                ("[", "]")
            } else {
                ("{a: ", "}")
            };
            format!("{}1{}", open.repeat(depth), close.repeat(depth)).into_bytes()
        }
        1 => {
            // Deep block nesting: indentation only (the text grows with the square of it).
            let depth = pick_depth(rng).min(300);
            let mut s = String::new();
            for i in 0..depth {
                s.push_str(&" ".repeat(i));
                s.push_str(if rng.random() { "- " } else { "a:\n" });
                s.push('\n');
            }
            s.into_bytes()
        }
        2 => {
            // Anchors reused a few times at a few levels: small alias fan-out.
            let mut s = String::from("a0: &a0 [x, y]\n");
            let levels = 1 + small(rng, 4);
            for i in 1..=levels {
                let refs = vec![format!("*a{}", i - 1); 1 + small(rng, 4)].join(", ");
                s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
            }
            s.push_str("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
            s.into_bytes()
        }
        3 => {
            // Deep JSON, written as text: a value that deep would overflow the stack here.
            let (mut open, mut close) = (String::new(), String::new());
            for _ in 0..pick_depth(rng) {
                let (o, c) = if rng.random() {
                    ("[", "]")
                } else {
                    ("{\"a\": ", "}")
                };
                open.push_str(o);
                close.insert_str(0, c);
            }
            format!(
                "{open}{}{close}",
                serde_json::Value::String(json::string(rng))
            )
            .into_bytes()
        }
        _ => {
            let mut s = String::new();
            for _ in 0..=small(rng, 3) {
                let obj = k8s::object(rng);
                let doc = if one_in(rng, 3) {
                    serde_json::to_string(&obj).unwrap_or_default()
                } else {
                    serde_norway::to_string(&obj).unwrap_or_default()
                };
                s.push_str("---\n");
                s.push_str(&doc);
            }
            s.into_bytes()
        }
    }
}

fn pick_depth(rng: &mut Rng) -> usize {
    *crate::rng::pick(
        rng,
        &[
            1, 10, 100, 127, 128, 129, 200, 255, 256, 257, 300, 1000, 5000,
        ],
    )
}

fn mutate(rng: &mut Rng, input: &[u8], others: &[&[u8]]) -> Vec<u8> {
    mutate::bytes(rng, input, DICT, others)
}

fn run(input: &[u8]) {
    let _ = parse_bytes("fuzz.yaml", input, Format::Yaml);
    let _ = parse_bytes("fuzz.json", input, Format::Json);
    if let Ok(text) = std::str::from_utf8(input) {
        let _ = parse_yaml_value("fuzz.yaml", text);
    }
}
