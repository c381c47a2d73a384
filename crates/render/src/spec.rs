//! What to render, with every Argo CD default already resolved. These values (not the
//! Application) are what the render cache hashes, so two Applications that render the
//! same path the same way share one cache entry.

pub use crate::plugin::PluginOptions;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One source to render, as seen by the renderer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderParams {
    /// Path of the source inside its repository (`""` or `.` for the root).
    pub path: String,
    pub method: Method,
}

/// How the files are turned into objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Method {
    Directory(DirectoryOptions),
    Kustomize(KustomizeOptions),
    Helm(HelmOptions),
    /// A config management plugin.
    Plugin(PluginOptions),
}

impl Method {
    /// The step name used in error messages and in the cache key.
    pub fn step(&self) -> &'static str {
        match self {
            Method::Directory(_) => "read directory",
            Method::Kustomize(_) => "kustomize build",
            Method::Helm(_) => "helm template",
            Method::Plugin(_) => "config management plugin",
        }
    }

    /// False for plugins: a plugin may read any file of the repository (not only the paths
    /// the tree-id cache key covers), `ARGOCD_APP_REVISION` changes with every commit, and
    /// what it fetches from elsewhere is unknown. Keying on the commit instead would store
    /// one entry per commit and app; running the plugin on each render is the honest cost.
    pub fn cacheable(&self) -> bool {
        !matches!(self, Method::Plugin(_))
    }
}

/// `source.directory`: which files of the path are manifests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DirectoryOptions {
    pub recurse: bool,
    pub include: Option<String>,
    pub exclude: Option<String>,
    /// Left out of the cache key when empty, so keys of plain directories stay as they were.
    #[serde(skip_serializing_if = "JsonnetOptions::is_empty")]
    pub jsonnet: JsonnetOptions,
}

/// `directory.jsonnet`, with the build environment (`$ARGOCD_APP_NAME` …) already expanded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JsonnetOptions {
    pub ext_vars: Vec<JsonnetVar>,
    pub tlas: Vec<JsonnetVar>,
    /// Import search directories, relative to the repository root.
    pub libs: Vec<String>,
}

impl JsonnetOptions {
    pub fn is_empty(&self) -> bool {
        self.ext_vars.is_empty() && self.tlas.is_empty() && self.libs.is_empty()
    }
}

/// An external variable or top-level argument: a string, or Jsonnet code when `code`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JsonnetVar {
    pub name: String,
    pub value: String,
    pub code: bool,
}

/// `source.kustomize`: edits made to a copy of the kustomization before the build.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KustomizeOptions {
    pub name_prefix: Option<String>,
    pub name_suffix: Option<String>,
    /// Argo CD image strings: `name=newName:tag`, `name:tag`, `name@digest` …
    pub images: Vec<String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    pub force_common_labels: bool,
    pub force_common_annotations: bool,
    /// Write the labels to `labels[].pairs` (not selectors), like `--without-selector`.
    pub label_without_selector: bool,
    /// With `label_without_selector`: also label pod templates (`--include-templates`).
    pub label_include_templates: bool,
    pub namespace: Option<String>,
    pub replicas: Vec<Replica>,
    /// Appended to the kustomization's `patches`, as written in the Application.
    pub patches: Vec<Value>,
    pub components: Vec<String>,
    pub ignore_missing_components: bool,
}

impl KustomizeOptions {
    /// True when the kustomization must be edited before the build.
    pub fn has_edits(&self) -> bool {
        self.name_prefix.as_deref().is_some_and(|s| !s.is_empty())
            || self.name_suffix.as_deref().is_some_and(|s| !s.is_empty())
            || !self.images.is_empty()
            || !self.common_labels.is_empty()
            || !self.common_annotations.is_empty()
            || self.namespace.as_deref().is_some_and(|s| !s.is_empty())
            || !self.replicas.is_empty()
            || !self.patches.is_empty()
            || !self.components.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    pub name: String,
    pub count: i64,
}

/// `source.helm`, resolved: the release name and namespace are always set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HelmOptions {
    pub release_name: String,
    pub namespace: String,
    /// `valuesObject` (as YAML) or else `values`; passed after the value files.
    pub values: Option<String>,
    /// Relative to the chart path, or `$<ref>/<path>` into another source.
    pub value_files: Vec<String>,
    pub parameters: Vec<HelmParameter>,
    pub file_parameters: Vec<HelmFileParameter>,
    pub skip_crds: bool,
    pub skip_tests: bool,
    pub skip_schema_validation: bool,
    pub kube_version: Option<String>,
    pub api_versions: Vec<String>,
    pub ignore_missing_value_files: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmParameter {
    pub name: String,
    pub value: String,
    pub force_string: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelmFileParameter {
    pub name: String,
    pub path: String,
}
