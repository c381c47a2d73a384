//! Which files a kustomize build reads, found by walking kustomization files from the
//! source path. Each path found is made present through the workspace (so a git-backed
//! workspace exports it and records its tree id for the cache key).
//!
//! Covered fields: `resources`, `bases`, `components`, `crds`, `configurations`,
//! `generators`, `transformers`, `validators` (files or kustomization directories),
//! `patches[].path`, `patchesJson6902[].path`, `patchesStrategicMerge` (file entries),
//! `replacements[].path`, `openapi.path`, and `configMapGenerator` / `secretGenerator`
//! `files`, `envs` and `env`. Remote resources (URLs, also those that generator and
//! transformer configs load) are listed apart: their content is not versioned by the
//! repository, so a render that uses them is never cached, and they are refused unless
//! remote bases are on. Not covered: `helmCharts` (needs `--enable-helm`, never passed).

use super::KustomizeError;
use crate::manifest;
use crate::paths;
use crate::workspace::{SourceId, Workspace};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deps {
    /// Repository-relative files and directories the build reads.
    pub paths: BTreeSet<String>,
    /// Remote resources (URLs) the build fetches.
    pub remote: Vec<String>,
}

/// The kustomization file of a directory on disk, if it has one.
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

pub fn read_kustomization(file: &Path, label: &str) -> Result<Value, KustomizeError> {
    let text = std::fs::read_to_string(file).map_err(|e| KustomizeError::Io {
        path: label.to_string(),
        message: e.to_string(),
    })?;
    Ok(manifest::parse_yaml_value(label, &text)?)
}

/// Walks from `dir`; `root_override` stands for the (edited) kustomization of `dir` itself.
pub fn walk(
    ws: &mut dyn Workspace,
    dir: &str,
    root_override: Option<&Value>,
) -> Result<Deps, KustomizeError> {
    let mut deps = Deps::default();
    let mut seen = BTreeSet::new();
    visit(ws, dir, root_override, &mut seen, &mut deps)?;
    Ok(deps)
}

fn visit(
    ws: &mut dyn Workspace,
    dir: &str,
    override_value: Option<&Value>,
    seen: &mut BTreeSet<String>,
    deps: &mut Deps,
) -> Result<(), KustomizeError> {
    if !seen.insert(dir.to_string()) {
        return Ok(());
    }
    let Some(on_disk) = ws.ensure(&SourceId::Main, dir)? else {
        return Ok(());
    };
    deps.paths.insert(dir.to_string());
    let owned;
    let kustomization = match override_value {
        Some(value) => value,
        None => {
            let Some(file) = kustomization_file(&on_disk) else {
                return Ok(());
            };
            let label = format!(
                "{dir}/{}",
                file.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
            );
            owned = read_kustomization(&file, &label)?;
            &owned
        }
    };
    // Generator, transformer and validator configs name files of their own (a
    // PatchTransformer's `path`, a ConfigMapGenerator's `files` …), which kustomize also
    // fetches when they are URLs.
    for entry in plugin_configs(kustomization) {
        let config = if entry.contains('\n') {
            Some(entry)
        } else {
            let found = match paths::join(dir, &entry) {
                Some(path) => ws.ensure(&SourceId::Main, &path)?,
                None => None,
            };
            found
                .filter(|p| p.is_file())
                .and_then(|p| std::fs::read_to_string(p).ok())
        };
        if let Some(text) = config {
            for url in remote_in_config(&text) {
                if !deps.remote.contains(&url) {
                    deps.remote.push(url);
                }
            }
        }
    }
    for reference in references(kustomization) {
        // kustomize reads a file or directory of that name first, then tries it as a URL.
        let local = match paths::join(dir, &reference) {
            Some(path) if !has_scheme(&reference) => ws
                .ensure(&SourceId::Main, &path)?
                .map(|found| (path, found)),
            _ => None,
        };
        if local.is_none() && is_remote(&reference) {
            deps.remote.push(reference);
            continue;
        }
        let path = paths::join(dir, &reference).ok_or_else(|| KustomizeError::OutsideRepo {
            path: dir.to_string(),
            reference: reference.clone(),
        })?;
        match local.map(|(_, found)| found) {
            // Missing: kustomize itself reports it, with its own message.
            None => {}
            Some(found) if found.is_dir() => visit(ws, &path, None, seen, deps)?,
            Some(_) => {
                deps.paths.insert(path);
            }
        }
    }
    Ok(())
}

/// Every local path a kustomization names, as written (relative to its directory).
pub fn references(k: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let strings = |key: &str, out: &mut Vec<String>| {
        for item in k.get(key).and_then(Value::as_array).into_iter().flatten() {
            if let Some(s) = item.as_str().filter(|s| !s.contains('\n')) {
                out.push(s.to_string());
            }
        }
    };
    for key in [
        "resources",
        "bases",
        "components",
        "crds",
        "configurations",
        "generators",
        "transformers",
        "validators",
        "patchesStrategicMerge",
    ] {
        strings(key, &mut out);
    }
    for key in ["patches", "patchesJson6902", "replacements"] {
        for item in k.get(key).and_then(Value::as_array).into_iter().flatten() {
            if let Some(path) = item.get("path").and_then(Value::as_str) {
                out.push(path.to_string());
            }
        }
    }
    if let Some(path) = k
        .get("openapi")
        .and_then(|o| o.get("path"))
        .and_then(Value::as_str)
    {
        out.push(path.to_string());
    }
    for key in ["configMapGenerator", "secretGenerator"] {
        for generator in k.get(key).and_then(Value::as_array).into_iter().flatten() {
            for field in ["files", "envs"] {
                for file in generator
                    .get(field)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(file) = file.as_str() {
                        // `key=path` names the data key; the file is after the `=`.
                        out.push(generator_file(file).to_string());
                    }
                }
            }
            if let Some(env) = generator.get("env").and_then(Value::as_str) {
                out.push(env.to_string());
            }
        }
    }
    out.retain(|s| !s.trim().is_empty());
    out
}

/// The entries of `generators`, `transformers` and `validators`: files, directories or
/// inline configs (strings holding a YAML document).
fn plugin_configs(k: &Value) -> Vec<String> {
    ["generators", "transformers", "validators"]
        .iter()
        .flat_map(|key| k.get(*key).and_then(Value::as_array).into_iter().flatten())
        .filter_map(|item| item.as_str().map(str::to_string))
        .collect()
}

/// Remote files a generator or transformer config (a YAML stream) names in the fields
/// kustomize loads files from: `path`, `paths`, `files`, `envs`, `env`, at any depth.
fn remote_in_config(text: &str) -> Vec<String> {
    fn collect(value: &Value, loaded: bool, out: &mut Vec<String>) {
        match value {
            Value::String(s) if loaded => {
                // `key=path` in generators: the file is after the `=`.
                let file = generator_file(s);
                if is_remote(file) && !out.iter().any(|o| o == file) {
                    out.push(file.to_string());
                }
            }
            Value::Array(items) => items.iter().for_each(|i| collect(i, loaded, out)),
            Value::Object(map) => {
                for (key, child) in map {
                    let loads = matches!(key.as_str(), "path" | "paths" | "files" | "envs" | "env");
                    collect(child, loads, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    // Not YAML: kustomize reports it; the build fails before fetching anything.
    for doc in manifest::parse_yaml_stream("kustomize config", text).unwrap_or_default() {
        collect(&doc.object, false, &mut out);
    }
    out
}

/// The file of a generator's `files` entry: `key=path` names the data key, and the file is
/// after the `=` (unless the `=` is in a URL's query).
fn generator_file(entry: &str) -> &str {
    match entry.split_once('=') {
        Some((key, path)) if !key.contains([':', '/']) => path,
        _ => entry,
    }
}

/// `scheme://…`, possibly after `git::`: never a local path for kustomize.
fn has_scheme(reference: &str) -> bool {
    reference.contains("://")
}

/// A reference kustomize fetches instead of reading from the repository, as its repospec
/// (kustomize/api/internal/git) reads one: any `scheme://` (`git::` first or not), an
/// scp-style `user@host:path`, or `github.com/` and `github.com:`; schemes and GitHub's host
/// in any case.
pub fn is_remote(reference: &str) -> bool {
    let starts = |s: &str, prefix: &str| {
        s.as_bytes()
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    let rest = if starts(reference, "git::") {
        &reference[5..]
    } else {
        reference
    };
    if rest.contains("://") || starts(rest, "github.com/") || starts(rest, "github.com:") {
        return true;
    }
    // `user@host…`: a username as kustomize's `^[a-zA-Z][a-zA-Z0-9-]*@`.
    match rest.split_once('@') {
        Some((user, _)) => {
            user.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && user.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_references_as_kustomize_reads_them() {
        for remote in [
            "https://github.com/example/platform//base?ref=v1",
            "git::https://example.com/repo.git//base",
            "GIT::HTTPS://example.com/repo.git",
            "ssh://git@example.com/repo.git",
            "git@github.com:example/repo.git",
            "deploy@git.example.com:team/repo.git//base",
            "github.com/example/repo/base",
            "GitHub.com/example/repo/base",
            "github.com:example/repo",
            "file:///srv/git/repo.git",
        ] {
            assert!(is_remote(remote), "{remote}");
        }
        for local in [
            "../base",
            "base",
            "overlays/prod",
            "cm.yaml",
            "@x/y",
            "gitlab.com/x",
        ] {
            assert!(!is_remote(local), "{local}");
        }
    }

    #[test]
    fn remote_files_in_generator_and_transformer_configs() {
        let config = "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: https://example.com/patch.yaml\n---\napiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: c\n  annotations:\n    docs: https://example.com/not-loaded\nfiles:\n- key=https://example.com/file.txt\n- https://example.com/q?x=1\n- local.txt\n";
        assert_eq!(
            remote_in_config(config),
            [
                "https://example.com/patch.yaml",
                "https://example.com/file.txt",
                "https://example.com/q?x=1"
            ]
        );
    }
}
