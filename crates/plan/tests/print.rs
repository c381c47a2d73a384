//! The printed plan, as `driftless sync --dry-run` shows it.

#![allow(clippy::unwrap_used)]

use driftless_plan::{PlanInput, plan_sync};
use pretty_assertions::assert_eq;
use serde_json::json;

#[test]
fn plan_prints_as_a_table_grouped_by_phase_and_wave() {
    let plan = plan_sync(&PlanInput {
        app_name: "shop".into(),
        desired: vec![
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "shop",
                "annotations": {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"}}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop",
                "annotations": {"argocd.argoproj.io/sync-options": "ServerSideApply=true"}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop",
                "annotations": {"argocd.argoproj.io/sync-wave": "-1"}}}),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "alert", "namespace": "shop",
                "annotations": {"argocd.argoproj.io/hook": "SyncFail"}}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t", "namespace": "shop",
                "annotations": {"helm.sh/hook": "test"}}}),
        ],
        live: vec![json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "old", "namespace": "shop",
            "annotations": {"argocd.argoproj.io/sync-options": "Prune=false"}}})],
        prune: true,
        dry_run: true,
        sync_options: vec!["CreateNamespace=true".into()],
        destination_namespace: "shop".into(),
        ..PlanInput::default()
    })
    .unwrap();
    let expected = "\
Sync plan for app shop (dry run)
PreSync wave 0
  create-namespace  Namespace        shop
  hook              batch/Job        shop/migrate  delete: HookSucceeded
Sync wave -1
  create            ConfigMap        shop/cfg
Sync wave 0
  prune-skipped     Secret           shop/old      ignored (no prune)
  create            apps/Deployment  shop/web      ServerSideApply
SyncFail wave 0 (only if the sync fails)
  hook              batch/Job        shop/alert    delete: BeforeHookCreation
Ignored:
  /Pod/shop/t: hook of no supported type: never run
Warnings:
  /Pod/shop/t: hook type test is not supported; ignored
";
    assert_eq!(plan.to_string(), expected);
}

#[test]
fn an_empty_plan_says_so() {
    let plan = plan_sync(&PlanInput {
        app_name: "empty".into(),
        ..PlanInput::default()
    })
    .unwrap();
    assert_eq!(
        plan.to_string(),
        "Sync plan for app empty\n  nothing to do\n"
    );
}
