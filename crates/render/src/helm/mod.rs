//! Helm sources: value files resolved (relative to the chart, or `$ref/…` in another
//! source), then `helm template` run as Argo CD runs it, its output parsed and Helm hooks
//! mapped to sync hooks. Dependencies that `charts/` does not vendor are fetched first
//! ([`deps`]), through the chart repository cache.

pub mod args;
pub mod deps;
pub mod hooks;

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
    let mut files = ResolvedFiles::default();
    for value_file in &options.value_files {
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
    let stdout = toolbox.runner.run(&invocation)?;
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
    Ok(ws.ensure(&source, &path)?)
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

fn is_glob(part: &str) -> bool {
    part.contains(['*', '?', '['])
}

fn is_url(file: &str) -> bool {
    file.starts_with("http://") || file.starts_with("https://")
}
