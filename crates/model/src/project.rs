//! The AppProject resource: which repositories Applications may use, where they may deploy,
//! and which kinds of objects they may create.

use crate::Extra;
use crate::application::ApplicationDestination;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The desired state of an AppProject (the derive makes the `AppProject` root:
/// `argoproj.io/v1alpha1`, namespaced, short names `appproj`, `appprojs`).
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "AppProject",
    plural = "appprojects",
    namespaced,
    shortname = "appproj",
    shortname = "appprojs",
    status = "AppProjectStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "An Argo CD AppProject: the repositories, destinations and kinds its Applications may use."
)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectSpec {
    /// Repository URLs (globs, `!` to deny) Applications may take sources from; `*` for any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_repos: Option<Vec<String>>,
    /// Clusters and namespaces (globs, `!` to deny) Applications may deploy to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destinations: Option<Vec<ApplicationDestination>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<ProjectRole>>,
    /// Cluster-scoped kinds Applications may create; empty means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_resource_whitelist: Option<Vec<ResourceRestriction>>,
    /// Cluster-scoped kinds Applications may not create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_resource_blacklist: Option<Vec<ResourceRestriction>>,
    /// Namespaced kinds Applications may create; empty means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_resource_whitelist: Option<Vec<ResourceRestriction>>,
    /// Namespaced kinds Applications may not create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_resource_blacklist: Option<Vec<ResourceRestriction>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orphaned_resources: Option<OrphanedResourcesMonitorSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_windows: Option<Vec<SyncWindow>>,
    /// Namespaces (globs) outside the control namespace whose Applications may use this project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permit_only_project_scoped_clusters: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_service_accounts: Option<Vec<DestinationServiceAccount>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_keys: Option<Vec<SignatureKey>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_object")]
    pub source_integrity: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A group and kind (globs allowed) in a project's allow/deny lists. `name` (a glob on the
/// object name) is honoured by Argo CD in the cluster-scoped lists only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRestriction {
    pub group: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectRole {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Casbin policy lines, e.g. `p, proj:team:dev, applications, sync, team/*, allow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_tokens: Option<Vec<JwtToken>>,
    /// SSO groups bound to the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JwtToken {
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrphanedResourcesMonitorSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<OrphanedResourceKey>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrphanedResourceKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A time window (cron `schedule` + `duration`) in which syncs are allowed or denied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncWindow {
    /// `allow` or `deny`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applications: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_sync: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Match when all of applications/namespaces/clusters match, not any.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "andOperator"
    )]
    pub and_operator: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_overrun: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The service account to impersonate when deploying to a destination.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationServiceAccount {
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub default_service_account: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SignatureKey {
    #[serde(rename = "keyID")]
    pub key_id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectStatus {
    /// Issued JWT tokens per role name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_tokens_by_role: Option<BTreeMap<String, JwtTokens>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JwtTokens {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<JwtToken>>,
    #[serde(flatten)]
    pub extra: Extra,
}
