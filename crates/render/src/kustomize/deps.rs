//! Which files a kustomize build reads, found by walking kustomization files from the
//! source path. Each path found is made present through the workspace (so a git-backed
//! workspace exports it and records its tree id for the cache key).
//!
//! Covered fields: `resources`, `bases`, `components`, `crds`, `configurations`,
//! `generators`, `transformers`, `validators` (files or kustomization directories),
//! `patches[].path`, `patchesJson6902[].path`, `patchesStrategicMerge` (file entries),
//! `replacements[].path`, `openapi.path`, and `configMapGenerator` / `secretGenerator`
//! `files`, `envs` and `env`. Remote resources (URLs) are listed apart: their content is
//! not versioned by the repository, so a render that uses them is never cached.
//! Not covered: `helmCharts` (needs `--enable-helm`, which Argo CD does not pass by default).

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
    for reference in references(kustomization) {
        if is_remote(&reference) {
            deps.remote.push(reference);
            continue;
        }
        let path = paths::join(dir, &reference).ok_or_else(|| KustomizeError::OutsideRepo {
            path: dir.to_string(),
            reference: reference.clone(),
        })?;
        match ws.ensure(&SourceId::Main, &path)? {
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
                        out.push(
                            file.split_once('=')
                                .map(|(_, p)| p)
                                .unwrap_or(file)
                                .to_string(),
                        );
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

fn is_remote(reference: &str) -> bool {
    reference.contains("://")
        || reference.starts_with("git@")
        || ["github.com/", "gitlab.com/", "bitbucket.org/"]
            .iter()
            .any(|host| reference.starts_with(host))
}
