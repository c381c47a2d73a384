//! Where an Application's manifests come from: a git path or Helm chart, and how to render it.

use crate::Extra;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One source of an Application (`spec.source` or an item of `spec.sources`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSource {
    /// Git or Helm repository URL (or OCI reference).
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Directory inside the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Branch, tag, commit or Helm chart version; empty means `HEAD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// Helm chart name, when the repository is a Helm repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// Name other sources use as `$<ref>/…` to read files (values) from this one.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "ref")]
    pub reference: Option<String>,
    /// Display name of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    // The four kinds' options are boxed: a source sits in an app up to five times (spec,
    // comparedTo, operation, sync result, history), and inline they made an app 8 KB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<Box<HelmSource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<Box<KustomizeSource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<Box<DirectorySource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<Box<PluginSource>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// How a source is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Helm,
    Kustomize,
    Directory,
    Plugin,
    /// Nothing in the Application says; decided from the files (Chart.yaml, kustomization.yaml …).
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// Argo CD refuses a source with more than one of helm/kustomize/directory/plugin.
    #[error(
        "failed to decide how to render source {repo_url}: multiple application sources defined: {kinds}"
    )]
    MultipleKinds { repo_url: String, kinds: String },
}

impl ApplicationSource {
    /// How Argo CD renders this source when the Application says so: a chart is always Helm;
    /// otherwise the one helm/kustomize/directory/plugin block present; none means `Unknown`.
    pub fn kind(&self) -> Result<SourceKind, SourceError> {
        if self.chart.as_deref().is_some_and(|chart| !chart.is_empty()) {
            return Ok(SourceKind::Helm);
        }
        let declared: Vec<(SourceKind, &str)> = [
            (self.kustomize.is_some(), SourceKind::Kustomize, "Kustomize"),
            (self.helm.is_some(), SourceKind::Helm, "Helm"),
            (self.directory.is_some(), SourceKind::Directory, "Directory"),
            (self.plugin.is_some(), SourceKind::Plugin, "Plugin"),
        ]
        .into_iter()
        .filter(|(present, _, _)| *present)
        .map(|(_, kind, name)| (kind, name))
        .collect();
        match declared.as_slice() {
            [] => Ok(SourceKind::Unknown),
            [(kind, _)] => Ok(*kind),
            many => Err(SourceError::MultipleKinds {
                repo_url: self.repo_url.clone(),
                kinds: many
                    .iter()
                    .map(|(_, name)| *name)
                    .collect::<Vec<_>>()
                    .join(","),
            }),
        }
    }

    /// A source that only lends its files to others through `ref` (no path, no chart):
    /// Argo CD renders no manifests from it.
    pub fn is_ref_only(&self) -> bool {
        let blank = |field: &Option<String>| field.as_deref().is_none_or(str::is_empty);
        !blank(&self.reference) && blank(&self.path) && blank(&self.chart)
    }

    /// The revision to fetch, with Argo CD's default of `HEAD`.
    pub fn revision(&self) -> &str {
        match self.target_revision.as_deref() {
            Some(revision) if !revision.is_empty() => revision,
            _ => "HEAD",
        }
    }
}

/// `source.helm`: options for `helm template`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Values as a YAML string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
    /// Values as an object; wins over `values` when both are set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_object")]
    pub values_object: Option<Value>,
    /// Values files, relative to the chart or `$ref/…` into another source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_files: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<HelmParameter>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_parameters: Option<Vec<HelmFileParameter>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_crds: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_tests: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_schema_validation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_versions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_missing_value_files: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_credentials: Option<bool>,
    /// Helm major version (`v3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `helm.parameters[]`: a `--set` (or `--set-string` with `forceString`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmParameter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_string: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `helm.fileParameters[]`: a `--set-file`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmFileParameter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `source.kustomize`: overrides applied on top of the kustomization in the path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_suffix: Option<String>,
    /// Image overrides as kustomize writes them: `name=new:tag`, `name:tag`, `name@digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_common_labels: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_common_annotations: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<Vec<KustomizeReplica>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches: Option<Vec<KustomizePatch>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
    /// Kustomize version name configured in argocd-cm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `kustomize.replicas[]`: replica count override for a named workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeReplica {
    pub name: String,
    pub count: IntOrString,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `kustomize.patches[]`: an inline or file patch, optionally targeted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<KustomizeSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, bool>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Which objects a kustomize patch applies to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizeSelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `source.directory`: plain manifests (and Jsonnet) in the path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectorySource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurse: Option<bool>,
    /// Glob (or `{a,b}` list of globs) of files to include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// Glob (or `{a,b}` list of globs) of files to leave out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonnet: Option<JsonnetOptions>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `directory.jsonnet`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JsonnetOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_vars: Option<Vec<JsonnetVar>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlas: Option<Vec<JsonnetVar>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libs: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JsonnetVar {
    pub name: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `source.plugin`: a config management plugin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<PluginParameter>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvEntry {
    pub name: String,
    pub value: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `plugin.parameters[]`: a named string, map or array.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginParameter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source(value: Value) -> ApplicationSource {
        serde_json::from_value(value).expect("valid source")
    }

    #[test]
    fn kind_follows_argo_cd_detection() {
        let cases = [
            (
                json!({"repoURL": "https://charts.example", "chart": "redis"}),
                SourceKind::Helm,
            ),
            (
                json!({"repoURL": "r", "path": "p", "helm": {"releaseName": "x"}}),
                SourceKind::Helm,
            ),
            (
                json!({"repoURL": "r", "path": "p", "kustomize": {}}),
                SourceKind::Kustomize,
            ),
            (
                json!({"repoURL": "r", "path": "p", "directory": {"recurse": true}}),
                SourceKind::Directory,
            ),
            (
                json!({"repoURL": "r", "path": "p", "plugin": {"name": "cmp"}}),
                SourceKind::Plugin,
            ),
            (json!({"repoURL": "r", "path": "p"}), SourceKind::Unknown),
            // a chart is rendered by Helm whatever else is set
            (
                json!({"repoURL": "r", "chart": "c", "kustomize": {}}),
                SourceKind::Helm,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(source(input.clone()).kind(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn two_render_blocks_are_refused_like_argo_cd() {
        let both = source(json!({"repoURL": "r", "path": "p", "helm": {}, "kustomize": {}}));
        let err = both.kind().unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to decide how to render source r: multiple application sources defined: Kustomize,Helm"
        );
    }

    #[test]
    fn ref_only_sources_and_default_revision() {
        let values = source(json!({"repoURL": "https://git.example/values", "ref": "values"}));
        assert!(values.is_ref_only());
        assert_eq!(values.revision(), "HEAD");
        let chart =
            source(json!({"repoURL": "r", "chart": "c", "ref": "x", "targetRevision": "1.2.3"}));
        assert!(!chart.is_ref_only());
        assert_eq!(chart.revision(), "1.2.3");
    }
}
