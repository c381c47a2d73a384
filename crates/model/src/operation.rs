//! `Application.operation`: a requested sync. A user (or the CLI, or the automated-sync
//! logic) writes it; the controller runs it, records it in `status.operationState`, and
//! removes it.

use crate::Extra;
use crate::application::Info;
use crate::source::ApplicationSource;
use crate::sync_options::SyncOptions;
use crate::sync_policy::RetryStrategy;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncOperation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<OperationInitiator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Vec<Info>>,
    /// How to retry this operation if it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Who started an operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationInitiator {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// True when started by the controller (automated sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperation {
    /// Revision to sync to (single source); empty means the app's target revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Revisions to sync to, one per source (multi-source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Sync options for this operation only, as in `syncPolicy.syncOptions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_options: Option<Vec<String>>,
    /// Sync only these objects (a partial sync); empty means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<SyncOperationResource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_strategy: Option<SyncStrategy>,
    /// Source override for this operation (single source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Source overrides for this operation (multi-source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<ApplicationSource>>,
    /// Manifests to apply instead of rendering the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Vec<String>>,
    /// Self-heal attempts so far (Argo CD's field name).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "autoHealAttemptsCount"
    )]
    pub self_heal_attempts_count: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl SyncOperation {
    /// The parsed `syncOptions` of this operation.
    pub fn options(&self) -> SyncOptions {
        SyncOptions::parse(self.sync_options.iter().flatten().map(String::as_str))
    }
}

/// One object selected for a partial sync.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `apply` (kubectl apply only) or `hook` (hooks and waves, Argo CD's default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStrategy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<SyncStrategyApply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<SyncStrategyApply>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStrategyApply {
    /// Delete and re-create objects whose apply fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}
