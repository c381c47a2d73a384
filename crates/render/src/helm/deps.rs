//! Chart dependencies a chart does not vendor: what `helm dependency build` would fetch, done
//! through the chart repository cache (same credentials, same cache; Helm repositories and
//! `oci://` registries) instead of helm's own repository config. `file://` dependencies come
//! from the same source; charts already in `charts/` are used as they are.

use crate::charts::ChartFetcher;
use crate::helm::HelmError;
use crate::kustomize::copy_tree;
use crate::paths;
use crate::workspace::{SourceId, Workspace};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Dependency {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub repository: String,
}

#[derive(Debug, Default, Deserialize)]
struct DependencyList {
    #[serde(default)]
    dependencies: Vec<Dependency>,
}

/// The dependencies of the chart in `chart_dir` that `charts/` does not hold (by name: a
/// directory `charts/<name>` or an archive `charts/<name>-<version>.tgz`).
pub fn missing(chart_dir: &Path) -> Result<Vec<Dependency>, HelmError> {
    let mut declared = Vec::new();
    // Chart API v2 lists them in Chart.yaml, v1 in requirements.yaml.
    for file in ["Chart.yaml", "requirements.yaml"] {
        let path = chart_dir.join(file);
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| HelmError::Io(format!("failed to read {file}: {e}")))?;
        let list: DependencyList = serde_norway::from_str(&text)
            .map_err(|e| HelmError::BadChart(format!("{file}: {e}")))?;
        declared.extend(list.dependencies);
    }
    let vendored = vendored_names(&chart_dir.join("charts"));
    Ok(declared
        .into_iter()
        .filter(|d| !vendored.iter().any(|name| name == &d.name))
        .collect())
}

fn vendored_names(charts: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(charts) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name().to_string_lossy().to_string();
        let path = entry.path();
        if path.join("Chart.yaml").is_file() {
            names.push(file_name);
        } else if let Some(stem) = file_name.strip_suffix(".tgz") {
            // `<name>-<version>.tgz`: the version starts at the last '-' followed by a digit.
            let cut = stem
                .char_indices()
                .filter(|(i, c)| {
                    *c == '-'
                        && stem[i + 1..]
                            .chars()
                            .next()
                            .is_some_and(|n| n.is_ascii_digit() || n == 'v')
                })
                .map(|(i, _)| i)
                .next_back();
            names.push(cut.map_or(stem, |i| &stem[..i]).to_string());
        }
    }
    names
}

/// A private copy of the chart with every missing dependency put into its `charts/`. Returns
/// the copy and the repositories fetched from (renders that fetched are not cached: a
/// constraint may pick a newer version next time).
pub fn vendor(
    charts: Option<&dyn ChartFetcher>,
    ws: &mut dyn Workspace,
    app_path: &str,
    chart_dir: &Path,
    missing: &[Dependency],
) -> Result<(tempfile::TempDir, PathBuf, Vec<String>), HelmError> {
    let temp = tempfile::Builder::new()
        .prefix("driftless-chart-")
        .tempdir()
        .map_err(|e| HelmError::Io(e.to_string()))?;
    let copy = temp.path().join("chart");
    copy_tree(chart_dir, &copy).map_err(|e| HelmError::Io(e.to_string()))?;
    let mut fetched_from = Vec::new();
    for dependency in missing {
        let unavailable = |reason: String| HelmError::DependencyUnavailable {
            name: dependency.name.clone(),
            reason,
        };
        let repository = dependency.repository.trim();
        let source: PathBuf = if let Some(relative) = repository.strip_prefix("file://") {
            let path = paths::join(app_path, relative)
                .ok_or_else(|| unavailable(format!("{repository} leaves the repository")))?;
            ws.ensure(&SourceId::Main, &path)?
                .filter(|p| p.join("Chart.yaml").is_file())
                .ok_or_else(|| unavailable(format!("{repository} holds no chart")))?
        } else if ["https://", "http://", "oci://"]
            .iter()
            .any(|scheme| repository.starts_with(scheme))
        {
            let fetcher = charts.ok_or_else(|| {
                unavailable("this render has no chart repository cache to fetch it with".into())
            })?;
            fetched_from.push(repository.to_string());
            fetcher
                .fetch(repository, &dependency.name, &dependency.version)
                .map_err(|source| HelmError::Dependency {
                    name: dependency.name.clone(),
                    source: Box::new(source),
                })?
        } else if let Some((scheme, _)) = repository.split_once("://") {
            return Err(unavailable(format!(
                "repository {repository:?} uses the scheme {scheme}://, which only a helm plugin reads, and helm plugins never run (use an https:// or oci:// repository, or vendor the chart in charts/)"
            )));
        } else if repository.is_empty() {
            return Err(unavailable(
                "it names no repository and charts/ does not hold it".into(),
            ));
        } else {
            return Err(unavailable(format!(
                "repository {repository:?} is not a URL (helm repository names need `helm repo add`; write the repository URL)"
            )));
        };
        copy_tree(&source, &copy.join("charts").join(&dependency.name))
            .map_err(|e| HelmError::Io(e.to_string()))?;
    }
    Ok((temp, copy, fetched_from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_charts_count_by_directory_or_archive_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let chart = dir.path();
        std::fs::write(
            chart.join("Chart.yaml"),
            "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: redis, version: 1.*, repository: https://charts.example.com}\n- {name: common, version: 2.0.0, repository: https://charts.example.com}\n- {name: web-ui, version: 0.1.0, repository: https://charts.example.com}\n",
        )
        .expect("write");
        std::fs::create_dir_all(chart.join("charts/common")).expect("mkdir");
        std::fs::write(chart.join("charts/common/Chart.yaml"), "name: common\n").expect("write");
        std::fs::write(chart.join("charts/web-ui-0.1.0.tgz"), b"").expect("write");
        let missing = missing(chart).expect("reads");
        let names: Vec<&str> = missing.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["redis"]);
    }

    #[test]
    fn a_malformed_chart_yaml_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("Chart.yaml"), "dependencies: {oops").expect("write");
        assert!(matches!(missing(dir.path()), Err(HelmError::BadChart(_))));
    }
}
