//! Random jq path expressions, as written in `jqPathExpressions`. Counts in `range`, `limit`
//! and the like stay small: the fuzzer looks for panics, and an expression that merely runs
//! long is a known gap (see the `jq-runaway` probe).

use crate::generators::json;
use crate::rng::{Rng, one_in, pick, small};
use rand::Rng as _;

/// Tokens to insert when mutating an expression.
pub const DICT: &[&str] = &[
    ".",
    "..",
    ".[]",
    ".[]?",
    "[0]",
    "[-1]",
    "[1:]",
    "[:-1]",
    "[\"a\"]",
    "|",
    ",",
    "?",
    "//",
    "select(",
    ")",
    "(",
    "==",
    "!=",
    "<",
    "and",
    "or",
    "not",
    "empty",
    "error",
    "recurse",
    "paths",
    "getpath([\"a\"])",
    "first(",
    "last(",
    "limit(2;",
    "range(3)",
    "if . then . else . end",
    "try",
    "catch",
    ".a as $x |",
    "$x",
    "$__loc__",
    "reduce .[] as $i (.; .)",
    "def f: .a; f",
    "label $out |",
    "break $out",
    "\"\\(.a)\"",
    "@base64",
    "test(\"a\")",
    "ltrimstr(\"a\")",
    "to_entries",
    "keys",
    "length",
    "tostring",
    "tojson",
    "fromjson",
    "splits(\"a\")",
    "input",
    "$ENV",
    "env",
    "null",
    "true",
    "1e1000",
    "nan",
    "infinite",
    "-",
    "+",
    "*",
    "/",
    "%",
    ";",
    ":",
    "{a: 1}",
    "[.]",
    ".spec",
    ".metadata.annotations",
    ".containers[]",
    "select(.name == \"x\")",
];

const FIELDS: &[&str] = &[
    "spec",
    "metadata",
    "annotations",
    "labels",
    "template",
    "containers",
    "initContainers",
    "name",
    "image",
    "env",
    "webhooks",
    "clientConfig",
    "caBundle",
    "replicas",
    "data",
    "a",
    "",
];

/// A path expression of at most `depth` nested levels.
pub fn expr(rng: &mut Rng, depth: usize) -> String {
    let base = path(rng);
    if depth == 0 {
        return base;
    }
    let sub = |rng: &mut Rng| expr(rng, depth - 1);
    match rng.random_range(0..16) {
        0 => format!("{base} | {}", sub(rng)),
        1 => format!("{base} | select({})", cond(rng, depth - 1)),
        2 => format!("{}, {}", sub(rng), sub(rng)),
        3 => format!("({})?", sub(rng)),
        4 => format!(
            "if {} then {} else {} end",
            cond(rng, depth - 1),
            sub(rng),
            sub(rng)
        ),
        5 => format!("first({})", sub(rng)),
        6 => format!("limit({}; {})", rng.random_range(-1..4), sub(rng)),
        7 => format!("{base} | recurse"),
        8 => format!("try {} catch .", sub(rng)),
        9 => format!("{} // {}", sub(rng), sub(rng)),
        10 => format!(
            "getpath({})",
            serde_json::Value::from(vec![pick(rng, FIELDS).to_string()])
        ),
        11 => format!(".{} as $x | {}", pick(rng, FIELDS), sub(rng)),
        12 => format!("def f: {}; f", sub(rng)),
        13 => format!("paths({})", cond(rng, depth - 1)),
        14 => format!("{base} | .[{}]", rng.random_range(-3..4)),
        _ => format!("label $out | {} | ., break $out", sub(rng)),
    }
}

/// A chain of field, index, slice and iteration steps.
fn path(rng: &mut Rng) -> String {
    let mut out = String::new();
    for _ in 0..=small(rng, 4) {
        match rng.random_range(0..9) {
            0 => out.push_str(".[]"),
            1 => out.push_str(".[]?"),
            2 => out.push_str(&format!(".[{}]", rng.random_range(-3..4))),
            3 => out.push_str(&format!(
                ".[{}:{}]",
                rng.random_range(-3..4),
                rng.random_range(-3..4)
            )),
            4 => out.push_str(&format!(
                ".[{}]",
                serde_json::Value::String(json::string(rng))
            )),
            5 => out.push_str(".."),
            _ => {
                out.push('.');
                let field = *pick(rng, FIELDS);
                out.push_str(field);
            }
        }
    }
    if out.is_empty() || one_in(rng, 10) {
        out.push('.');
    }
    out
}

/// A condition for `select`, `if` and `paths`.
fn cond(rng: &mut Rng, depth: usize) -> String {
    match rng.random_range(0..9) {
        0 => format!(".name == {}", serde_json::Value::String(json::string(rng))),
        1 => format!("{} != null", path(rng)),
        2 => format!(
            "type == \"{}\"",
            pick(rng, &["object", "array", "string", "number"])
        ),
        3 => format!(
            "test({})",
            serde_json::Value::String(pick(rng, &["^a", "x.*", "[", "(?i)A", "\\d+"]).to_string())
        ),
        4 => format!("length > {}", rng.random_range(-1..3)),
        5 => format!(
            "{} and {}",
            cond(rng, depth.saturating_sub(1)),
            cond(rng, depth.saturating_sub(1))
        ),
        6 => "true".into(),
        7 if depth > 0 => format!("any({}; . == 1)", expr(rng, depth - 1)),
        _ => format!(
            "startswith({})",
            serde_json::Value::String(json::string(rng))
        ),
    }
}
