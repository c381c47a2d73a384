//! Seed inputs from the repository's own test data, read at start-up. A missing folder gives
//! no seeds (the generators still run); the fuzzer never writes there.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The workspace root, where `crates/*/testdata` live.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file under `dir` (relative to the workspace root) whose name ends in one of `exts`,
/// recursively, sorted by path so the corpus is the same on every run.
pub fn files(dir: &str, exts: &[&str]) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    walk(&repo_root().join(dir), exts, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn walk(dir: &Path, exts: &[&str], out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, exts, out);
        } else if exts.iter().any(|e| path.to_string_lossy().ends_with(e))
            && let Ok(bytes) = std::fs::read(&path)
        {
            out.push((path, bytes));
        }
    }
}

/// The raw bytes of the files.
pub fn raw(dir: &str, exts: &[&str]) -> Vec<Vec<u8>> {
    files(dir, exts)
        .into_iter()
        .map(|(_, bytes)| bytes)
        .collect()
}

/// Every YAML document of every file, as JSON values (files that do not parse are skipped).
pub fn yaml_values(dir: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (_, bytes) in files(dir, &[".yaml", ".yml"]) {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        for doc in serde_norway::Deserializer::from_str(text) {
            if let Ok(value) = <Value as serde::Deserialize>::deserialize(doc)
                && !value.is_null()
            {
                out.push(value);
            }
        }
    }
    out
}

/// Every JSON file, parsed.
pub fn json_values(dir: &str) -> Vec<Value> {
    files(dir, &[".json"])
        .into_iter()
        .filter_map(|(_, bytes)| serde_json::from_slice(&bytes).ok())
        .collect()
}

/// Objects (maps with a `kind`) found anywhere inside `values`: fixtures wrap them in cases.
pub fn objects_within(values: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for v in values {
        collect_objects(v, &mut out, 0);
    }
    out
}

fn collect_objects(v: &Value, out: &mut Vec<Value>, depth: usize) {
    if depth > 8 {
        return;
    }
    match v {
        Value::Object(map) => {
            if map.contains_key("kind") && map.contains_key("metadata") {
                out.push(v.clone());
            }
            for child in map.values() {
                collect_objects(child, out, depth + 1);
            }
        }
        Value::Array(items) => {
            for child in items {
                collect_objects(child, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// Every string value at a key named `key` (a trailing `*` matches any rest) anywhere inside
/// `values`: scripts, templates and jq expressions inside fixtures.
pub fn strings_at(values: &[Value], key: &str) -> Vec<String> {
    let mut out = Vec::new();
    for v in values {
        collect_strings(v, key, &mut out, 0);
    }
    out
}

fn collect_strings(v: &Value, key: &str, out: &mut Vec<String>, depth: usize) {
    if depth > 10 {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let wanted = match key.strip_suffix('*') {
                    Some(prefix) => k.starts_with(prefix),
                    None => k == key,
                };
                match child {
                    Value::String(s) if wanted => out.push(s.clone()),
                    Value::Array(items) if wanted => {
                        out.extend(items.iter().filter_map(Value::as_str).map(str::to_string));
                    }
                    _ => collect_strings(child, key, out, depth + 1),
                }
            }
        }
        Value::Array(items) => {
            for child in items {
                collect_strings(child, key, out, depth + 1);
            }
        }
        _ => {}
    }
}
