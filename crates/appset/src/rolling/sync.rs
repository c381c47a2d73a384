//! Under a `RollingSync` with steps the ApplicationSet, not the Application controller,
//! decides when each Application syncs, as in Argo CD: the generated Applications are written
//! with `syncPolicy.automated.enabled: false` (the rest of the block stays), and a sync is
//! started by writing an `operation` on the Application, the way `argocd app sync` does.

use super::Rollout;
use driftless_model::application::Info;
use driftless_model::operation::SyncOperation;
use driftless_model::{
    ApplicationSetSpec, Operation, OperationInitiator, RetryStrategy, SyncPolicy,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;
use std::borrow::Cow;

/// Who the operation says started it (Argo CD's value).
pub const INITIATOR: &str = "applicationset-controller";
/// Argo CD's reason for the sync, in `operation.info`.
pub const REASON: &str = "ApplicationSet RollingSync triggered a sync of this Application resource";
/// The `operation.info` entry naming the Pending transition the sync is for.
pub const PENDING_SINCE: &str = "Pending since";
/// Argo CD's retry limit for a rollout's sync when the app sets no `syncPolicy.retry`.
pub const DEFAULT_RETRY_LIMIT: i64 = 5;

/// The generated Applications as they are to be written: with automated sync turned off
/// when the strategy is a `RollingSync` with steps, unchanged otherwise.
pub fn without_automated_sync<'a>(
    spec: &ApplicationSetSpec,
    generated: &'a [Value],
) -> Cow<'a, [Value]> {
    if !matches!(Rollout::of(spec), Rollout::Steps(_)) {
        return Cow::Borrowed(generated);
    }
    let mut apps = generated.to_vec();
    apps.iter_mut().for_each(disable_automated);
    Cow::Owned(apps)
}

/// Sets `enabled: false` in an `automated` block, if there is one.
pub fn disable_automated(app: &mut Value) {
    if let Some(automated) = app
        .pointer_mut("/spec/syncPolicy/automated")
        .and_then(Value::as_object_mut)
    {
        automated.insert("enabled".into(), Value::Bool(false));
    }
}

/// The operation that starts the rollout's sync of `app` (as generated: prune follows its
/// automated policy as the template wrote it), with its sync options and retry.
///
/// Besides Argo CD's `Reason`, `info` names the moment the app became Pending: driftless'
/// Application controller takes a requested operation equal to the last one it ran as
/// already done, and every rollout would otherwise ask for the same one.
pub fn operation(app: &Value, pending_since: Option<&Time>) -> Operation {
    let policy: SyncPolicy =
        serde_json::from_value(app["spec"]["syncPolicy"].clone()).unwrap_or_default();
    let prune = policy.is_automated()
        && policy
            .automated
            .as_ref()
            .and_then(|a| a.prune)
            .unwrap_or(false);
    let mut info = vec![entry("Reason", REASON)];
    if let Some(since) = pending_since.and_then(|t| serde_json::to_value(t).ok()) {
        info.push(entry(PENDING_SINCE, since.as_str().unwrap_or_default()));
    }
    Operation {
        sync: Some(SyncOperation {
            prune: prune.then_some(true),
            sync_options: policy.sync_options.clone(),
            ..SyncOperation::default()
        }),
        initiated_by: Some(OperationInitiator {
            username: Some(INITIATOR.into()),
            automated: Some(true),
            ..OperationInitiator::default()
        }),
        info: Some(info),
        retry: Some(policy.retry.clone().unwrap_or(RetryStrategy {
            limit: Some(DEFAULT_RETRY_LIMIT),
            ..RetryStrategy::default()
        })),
        ..Operation::default()
    }
}

fn entry(name: &str, value: &str) -> Info {
    Info {
        name: name.into(),
        value: value.into(),
        extra: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn app(policy: Value) -> Value {
        json!({"metadata": {"name": "a"}, "spec": {"syncPolicy": policy}})
    }

    #[test]
    fn automated_is_kept_but_disabled() {
        let mut a = app(json!({"automated": {"prune": true}}));
        disable_automated(&mut a);
        assert_eq!(
            a["spec"]["syncPolicy"],
            json!({"automated": {"prune": true, "enabled": false}})
        );
        let mut manual = app(json!({"syncOptions": ["CreateNamespace=true"]}));
        disable_automated(&mut manual);
        assert_eq!(
            manual,
            app(json!({"syncOptions": ["CreateNamespace=true"]}))
        );
    }

    #[test]
    fn the_operation_carries_prune_options_and_retry() {
        let since: Time = serde_json::from_value(json!("2026-01-02T03:04:05Z")).unwrap();
        let a = app(
            json!({"automated": {"prune": true}, "syncOptions": ["ServerSideApply=true"],
            "retry": {"limit": 2}}),
        );
        assert_eq!(
            serde_json::to_value(operation(&a, Some(&since))).unwrap(),
            json!({
                "sync": {"prune": true, "syncOptions": ["ServerSideApply=true"]},
                "initiatedBy": {"username": "applicationset-controller", "automated": true},
                "info": [{"name": "Reason", "value": REASON},
                         {"name": "Pending since", "value": "2026-01-02T03:04:05Z"}],
                "retry": {"limit": 2},
            })
        );
    }

    #[test]
    fn prune_needs_enabled_automated_sync_and_retry_defaults_to_five() {
        let disabled = app(json!({"automated": {"prune": true, "enabled": false}}));
        let op = operation(&disabled, None);
        assert_eq!(op.sync.unwrap().prune, None);
        assert_eq!(op.retry.unwrap().limit, Some(5));
        assert_eq!(op.info.unwrap().len(), 1);
    }
}
