//! `Application.status`, written by the controller: comparison and health results, the
//! running or last operation, deploy history and conditions. Status codes use Argo CD's
//! strings so existing tooling (dashboards, `kubectl get app`) reads them unchanged.

use crate::Extra;
use crate::application::{ApplicationDestination, ResourceIgnoreDifferences};
use crate::operation::{Operation, OperationInitiator};
use crate::source::ApplicationSource;
use crate::sync_policy::ManagedNamespaceMetadata;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

string_enum! {
    /// Whether live objects match the desired ones (default Unknown: not compared yet).
    #[derive(Default)]
    SyncStatusCode {
        Synced => "Synced",
        OutOfSync => "OutOfSync",
        #[default]
        Unknown => "Unknown",
    }
}

string_enum! {
    /// Health of an object or of a whole Application.
    HealthStatusCode {
        Healthy => "Healthy",
        Progressing => "Progressing",
        Degraded => "Degraded",
        Suspended => "Suspended",
        Missing => "Missing",
        Unknown => "Unknown",
    }
}

impl HealthStatusCode {
    /// Rank used to pick the worst of several healths, as Argo CD aggregates them:
    /// Healthy < Suspended < Progressing < Missing < Degraded < Unknown.
    /// A code this version does not know ranks as Unknown.
    pub fn severity(&self) -> u8 {
        match self {
            Self::Healthy => 0,
            Self::Suspended => 1,
            Self::Progressing => 2,
            Self::Missing => 3,
            Self::Degraded => 4,
            Self::Unknown | Self::Other(_) => 5,
        }
    }

    pub fn is_worse_than(&self, other: &HealthStatusCode) -> bool {
        self.severity() > other.severity()
    }

    /// The worst of the given codes; Healthy when there are none. On a tie the first wins.
    pub fn worst<'a>(codes: impl IntoIterator<Item = &'a HealthStatusCode>) -> HealthStatusCode {
        codes
            .into_iter()
            .fold(HealthStatusCode::Healthy, |worst, code| {
                if code.is_worse_than(&worst) {
                    code.clone()
                } else {
                    worst
                }
            })
    }
}

string_enum! {
    /// Phase of an operation (and of a hook in a sync result).
    OperationPhase {
        Running => "Running",
        Terminating => "Terminating",
        Failed => "Failed",
        Error => "Error",
        Succeeded => "Succeeded",
    }
}

impl OperationPhase {
    /// True once the operation has stopped, whatever the outcome.
    pub fn is_completed(&self) -> bool {
        matches!(self, Self::Failed | Self::Error | Self::Succeeded)
    }
}

string_enum! {
    /// Outcome for one object in a sync.
    ResultCode {
        Synced => "Synced",
        SyncFailed => "SyncFailed",
        Pruned => "Pruned",
        PruneSkipped => "PruneSkipped",
    }
}

string_enum! {
    /// The hook phase an object runs in (`argocd.argoproj.io/hook`).
    HookType {
        PreSync => "PreSync",
        Sync => "Sync",
        PostSync => "PostSync",
        SyncFail => "SyncFail",
        Skip => "Skip",
        PreDelete => "PreDelete",
        PostDelete => "PostDelete",
    }
}

string_enum! {
    /// The phase of a sync an object was applied in.
    SyncPhase {
        PreSync => "PreSync",
        Sync => "Sync",
        PostSync => "PostSync",
        SyncFail => "SyncFail",
        PreDelete => "PreDelete",
        PostDelete => "PostDelete",
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    /// Every object the Application manages, with its sync and health status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ResourceStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    /// Past syncs, oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<RevisionHistory>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ApplicationCondition>>,
    /// When the Application was last compared with git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<Time>,
    /// Boxed: most of a status's size inline (3 KB), and most apps have none most of the time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_state: Option<Box<OperationState>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<Time>,
    /// `Helm`, `Kustomize`, `Directory` or `Plugin` as detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ApplicationSummary>,
    /// `appTree` when resource health lives outside the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_health_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_namespace: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One managed object in `status.resources`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SyncStatusCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_pruning: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_wave: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_deletion_confirmation: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub status: SyncStatusCode,
    /// What the comparison was made against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_to: Option<ComparedTo>,
    /// The resolved commit (single source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The resolved commits, one per source (multi-source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComparedTo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<ApplicationSource>>,
    pub destination: ApplicationDestination,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_differences: Option<Vec<ResourceIgnoreDifferences>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Health of the Application (`status.health`) or of one object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<HealthStatusCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One past sync in `status.history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionHistory {
    pub id: i64,
    pub deployed_at: Time,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_started_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<ApplicationSource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<OperationInitiator>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// driftless's own field on a history entry: the deletion hooks (`PreDelete`, `PostDelete`)
/// the deployed revision has, so that deleting the app needs no render of it when it has none.
/// A field Argo CD does not know (its CRD would drop it; then the revision is rendered).
const DELETION_HOOKS_FIELD: &str = "deletionHooks";

impl RevisionHistory {
    /// The deletion hook phases recorded for this deploy (`None`: nothing recorded).
    pub fn deletion_hooks(&self) -> Option<Vec<String>> {
        serde_json::from_value(self.extra.get(DELETION_HOOKS_FIELD)?.clone()).ok()
    }

    pub fn set_deletion_hooks(&mut self, phases: Vec<String>) {
        self.extra
            .insert(DELETION_HOOKS_FIELD.into(), serde_json::json!(phases));
    }
}

/// A problem or warning about the Application (`ComparisonError`, `SyncError`, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationCondition {
    #[serde(rename = "type")]
    pub condition_type: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The running or last operation and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationState {
    pub operation: Operation,
    pub phase: OperationPhase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_result: Option<SyncOperationResult>,
    pub started_at: Time,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResult {
    pub revision: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ResourceResult>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<ApplicationSource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// What happened to one object during a sync.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceResult {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ResultCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_type: Option<HookType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_phase: Option<OperationPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_phase: Option<SyncPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    /// The wave the object was applied in. Not in Argo CD's result (its schema keeps it): a
    /// client shows progress by wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_wave: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSummary {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "externalURLs"
    )]
    pub external_urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn worst_health_follows_argo_cd_order() {
        use HealthStatusCode::*;
        let order = [Healthy, Suspended, Progressing, Missing, Degraded, Unknown];
        for pair in order.windows(2) {
            assert!(
                pair[1].is_worse_than(&pair[0]),
                "{} should be worse than {}",
                pair[1],
                pair[0]
            );
        }
        assert_eq!(
            HealthStatusCode::worst(&[Healthy, Progressing, Suspended]),
            Progressing
        );
        assert_eq!(
            HealthStatusCode::worst(&[Missing, Degraded, Healthy]),
            Degraded
        );
        assert_eq!(HealthStatusCode::worst(&[]), Healthy);
        assert_eq!(
            HealthStatusCode::worst(&[Degraded, Other("Weird".into())]),
            Other("Weird".into())
        );
    }

    #[test]
    fn codes_use_argo_cd_strings_and_keep_unknown_ones() {
        let parsed: Vec<HealthStatusCode> =
            serde_json::from_value(json!(["Healthy", "Degraded", "Hibernating"])).unwrap();
        assert_eq!(
            parsed,
            [
                HealthStatusCode::Healthy,
                HealthStatusCode::Degraded,
                HealthStatusCode::Other("Hibernating".into())
            ]
        );
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            json!(["Healthy", "Degraded", "Hibernating"])
        );
        assert_eq!(SyncStatusCode::from("OutOfSync"), SyncStatusCode::OutOfSync);
        assert_eq!(
            OperationPhase::from("Terminating").to_string(),
            "Terminating"
        );
        assert!(OperationPhase::Error.is_completed());
        assert!(!OperationPhase::Running.is_completed());
        assert!(serde_json::from_value::<SyncStatusCode>(json!(3)).is_err());
    }
}
