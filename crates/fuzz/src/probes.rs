//! Probes: known runaway inputs, each run once in a child process under a time and memory
//! limit, to check that the budgets the crates have stop them. A probe that is still running
//! at its deadline (or that takes the process down) is reported as not bounded.

use driftless_appset::gotemplate::{GoTemplateOptions, from_json, render};
use driftless_diff::jq::JqPath;
use driftless_health::{CustomChecks, health_of};
use driftless_render::manifest::{Format, parse_bytes};
use serde_json::json;

pub struct Probe {
    pub name: &'static str,
    /// The fuzz target whose code it exercises.
    pub target: &'static str,
    pub about: &'static str,
    pub run: fn() -> String,
}

pub const ALL: &[Probe] = &[
    Probe {
        name: "lua-endless-loop",
        target: "lua",
        about: "while true do end, default budget",
        run: || lua("while true do end"),
    },
    Probe {
        name: "lua-loop-in-pcall",
        target: "lua",
        about: "an endless loop caught by pcall in an endless loop",
        run: || lua("while true do pcall(function() while true do end end) end"),
    },
    Probe {
        name: "lua-memory-bomb",
        target: "lua",
        about: "a table of ever longer strings, default memory limit",
        run: || lua("local t = {} local s = 'x' for i = 1, 1e9 do s = s .. s t[i] = s end"),
    },
    Probe {
        name: "lua-pattern-backtracking",
        target: "lua",
        about: "string.find with 40 nested a* on 40 a's (one C call)",
        run: || {
            lua(
                "return {status = tostring(string.find(string.rep('a', 40), string.rep('a*', 40) .. 'b'))}",
            )
        },
    },
    Probe {
        name: "gotmpl-range",
        target: "gotemplate",
        about: "nested range over until 100000, 10^10 iterations",
        run: || go("{{range until 100000}}{{range until 100000}}{{end}}{{end}}"),
    },
    Probe {
        name: "gotmpl-recursion",
        target: "gotemplate",
        about: "a template that calls itself once",
        run: || go("{{define \"a\"}}{{template \"a\" .}}{{end}}{{template \"a\" .}}"),
    },
    Probe {
        name: "gotmpl-fanout",
        target: "gotemplate",
        about: "a template that calls itself twice (2^depth calls)",
        run: || {
            go(
                "{{define \"a\"}}{{template \"a\" .}}{{template \"a\" .}}{{end}}{{template \"a\" .}}",
            )
        },
    },
    Probe {
        name: "gotmpl-output",
        target: "gotemplate",
        about: "10^7 range iterations printing 1 MiB each",
        run: || {
            go("{{range until 100000}}{{range until 100}}{{repeat 1000000 \"x\"}}{{end}}{{end}}")
        },
    },
    Probe {
        name: "jq-many-paths",
        target: "jq",
        about: ".[range(1e9)]: 10^9 paths",
        run: || jq(".[range(1000000000)]"),
    },
    Probe {
        name: "jq-runaway",
        target: "jq",
        about: "select over 10^13 values, no path yielded",
        run: || jq("select(any(range(10000000000000); . < 0))"),
    },
    Probe {
        name: "jq-recursion",
        target: "jq",
        about: "def f: .x | f; f (null.x is null: no end)",
        run: || jq("def f: .x | f; f"),
    },
    Probe {
        name: "yaml-alias-bomb",
        target: "manifests",
        about: "billion laughs: 9 levels of 10 aliases",
        run: alias_bomb,
    },
    Probe {
        name: "yaml-deep-flow",
        target: "manifests",
        about: "100000 nested [",
        run: || yaml(&format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000))),
    },
    Probe {
        name: "yaml-deep-block",
        target: "manifests",
        about: "3000 nested block sequences",
        run: || {
            yaml(
                &(0..3_000)
                    .map(|i| format!("{}- ", " ".repeat(i)))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        },
    },
];

pub fn find(name: &str) -> Option<&'static Probe> {
    ALL.iter().find(|p| p.name == name)
}

fn short(text: String) -> String {
    let text = text.replace('\n', " ");
    match text.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

fn lua(script: &str) -> String {
    let checks = CustomChecks::new().with_script("", "ConfigMap", script);
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    short(format!("{:?}", health_of(&object, &checks)))
}

fn go(template: &str) -> String {
    short(format!(
        "{:?}",
        render(
            template,
            &from_json(&json!({})),
            GoTemplateOptions::default()
        )
        .map(|s| s.len())
    ))
}

fn jq(expr: &str) -> String {
    match JqPath::compile(expr) {
        Ok(jq) => short(format!(
            "{:?}",
            jq.paths(&json!({"a": {"a": 1}, "b": [1, 2]}))
                .map(|p| p.len())
        )),
        Err(e) => short(format!("compile error: {e}")),
    }
}

fn yaml(text: &str) -> String {
    short(format!(
        "{:?}",
        parse_bytes("probe.yaml", text.as_bytes(), Format::Yaml).map(|m| m.len())
    ))
}

fn alias_bomb() -> String {
    let mut text = String::from("a0: &a0 [lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(",");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
    yaml(&text)
}
