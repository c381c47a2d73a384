//! `source.plugin` resolved for rendering, with the build environment Argo CD gives a plugin.

use driftless_model::source::PluginSource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a source is rendered by a config management plugin.
///
/// Plugin renders are never cached (see [`crate::spec::Method::cacheable`]), so the values
/// that change with every commit (the revision) may live here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PluginOptions {
    /// `plugin.name`: `<name>`, or `<name>-<version>` for a plugin with a version; `None`
    /// takes the first plugin whose discovery rules match.
    pub name: Option<String>,
    /// False when the source has no `plugin` block and a plugin took it by discovery:
    /// Argo CD then sets no `ARGOCD_ENV_*`, `ARGOCD_APP_PARAMETERS` or `PARAM_*` variables.
    pub declared: bool,
    /// `plugin.env`, passed as `ARGOCD_ENV_<name>`.
    pub env: Vec<EnvVar>,
    /// `plugin.parameters` (`None`: not set, which Argo CD sends as JSON `null`).
    pub parameters: Option<Vec<Parameter>>,
    pub build: BuildEnv,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// `plugin.parameters[]`: a string, an array or a map (each optional, as in Argo CD).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Parameter {
    pub name: String,
    pub string: Option<String>,
    pub array: Option<Vec<String>>,
    pub map: Option<BTreeMap<String, String>>,
}

/// What Argo CD's build environment (`ARGOCD_APP_*`, `KUBE_*`) is made of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BuildEnv {
    pub app_name: String,
    /// The destination namespace.
    pub app_namespace: String,
    pub project: String,
    /// The resolved commit (or the target revision when the source is not a git commit).
    pub revision: String,
    pub repo_url: String,
    /// `source.path` as written.
    pub source_path: String,
    /// `source.targetRevision` as written.
    pub target_revision: String,
    pub kube_version: Option<String>,
    pub api_versions: Vec<String>,
}

impl BuildEnv {
    /// The `ARGOCD_APP_*` variables, as Argo CD's repo server sets them.
    pub fn app_variables(&self) -> Vec<(&'static str, String)> {
        let short = |n: usize| self.revision.chars().take(n).collect::<String>();
        vec![
            ("ARGOCD_APP_NAME", self.app_name.clone()),
            ("ARGOCD_APP_NAMESPACE", self.app_namespace.clone()),
            ("ARGOCD_APP_PROJECT_NAME", self.project.clone()),
            ("ARGOCD_APP_REVISION", self.revision.clone()),
            ("ARGOCD_APP_REVISION_SHORT", short(7)),
            ("ARGOCD_APP_REVISION_SHORT_8", short(8)),
            ("ARGOCD_APP_SOURCE_REPO_URL", self.repo_url.clone()),
            ("ARGOCD_APP_SOURCE_PATH", self.source_path.clone()),
            (
                "ARGOCD_APP_SOURCE_TARGET_REVISION",
                self.target_revision.clone(),
            ),
        ]
    }
}

impl PluginOptions {
    /// Options of a source: `plugin` is the source's `plugin` block (`None`: the source has
    /// none and a plugin was found by discovery).
    pub fn from_source(plugin: Option<&PluginSource>, build: BuildEnv) -> Self {
        let Some(plugin) = plugin else {
            return Self {
                build,
                ..Self::default()
            };
        };
        Self {
            name: plugin.name.clone().filter(|n| !n.is_empty()),
            declared: true,
            env: plugin
                .env
                .iter()
                .flatten()
                .map(|e| EnvVar {
                    name: e.name.clone(),
                    value: e.value.clone(),
                })
                .collect(),
            parameters: plugin.parameters.as_ref().map(|parameters| {
                parameters
                    .iter()
                    .map(|p| Parameter {
                        name: p.name.clone().unwrap_or_default(),
                        string: p.string.clone(),
                        array: p.array.clone(),
                        map: p.map.clone(),
                    })
                    .collect()
            }),
            build,
        }
    }
}
