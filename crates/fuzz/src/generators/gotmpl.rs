//! Random Go templates with the ApplicationSet function map: actions, control blocks,
//! pipelines, variables and `define`/`template` (never self-recursive with fan-out: see the
//! `gotmpl-fanout` probe), with arguments of every type.

use crate::generators::json;
use crate::rng::{Rng, one_in, pick, small};
use rand::Rng as _;

pub const FUNCS: &[&str] = &[
    "lower",
    "upper",
    "title",
    "trim",
    "nospace",
    "trimPrefix",
    "trimSuffix",
    "trimAll",
    "hasPrefix",
    "hasSuffix",
    "contains",
    "replace",
    "quote",
    "squote",
    "cat",
    "trunc",
    "substr",
    "repeat",
    "indent",
    "nindent",
    "splitList",
    "split",
    "toString",
    "regexReplaceAll",
    "regexMatch",
    "regexFind",
    "regexFindAll",
    "normalize",
    "slugify",
    "list",
    "first",
    "last",
    "rest",
    "initial",
    "slice",
    "has",
    "without",
    "uniq",
    "append",
    "push",
    "prepend",
    "concat",
    "reverse",
    "compact",
    "sortAlpha",
    "join",
    "until",
    "seq",
    "dict",
    "get",
    "hasKey",
    "keys",
    "values",
    "dig",
    "default",
    "empty",
    "coalesce",
    "ternary",
    "fail",
    "fromJson",
    "toJson",
    "toPrettyJson",
    "toRawJson",
    "toYaml",
    "fromYaml",
    "fromYamlArray",
    "b64enc",
    "b64dec",
    "sha256sum",
    "int",
    "int64",
    "float64",
    "atoi",
    "add",
    "add1",
    "sub",
    "mul",
    "div",
    "mod",
    "max",
    "min",
    "print",
    "println",
    "printf",
    "index",
    "len",
    "and",
    "or",
    "not",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "html",
    "js",
    "urlquery",
    "call",
];

const FORMATS: &[&str] = &[
    "%v",
    "%d",
    "%s",
    "%q",
    "%x",
    "%X",
    "%o",
    "%b",
    "%e",
    "%g",
    "%f",
    "%5.2f",
    "%-8s|",
    "%08d",
    "%+d",
    "%T",
    "%t",
    "%c",
    "%U",
    "%[2]v %[1]v",
    "%[3]d",
    "%*d",
    "%.*f",
    "%!",
    "%",
    "%%",
    "%v%v",
    "%#v",
    "% x",
    "%10.3q",
    "%-",
    "%[0]d",
    "%[x]d",
    "%.9999f",
    "%9999d",
];

/// Tokens to insert when mutating a template.
pub const DICT: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    "{{ end }}",
    "{{ else }}",
    "{{ else if .a }}",
    "{{ if .a }}",
    "{{ range . }}",
    "{{ range $i, $v := . }}",
    "{{ with .a }}",
    "{{ break }}",
    "{{ continue }}",
    "{{ define \"t\" }}",
    "{{ template \"t\" . }}",
    "{{ block \"b\" . }}",
    "{{/* c */}}",
    "|",
    "(",
    ")",
    "$",
    "$x := ",
    "$x = ",
    ".",
    ".a.b",
    "$.",
    "nil",
    "true",
    "1.5",
    "-1",
    "0x1F",
    "'a'",
    "\"\\u00e9\"",
    "`raw`",
    " 99999999999999999999 ",
    "1e400",
    "printf",
    "index",
];

fn field(rng: &mut Rng) -> String {
    let mut out = String::new();
    for _ in 0..=small(rng, 3) {
        out.push('.');
        let name = *pick(
            rng,
            &[
                "a", "b", "name", "path", "segments", "values", "list", "n", "x",
            ],
        );
        out.push_str(name);
    }
    out
}

/// One argument: a literal, a field, a variable, or a parenthesised call.
fn arg(rng: &mut Rng, depth: usize) -> String {
    match rng.random_range(0..10) {
        0 => serde_json::Value::String(json::string(rng)).to_string(),
        1 => rng.random_range(-5i64..200).to_string(),
        2 => pick(rng, crate::mutate::NUMBERS).to_string(),
        3 => pick(
            rng,
            &["true", "false", "nil", ".", "$", "$x", "'c'", "1.5", "`x`"],
        )
        .to_string(),
        4 | 5 if depth > 0 => format!("({})", call(rng, depth - 1)),
        _ => field(rng),
    }
}

fn call(rng: &mut Rng, depth: usize) -> String {
    let func = *pick(rng, FUNCS);
    let mut out = func.to_string();
    if func == "printf" {
        out.push(' ');
        out.push_str(&serde_json::Value::String(pick(rng, FORMATS).to_string()).to_string());
    }
    for _ in 0..small(rng, 3) {
        out.push(' ');
        out.push_str(&arg(rng, depth));
    }
    out
}

fn pipeline(rng: &mut Rng, depth: usize) -> String {
    let mut out = if rng.random() {
        arg(rng, depth)
    } else {
        call(rng, depth)
    };
    for _ in 0..small(rng, 2) {
        out.push_str(" | ");
        out.push_str(&call(rng, depth));
    }
    out
}

fn open(rng: &mut Rng) -> &'static str {
    if one_in(rng, 4) { "{{- " } else { "{{ " }
}

fn close(rng: &mut Rng) -> &'static str {
    if one_in(rng, 4) { " -}}" } else { " }}" }
}

/// A template body of at most `depth` nested blocks.
pub fn body(rng: &mut Rng, depth: usize) -> String {
    let mut out = String::new();
    for _ in 0..=small(rng, 4) {
        let (o, c) = (open(rng), close(rng));
        match rng.random_range(0..12) {
            0 => out.push_str(&json::string(rng)),
            1 if depth > 0 => {
                let kw = *pick(rng, &["if", "with", "range"]);
                let head = if kw == "range" && rng.random() {
                    format!("$i, $v := {}", pipeline(rng, 1))
                } else {
                    pipeline(rng, 1)
                };
                out.push_str(&format!("{o}{kw} {head}{c}{}", body(rng, depth - 1)));
                if one_in(rng, 2) {
                    out.push_str(&format!("{o}else{c}{}", body(rng, depth - 1)));
                }
                out.push_str(&format!("{o}end{c}"));
            }
            2 => out.push_str(&format!("{o}$x := {}{c}", pipeline(rng, 1))),
            3 => out.push_str(&format!("{o}$x = {}{c}", pipeline(rng, 1))),
            4 => out.push_str("{{/* comment */}}"),
            5 if depth > 0 => {
                // A template that calls only templates defined before it: no recursion.
                let inner = body(rng, depth - 1).replace("template \"t\"", "template \"u\"");
                out.push_str(&format!(
                    "{{{{define \"t\"}}}}{inner}{{{{end}}}}{o}template \"t\" {}{c}",
                    arg(rng, 0)
                ));
            }
            6 => out.push_str(&format!("{o}break{c}")),
            _ => out.push_str(&format!("{o}{}{c}", pipeline(rng, 2))),
        }
    }
    out
}
