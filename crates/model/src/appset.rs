//! The ApplicationSet resource: generators produce parameter sets, each one fills the
//! template into an Application. Generators are typed where the shape is simple (git, list)
//! and otherwise kept as JSON until the generator engine needs more.

use crate::Extra;
use crate::application::ApplicationSpec;
use crate::status::{HealthStatus, ResourceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The desired state of an ApplicationSet (the derive makes the `ApplicationSet` root:
/// `argoproj.io/v1alpha1`, namespaced, short names `appset`, `appsets`, status subresource).
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "ApplicationSet",
    plural = "applicationsets",
    namespaced,
    shortname = "appset",
    shortname = "appsets",
    status = "ApplicationSetStatus",
    derive = "PartialEq",
    doc = "An Argo CD ApplicationSet: generators fill a template into Applications."
)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetSpec {
    pub generators: Vec<ApplicationSetGenerator>,
    pub template: ApplicationSetTemplate,
    /// A template (after parameter substitution) merged over `template`; needs `goTemplate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_patch: Option<String>,
    /// Use Go templates (`{{ .path.basename }}`) instead of `{{path.basename}}` substitution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_template: Option<bool>,
    /// Go template options, e.g. `missingkey=error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_template_options: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<ApplicationSetSyncPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<ApplicationSetStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserved_fields: Option<ApplicationPreservedFields>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_nested_selectors: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_application_differences: Option<Vec<ApplicationSetIgnoreDifferences>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The Application every parameter set is rendered into.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetTemplate {
    pub metadata: ApplicationSetTemplateMeta,
    pub spec: ApplicationSpec,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetTemplateMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalizers: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of `spec.generators`; exactly one generator field is expected to be set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetGenerator {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListGenerator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitGenerator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_object")]
    pub clusters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_object")]
    pub matrix: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_object")]
    pub merge: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_object")]
    pub scm_provider: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_object")]
    pub cluster_decision_resource: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_object")]
    pub pull_request: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_object")]
    pub plugin: Option<Value>,
    /// A label selector (`matchLabels`, `matchExpressions`) over the parameter sets; kept as
    /// JSON so unknown fields survive (read it as a k8s `LabelSelector` when applying it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_object")]
    pub selector: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `list`: literal parameter sets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListGenerator {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_list")]
    pub elements: Option<Vec<Value>>,
    /// Elements as a YAML string (usually templated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements_yaml: Option<String>,
    /// Per-generator template override (partial; merged over `spec.template`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_object")]
    pub template: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `git`: one parameter set per matching directory or per matching JSON/YAML file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitGenerator {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    pub revision: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directories: Option<Vec<GitPathItem>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<GitPathItem>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requeue_after_seconds: Option<i64>,
    /// Prefix for the `path` parameters (`<prefix>.path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_param_prefix: Option<String>,
    /// Extra parameters added to every set, under `values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_object")]
    pub template: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A path glob in a git generator; `exclude` removes matches of earlier items.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitPathItem {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

string_enum! {
    /// What the ApplicationSet controller may do to the Applications it generated.
    ApplicationsSyncPolicy {
        CreateOnly => "create-only",
        CreateUpdate => "create-update",
        CreateDelete => "create-delete",
        Sync => "sync",
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetSyncPolicy {
    /// Keep the Applications' resources when the ApplicationSet deletes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_resources_on_deletion: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applications_sync: Option<ApplicationsSyncPolicy>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `strategy`: `AllAtOnce` (default) or `RollingSync` in steps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetStrategy {
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub strategy_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_sync: Option<RollingSyncStrategy>,
    /// `AllAtOnce` or `Reverse` (of the rolling steps) when deleting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_order: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollingSyncStrategy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<RollingSyncStep>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollingSyncStep {
    /// Applications whose labels match go in this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<ApplicationMatchExpression>>,
    /// How many (or what percentage) of the step's Applications sync at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_update: Option<IntOrString>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationMatchExpression {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Annotations and labels of generated Applications that the controller leaves alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationPreservedFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Parts of generated Applications not overwritten by the controller.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetIgnoreDifferences {
    /// Application name; empty means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_pointers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jq_path_expressions: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ApplicationSetCondition>>,
    /// Progress of each generated Application under a rolling sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_status: Option<Vec<ApplicationSetApplicationStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ResourceStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetCondition {
    #[serde(rename = "type")]
    pub condition_type: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSetApplicationStatus {
    pub application: String,
    pub message: String,
    pub status: String,
    pub step: String,
    pub target_revisions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(flatten)]
    pub extra: Extra,
}
