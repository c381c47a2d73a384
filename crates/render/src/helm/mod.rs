//! Helm sources: value files resolved (relative to the chart, or `$ref/…` in another
//! source), then `helm template` run as Argo CD runs it, its output parsed and Helm hooks
//! mapped to sync hooks. Dependencies that `charts/` does not vendor are fetched first
//! ([`deps`]), through the chart repository cache.

pub mod args;
pub mod deps;
pub mod hooks;

use crate::kustomize::symlink_leaving;
use crate::manifest::{self, Manifest, ManifestError};
use crate::paths;
use crate::spec::HelmOptions;
use crate::tools::{Invocation, ToolError, Toolbox};
use crate::workspace::{SourceId, Workspace, WorkspaceError};
use args::ResolvedFiles;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    #[error("failed to find path {0:?} in the repository")]
    MissingPath(String),
    #[error("failed to find Chart.yaml in {0:?}: it is not a Helm chart")]
    NotAChart(String),
    #[error("failed to find value file {0:?} (set ignoreMissingValueFiles to skip it)")]
    MissingValueFile(String),
    #[error("failed to find file {file:?} of fileParameter {name:?}")]
    MissingFileParameter { name: String, file: String },
    #[error("failed to resolve {0:?}: it leaves the repository")]
    OutsideRepo(String),
    #[error("failed to read {0}: it is a symlink that leaves the repository")]
    SymlinkOutside(String),
    #[error(
        "failed to read value file {file:?}: the scheme {scheme}:// is not allowed (helm plugins, such as helm-secrets, never run; use a file of the repository or an http(s) URL)"
    )]
    ValueFileScheme { file: String, scheme: String },
    #[error("failed to read {0:?}: a `$ref` path must look like `$<ref>/<path>`")]
    BadRefPath(String),
    #[error("failed to write the values file: {0}")]
    Io(String),
    #[error("failed to read the chart: {0}")]
    BadChart(String),
    #[error("failed to read value-file pattern {pattern:?}: {message}")]
    BadGlob { pattern: String, message: String },
    #[error("failed to fetch dependency {name:?} of the chart: {source}")]
    Dependency {
        name: String,
        #[source]
        source: Box<driftless_charts::ChartError>,
    },
    #[error("failed to fetch dependency {name:?} of the chart: {reason}")]
    DependencyUnavailable { name: String, reason: String },
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

pub fn render(
    toolbox: Toolbox<'_>,
    ws: &mut dyn Workspace,
    app_path: &str,
    options: &HelmOptions,
) -> Result<(Vec<Manifest>, Vec<String>), HelmError> {
    let helm = toolbox.tools.helm()?;
    let mut remote = Vec::new();
    let chart = ws
        .ensure(&SourceId::Main, app_path)?
        .ok_or_else(|| HelmError::MissingPath(app_path.to_string()))?;
    if !chart.join("Chart.yaml").is_file() {
        return Err(HelmError::NotAChart(app_path.to_string()));
    }
    // helm reads every file of the chart (`.Files`), following symlinks.
    if let Some(link) = symlink_leaving(&ws.root(&SourceId::Main)?, &chart) {
        return Err(HelmError::SymlinkOutside(link));
    }
    let mut files = ResolvedFiles::default();
    for value_file in &options.value_files {
        if let Some(scheme) = plugin_scheme(value_file) {
            return Err(HelmError::ValueFileScheme {
                file: value_file.clone(),
                scheme: scheme.to_string(),
            });
        }
        if is_url(value_file) {
            remote.push(value_file.clone());
            files.values.push(value_file.clone());
            continue;
        }
        if is_glob(value_file) {
            let matched = expand_glob(ws, app_path, value_file)?;
            if matched.is_empty() && !options.ignore_missing_value_files {
                return Err(HelmError::MissingValueFile(value_file.clone()));
            }
            files
                .values
                .extend(matched.iter().map(|p| p.display().to_string()));
            continue;
        }
        match resolve(ws, app_path, value_file)? {
            Some(path) => files.values.push(path.display().to_string()),
            None if options.ignore_missing_value_files => {
                tracing::debug!(file = %value_file, "skipping missing value file");
            }
            None => return Err(HelmError::MissingValueFile(value_file.clone())),
        }
    }
    let temp = tempfile::tempdir().map_err(|e| HelmError::Io(e.to_string()))?;
    if let Some(values) = options.values.as_deref().filter(|v| !v.trim().is_empty()) {
        let file = temp.path().join("values.yaml");
        std::fs::write(&file, values).map_err(|e| HelmError::Io(e.to_string()))?;
        files.values.push(file.display().to_string());
    }
    for parameter in &options.file_parameters {
        let path = resolve(ws, app_path, &parameter.path)?.ok_or_else(|| {
            HelmError::MissingFileParameter {
                name: parameter.name.clone(),
                file: parameter.path.clone(),
            }
        })?;
        files
            .set_files
            .push((parameter.name.clone(), path.display().to_string()));
    }
    let missing = deps::missing(&chart)?;
    let mut _vendored_copy = None;
    let cwd = if missing.is_empty() {
        chart
    } else {
        let (temp, copy, fetched_from) =
            deps::vendor(toolbox.charts, ws, app_path, &chart, &missing)?;
        remote.extend(fetched_from);
        _vendored_copy = Some(temp);
        copy
    };
    let invocation = Invocation {
        program: helm.to_path_buf(),
        args: args::template_args(options, ".", &files),
        cwd,
    };
    let stdout = toolbox
        .runner
        .run_with_env(&invocation, &isolated_env(temp.path())?)?;
    let label = format!(
        "helm template {}",
        if app_path.is_empty() { "." } else { app_path }
    );
    let mut manifests = manifest::parse_yaml_stream(&label, &String::from_utf8_lossy(&stdout))?;
    for m in &mut manifests {
        hooks::map_helm_hooks(&mut m.object);
    }
    Ok((manifests, remote))
}

/// A value file or file parameter on disk: `$<ref>/<path>` in the `ref` source, else
/// relative to the chart (a leading `/` means the repository root), never outside it.
fn resolve(
    ws: &mut dyn Workspace,
    app_path: &str,
    file: &str,
) -> Result<Option<PathBuf>, HelmError> {
    let (source, path) = locate(app_path, file)?;
    let found = ws.ensure(&source, &path)?;
    if let Some(found) = &found
        && let Some(link) = symlink_leaving(&ws.root(&source)?, found)
    {
        return Err(HelmError::SymlinkOutside(link));
    }
    Ok(found)
}

/// Which source a value file is in, and its normalized path there.
fn locate(app_path: &str, file: &str) -> Result<(SourceId, String), HelmError> {
    if let Some(rest) = file.strip_prefix('$') {
        let (name, path) = rest
            .split_once('/')
            .ok_or_else(|| HelmError::BadRefPath(file.to_string()))?;
        if name.is_empty() {
            return Err(HelmError::BadRefPath(file.to_string()));
        }
        let path =
            paths::normalize(path).ok_or_else(|| HelmError::OutsideRepo(file.to_string()))?;
        return Ok((SourceId::Ref(name.to_string()), path));
    }
    let path =
        paths::join(app_path, file).ok_or_else(|| HelmError::OutsideRepo(file.to_string()))?;
    Ok((SourceId::Main, path))
}

/// The files a value-file glob matches (Argo CD 3.4: `*` and `?` stay within one directory,
/// `**` crosses them), in lexical order. The directory before the first wildcard is read from
/// the source, so the render cache sees what the glob could have matched.
fn expand_glob(
    ws: &mut dyn Workspace,
    app_path: &str,
    pattern: &str,
) -> Result<Vec<PathBuf>, HelmError> {
    let (source, path) = locate(app_path, pattern)?;
    let parts: Vec<&str> = path.split('/').collect();
    let fixed = parts.iter().take_while(|p| !is_glob(p)).count();
    let base = parts[..fixed].join("/");
    let rest = parts[fixed..].join("/");
    let matcher = globset::GlobBuilder::new(&rest)
        .literal_separator(true)
        .build()
        .map_err(|e| HelmError::BadGlob {
            pattern: pattern.to_string(),
            message: e.to_string(),
        })?
        .compile_matcher();
    let Some(dir) = ws.ensure(&source, &base)?.filter(|d| d.is_dir()) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    crate::directory::list_files(&dir, "", true, &mut found)
        .map_err(|e| HelmError::Io(e.to_string()))?;
    found.sort();
    Ok(found
        .into_iter()
        .filter(|relative| matcher.is_match(relative))
        .map(|relative| dir.join(relative))
        .collect())
}

/// Helm's own directories for one run, all inside `temp` and empty: no plugin (a downloader
/// for `secrets://` value files, a post-renderer), repository list or registry login from
/// the user's home (or from `HELM_*` set for driftless) is seen by a render. Charts come from
/// the repository or driftless' chart cache, so helm needs none of them.
fn isolated_env(temp: &std::path::Path) -> Result<Vec<(String, String)>, HelmError> {
    let home = temp.join("helm");
    let mut env = Vec::new();
    for (var, dir) in [
        ("HELM_PLUGINS", "plugins"),
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_DATA_HOME", "data"),
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_REPOSITORY_CACHE", "cache/repository"),
    ] {
        let path = home.join(dir);
        std::fs::create_dir_all(&path).map_err(|e| HelmError::Io(e.to_string()))?;
        env.push((var.to_string(), path.display().to_string()));
    }
    for (var, file) in [
        ("HELM_REPOSITORY_CONFIG", "config/repositories.yaml"),
        ("HELM_REGISTRY_CONFIG", "config/registry/config.json"),
    ] {
        env.push((var.to_string(), home.join(file).display().to_string()));
    }
    env.push(("HELM_NO_PLUGINS".into(), "1".into()));
    Ok(env)
}

/// The scheme of a value file that only a helm downloader plugin could read (`secrets://`,
/// `s3://`, `gs://` …): anything with a scheme but `http(s)://`.
fn plugin_scheme(file: &str) -> Option<&str> {
    let (scheme, _) = file.split_once("://")?;
    let valid = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (valid && !is_url(file)).then_some(scheme)
}

fn is_glob(part: &str) -> bool {
    part.contains(['*', '?', '['])
}

/// An `http(s)://` value file (the scheme in any case, as Go's URL parser reads it).
fn is_url(file: &str) -> bool {
    ["http://", "https://"].iter().any(|prefix| {
        file.as_bytes()
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
    })
}
