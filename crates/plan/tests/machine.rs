//! The sync state machine driven the way a controller drives it, including a restart
//! (state saved as JSON, read back) in the middle of a sync.

#![allow(clippy::unwrap_used)]

use driftless_model::ResourceKey;
use driftless_model::status::{HealthStatusCode, OperationPhase, ResultCode};
use driftless_plan::{
    DeletionInput, Next, Observed, Phase, Plan, PlanInput, Report, RunPhase, Step, SyncState,
    WaveId, next, plan_deletion, plan_sync,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn cm(name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "shop", "annotations": annotations}})
}

fn deploy(name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop", "annotations": annotations}})
}

fn job(name: &str, annotations: Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "shop", "annotations": annotations}})
}

fn key(kind_path: &str, name: &str) -> ResourceKey {
    let (group, kind) = kind_path.split_once('/').unwrap_or(("", kind_path));
    ResourceKey::new(group, kind, "shop", name)
}

fn sync_plan(desired: Vec<Value>, live: Vec<Value>, prune: bool) -> Plan {
    plan_sync(&PlanInput {
        app_name: "shop".into(),
        desired,
        live,
        prune,
        destination_namespace: "shop".into(),
        ..PlanInput::default()
    })
    .unwrap()
}

fn names(steps: &[Step]) -> Vec<String> {
    steps.iter().map(|s| s.key.name.clone()).collect()
}

fn applied(steps: &[Step]) -> Observed {
    Observed {
        results: steps.iter().map(|s| Report::ok(s, "applied")).collect(),
        ..Observed::default()
    }
}

fn healthy(keys: &[ResourceKey]) -> Observed {
    Observed {
        health: keys
            .iter()
            .map(|k| (k.clone(), HealthStatusCode::Healthy))
            .collect(),
        ..Observed::default()
    }
}

fn hooks_done(keys: &[ResourceKey], phase: OperationPhase) -> Observed {
    Observed {
        hooks: keys.iter().map(|k| (k.clone(), phase.clone())).collect(),
        ..Observed::default()
    }
}

/// What a controller does on restart: read the saved state back.
fn restart(state: &SyncState) -> SyncState {
    let saved = serde_json::to_string(state).unwrap();
    serde_json::from_str(&saved).unwrap()
}

fn wave(phase: Phase, wave: i32) -> WaveId {
    WaveId { phase, wave }
}

#[test]
fn three_waves_run_in_order_and_a_restart_resumes_at_the_next_wave() {
    let plan = sync_plan(
        vec![
            cm("a", json!({"argocd.argoproj.io/sync-wave": "-1"})),
            deploy("web", json!({})),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop",
                "annotations": {"argocd.argoproj.io/sync-wave": "1"}}}),
        ],
        vec![],
        false,
    );
    let mut state = SyncState::new();

    let Next::Apply { steps } = next(&plan, &mut state, &Observed::default()) else {
        panic!("expected apply")
    };
    assert_eq!(names(&steps), ["a"]);
    let Next::Wait {
        healthy: waiting,
        hooks,
        deleted,
    } = next(&plan, &mut state, &applied(&steps))
    else {
        panic!("expected wait")
    };
    assert_eq!(
        (waiting.clone(), hooks, deleted),
        (vec![key("ConfigMap", "a")], vec![], vec![])
    );
    let Next::Apply { steps } = next(&plan, &mut state, &healthy(&waiting)) else {
        panic!("expected apply")
    };
    assert_eq!(names(&steps), ["web"]);
    assert_eq!(state.completed, [wave(Phase::Sync, -1)]);

    // The controller dies after saving the state, before applying wave 0.
    let mut state = restart(&state);
    let Next::Apply { steps } = next(&plan, &mut state, &Observed::default()) else {
        panic!("expected apply")
    };
    assert_eq!(
        names(&steps),
        ["web"],
        "resumes at wave 0, wave -1 is not run again"
    );

    let Next::Wait {
        healthy: waiting, ..
    } = next(&plan, &mut state, &applied(&steps))
    else {
        panic!("expected wait")
    };
    assert_eq!(waiting, [key("apps/Deployment", "web")]);
    let progressing = Observed {
        health: vec![(key("apps/Deployment", "web"), HealthStatusCode::Progressing)],
        ..Observed::default()
    };
    assert!(matches!(
        next(&plan, &mut state, &progressing),
        Next::Wait { .. }
    ));
    assert_eq!(
        state.message,
        "waiting for healthy state of apps/Deployment/shop/web"
    );

    // Dies again while waiting: the wait is asked again, nothing is re-applied.
    let mut state = restart(&state);
    let again = next(&plan, &mut state, &Observed::default());
    assert_eq!(
        again,
        Next::Wait {
            healthy: vec![key("apps/Deployment", "web")],
            hooks: vec![],
            deleted: vec![]
        }
    );

    let Next::Apply { steps } = next(&plan, &mut state, &healthy(&waiting)) else {
        panic!("expected apply")
    };
    assert_eq!(names(&steps), ["web"]);
    assert_eq!(steps[0].key.kind, "Service");
    // The last wave is not waited for: the sync is done once it is applied.
    assert_eq!(
        next(&plan, &mut state, &applied(&steps)),
        Next::Done(RunPhase::Succeeded)
    );
    assert_eq!(
        state.completed,
        [
            wave(Phase::Sync, -1),
            wave(Phase::Sync, 0),
            wave(Phase::Sync, 1)
        ]
    );
    assert_eq!(state.step_results.len(), 3);
    assert!(
        state
            .step_results
            .values()
            .all(|r| r.status == ResultCode::Synced)
    );
    assert_eq!(
        next(&plan, &mut state, &Observed::default()),
        Next::Done(RunPhase::Succeeded)
    );
}

#[test]
fn unreported_actions_are_asked_again() {
    let plan = sync_plan(vec![cm("a", json!({})), cm("b", json!({}))], vec![], false);
    let mut state = SyncState::new();
    let Next::Apply { steps } = next(&plan, &mut state, &Observed::default()) else {
        panic!("expected apply")
    };
    assert_eq!(names(&steps), ["a", "b"]);
    let only_a = Observed {
        results: vec![Report::ok(&steps[0], "created")],
        ..Observed::default()
    };
    let Next::Apply { steps: rest } = next(&plan, &mut state, &only_a) else {
        panic!("expected apply")
    };
    assert_eq!(names(&rest), ["b"]);
    assert_eq!(
        next(&plan, &mut state, &applied(&rest)),
        Next::Done(RunPhase::Succeeded)
    );
}

#[test]
fn a_failed_apply_runs_sync_fail_hooks_and_deletes_hooks_marked_hook_failed() {
    let plan = sync_plan(
        vec![
            job(
                "migrate",
                json!({"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"}),
            ),
            cm("a", json!({})),
            deploy("web", json!({"argocd.argoproj.io/sync-wave": "1"})),
            job(
                "notify",
                json!({"argocd.argoproj.io/hook": "SyncFail", "argocd.argoproj.io/hook-delete-policy": "HookFailed"}),
            ),
        ],
        vec![],
        false,
    );
    let mut state = SyncState::new();
    let Next::RunHooks { steps } = next(&plan, &mut state, &Observed::default()) else {
        panic!("expected hooks")
    };
    assert_eq!(names(&steps), ["migrate"]);
    let Next::Wait { hooks, .. } = next(&plan, &mut state, &applied(&steps)) else {
        panic!("expected wait")
    };
    assert_eq!(hooks, [key("batch/Job", "migrate")]);
    assert_eq!(
        state.message,
        "waiting for completion of hook batch/Job/shop/migrate"
    );
    let Next::Apply { steps } = next(
        &plan,
        &mut state,
        &hooks_done(&hooks, OperationPhase::Succeeded),
    ) else {
        panic!("expected apply")
    };
    assert_eq!(names(&steps), ["a"]);

    let denied = Observed {
        results: vec![Report::failed(&steps[0], "admission webhook denied")],
        ..Observed::default()
    };
    let Next::RunHooks { steps } = next(&plan, &mut state, &denied) else {
        panic!("expected SyncFail hooks")
    };
    assert_eq!(names(&steps), ["notify"]);
    assert_eq!(steps[0].phase, Phase::SyncFail);
    let Next::Wait { hooks, .. } = next(&plan, &mut state, &applied(&steps)) else {
        panic!("expected wait")
    };
    assert_eq!(hooks, [key("batch/Job", "notify")]);
    let Next::DeleteHooks { steps } = next(
        &plan,
        &mut state,
        &hooks_done(&hooks, OperationPhase::Succeeded),
    ) else {
        panic!("expected hook clean-up")
    };
    assert_eq!(
        names(&steps),
        ["notify"],
        "only HookFailed hooks are deleted after a failure"
    );
    assert_eq!(
        next(&plan, &mut state, &applied(&steps)),
        Next::Done(RunPhase::Failed)
    );
    assert!(
        state
            .message
            .contains("/ConfigMap/shop/a: admission webhook denied"),
        "{}",
        state.message
    );
    let web = plan.steps.iter().find(|s| s.key.name == "web").unwrap();
    assert!(
        state.result(web).is_none(),
        "nothing after the failed wave is applied"
    );
}

#[test]
fn a_degraded_object_fails_the_sync_for_good() {
    let plan = sync_plan(
        vec![
            deploy("web", json!({"argocd.argoproj.io/sync-wave": "-1"})),
            cm("after", json!({})),
        ],
        vec![],
        false,
    );
    let mut state = SyncState::new();
    let Next::Apply { steps } = next(&plan, &mut state, &Observed::default()) else {
        panic!("expected apply")
    };
    let Next::Wait {
        healthy: waiting, ..
    } = next(&plan, &mut state, &applied(&steps))
    else {
        panic!("expected wait")
    };
    let degraded = Observed {
        health: vec![(waiting[0].clone(), HealthStatusCode::Degraded)],
        ..Observed::default()
    };
    assert_eq!(
        next(&plan, &mut state, &degraded),
        Next::Done(RunPhase::Failed)
    );
    assert!(
        state.message.contains("apps/Deployment/shop/web: Degraded"),
        "{}",
        state.message
    );
    assert_eq!(
        next(&plan, &mut state, &healthy(&waiting)),
        Next::Done(RunPhase::Failed)
    );
}

#[test]
fn prunes_run_before_applies_and_are_waited_for_then_succeeded_hooks_are_deleted() {
    let plan = sync_plan(
        vec![
            cm("new", json!({})),
            job(
                "smoke",
                json!({"argocd.argoproj.io/hook": "PostSync", "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"}),
            ),
        ],
        vec![cm("old", json!({}))],
        true,
    );
    let mut state = SyncState::new();
    let Next::Prune { steps } = next(&plan, &mut state, &Observed::default()) else {
        panic!("expected prune")
    };
    assert_eq!(names(&steps), ["old"]);
    let Next::Apply { steps } = next(&plan, &mut state, &applied(&steps)) else {
        panic!("expected apply")
    };
    assert_eq!(names(&steps), ["new"]);
    let wait = next(&plan, &mut state, &applied(&steps));
    assert_eq!(
        wait,
        Next::Wait {
            healthy: vec![key("ConfigMap", "new")],
            hooks: vec![],
            deleted: vec![key("ConfigMap", "old")]
        }
    );
    let still_deleting = next(&plan, &mut state, &healthy(&[key("ConfigMap", "new")]));
    assert_eq!(
        still_deleting,
        Next::Wait {
            healthy: vec![],
            hooks: vec![],
            deleted: vec![key("ConfigMap", "old")]
        }
    );
    let gone = Observed {
        deleted: vec![key("ConfigMap", "old")],
        ..Observed::default()
    };
    let Next::RunHooks { steps } = next(&plan, &mut state, &gone) else {
        panic!("expected hooks")
    };
    assert_eq!(
        (names(&steps), steps[0].phase),
        (vec!["smoke".to_string()], Phase::PostSync)
    );
    let Next::Wait { hooks, .. } = next(&plan, &mut state, &applied(&steps)) else {
        panic!("expected wait")
    };
    let Next::DeleteHooks { steps } = next(
        &plan,
        &mut state,
        &hooks_done(&hooks, OperationPhase::Succeeded),
    ) else {
        panic!("expected hook clean-up")
    };
    assert_eq!(names(&steps), ["smoke"]);
    assert_eq!(
        next(&plan, &mut state, &applied(&steps)),
        Next::Done(RunPhase::Succeeded)
    );

    let old = plan.steps.iter().find(|s| s.key.name == "old").unwrap();
    assert_eq!(state.result(old).unwrap().status, ResultCode::Pruned);
    let smoke = plan.steps.iter().find(|s| s.key.name == "smoke").unwrap();
    let smoke = state.result(smoke).unwrap();
    assert_eq!(
        (smoke.hook_phase.clone(), smoke.hook_deleted),
        (Some(OperationPhase::Succeeded), Some(true))
    );
}

#[test]
fn a_failed_hook_fails_the_sync() {
    let plan = sync_plan(
        vec![
            job("migrate", json!({"argocd.argoproj.io/hook": "PreSync"})),
            cm("a", json!({})),
        ],
        vec![],
        false,
    );
    let mut state = SyncState::new();
    let Next::RunHooks { steps } = next(&plan, &mut state, &Observed::default()) else {
        panic!("expected hooks")
    };
    let Next::Wait { hooks, .. } = next(&plan, &mut state, &applied(&steps)) else {
        panic!("expected wait")
    };
    assert_eq!(
        next(
            &plan,
            &mut state,
            &hooks_done(&hooks, OperationPhase::Failed)
        ),
        Next::Done(RunPhase::Failed)
    );
    assert!(
        state
            .message
            .contains("batch/Job/shop/migrate: hook failed"),
        "{}",
        state.message
    );
}

#[test]
fn kept_and_unchanged_objects_are_recorded_without_asking_the_caller() {
    let plan = plan_sync(&PlanInput {
        app_name: "shop".into(),
        desired: vec![cm("same", json!({}))],
        live: vec![
            cm("same", json!({})),
            cm(
                "precious",
                json!({"argocd.argoproj.io/sync-options": "Prune=false"}),
            ),
        ],
        sync_options: vec!["ApplyOutOfSyncOnly=true".into()],
        prune: true,
        destination_namespace: "shop".into(),
        ..PlanInput::default()
    })
    .unwrap();
    let mut state = SyncState::new();
    assert_eq!(
        next(&plan, &mut state, &Observed::default()),
        Next::Done(RunPhase::Succeeded)
    );
    assert_eq!(state.completed, [wave(Phase::Sync, 0)]);
    let results: Vec<(String, ResultCode, String)> = state
        .step_results
        .values()
        .map(|r| (r.key.name.clone(), r.status.clone(), r.message.clone()))
        .collect();
    assert_eq!(
        results,
        [
            (
                "precious".to_string(),
                ResultCode::PruneSkipped,
                "ignored (no prune)".to_string()
            ),
            (
                "same".to_string(),
                ResultCode::Synced,
                "skipped: in sync (ApplyOutOfSyncOnly)".to_string()
            ),
        ]
    );
}

#[test]
fn a_dry_run_waits_for_nothing_and_deletes_no_hooks() {
    let plan = plan_sync(&PlanInput {
        app_name: "shop".into(),
        desired: vec![
            job("migrate", json!({"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"})),
            cm("a", json!({})),
            cm("b", json!({"argocd.argoproj.io/sync-wave": "1"})),
        ],
        dry_run: true,
        destination_namespace: "shop".into(),
        ..PlanInput::default()
    })
    .unwrap();
    let mut state = SyncState::new();
    let mut asked = Vec::new();
    let mut observed = Observed::default();
    loop {
        match next(&plan, &mut state, &observed) {
            Next::Done(phase) => {
                assert_eq!(phase, RunPhase::Succeeded);
                break;
            }
            Next::Apply { steps } | Next::RunHooks { steps } => {
                asked.extend(names(&steps));
                observed = applied(&steps);
            }
            other => panic!("a dry run asked for {other:?}"),
        }
    }
    assert_eq!(asked, ["migrate", "a", "b"]);
}

#[test]
fn a_saved_state_that_does_not_fit_the_plan_fails_cleanly() {
    let plan = sync_plan(
        vec![
            cm("a", json!({})),
            cm("b", json!({"argocd.argoproj.io/sync-wave": "1"})),
        ],
        vec![],
        false,
    );
    let mut state = SyncState::new();
    let Next::Apply { .. } = next(&plan, &mut state, &Observed::default()) else {
        panic!("expected apply")
    };
    let other_plan = sync_plan(
        vec![cm("a", json!({"argocd.argoproj.io/sync-wave": "7"}))],
        vec![],
        false,
    );
    assert_eq!(
        next(&other_plan, &mut state, &Observed::default()),
        Next::Done(RunPhase::Failed)
    );
    assert!(
        state.message.contains("does not match the plan"),
        "{}",
        state.message
    );
}

#[test]
fn app_deletion_runs_pre_delete_hooks_deletes_waits_then_post_delete_hooks() {
    let plan = plan_deletion(&DeletionInput {
        app_name: "shop".into(),
        desired: vec![
            job("pre", json!({"argocd.argoproj.io/hook": "PreDelete"})),
            job("post", json!({"argocd.argoproj.io/hook": "PostDelete", "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"})),
        ],
        live: vec![deploy("web", json!({})), cm("kept", json!({"argocd.argoproj.io/sync-options": "Delete=false"}))],
        destination_namespace: "shop".into(),
        ..DeletionInput::default()
    })
    .unwrap();
    let mut state = SyncState::new();
    let Next::RunHooks { steps } = next(&plan, &mut state, &Observed::default()) else {
        panic!("expected hooks")
    };
    assert_eq!(names(&steps), ["pre"]);
    let Next::Wait { hooks, .. } = next(&plan, &mut state, &applied(&steps)) else {
        panic!("expected wait")
    };
    let Next::Prune { steps } = next(
        &plan,
        &mut state,
        &hooks_done(&hooks, OperationPhase::Succeeded),
    ) else {
        panic!("expected deletes")
    };
    assert_eq!(
        names(&steps),
        ["web"],
        "Delete=false objects are never asked to be deleted"
    );
    let Next::Wait { deleted, .. } = next(&plan, &mut state, &applied(&steps)) else {
        panic!("expected wait")
    };
    assert_eq!(deleted, [key("apps/Deployment", "web")]);
    let gone = Observed {
        deleted: deleted.clone(),
        ..Observed::default()
    };
    let Next::RunHooks { steps } = next(&plan, &mut state, &gone) else {
        panic!("expected hooks")
    };
    assert_eq!(names(&steps), ["post"]);
    let Next::Wait { hooks, .. } = next(&plan, &mut state, &applied(&steps)) else {
        panic!("expected wait")
    };
    let Next::DeleteHooks { steps } = next(
        &plan,
        &mut state,
        &hooks_done(&hooks, OperationPhase::Succeeded),
    ) else {
        panic!("expected hook clean-up")
    };
    assert_eq!(names(&steps), ["post"]);
    assert_eq!(
        next(&plan, &mut state, &applied(&steps)),
        Next::Done(RunPhase::Succeeded)
    );
    assert_eq!(state.message, "app objects deleted");
}

/// Plans of one wave of plain objects, of two waves, with a hook, and with a prune.
fn plans_by_shape() -> [Plan; 4] {
    [
        sync_plan(
            vec![cm("a", json!({})), deploy("web", json!({}))],
            vec![],
            false,
        ),
        sync_plan(
            vec![
                cm("a", json!({"argocd.argoproj.io/sync-wave": "-1"})),
                deploy("web", json!({})),
            ],
            vec![],
            false,
        ),
        sync_plan(
            vec![
                cm("a", json!({})),
                job("migrate", json!({"argocd.argoproj.io/hook": "PreSync"})),
            ],
            vec![],
            false,
        ),
        sync_plan(vec![cm("a", json!({}))], vec![cm("old", json!({}))], true),
    ]
}

#[test]
fn a_dry_run_is_asked_for_only_where_a_rejected_object_would_leave_something_half_done() {
    let [plain, waves, hook, prune] = plans_by_shape();
    assert!(
        !plain.dry_run_guards_anything(),
        "one wave of plain objects"
    );
    assert!(
        waves.dry_run_guards_anything(),
        "an earlier wave is applied first"
    );
    assert!(hook.dry_run_guards_anything(), "a hook runs");
    assert!(prune.dry_run_guards_anything(), "an object is pruned");
}

#[test]
fn progress_is_worth_saving_with_hooks_or_several_waves_only() {
    let [plain, waves, hook, prune] = plans_by_shape();
    assert!(!plain.progress_worth_saving());
    assert!(waves.progress_worth_saving());
    assert!(hook.progress_worth_saving());
    assert!(
        !prune.progress_worth_saving(),
        "a prune in one wave is done again harmlessly"
    );
}

#[test]
fn the_namespace_create_namespace_makes_is_not_read_back_before_the_next_wave() {
    let plan = plan_sync(&PlanInput {
        app_name: "shop".into(),
        desired: vec![cm("a", json!({}))],
        sync_options: vec!["CreateNamespace=true".into()],
        destination_namespace: "shop".into(),
        ..PlanInput::default()
    })
    .unwrap();
    assert!(!plan.dry_run_guards_anything(), "the namespace is harmless");
    assert!(!plan.progress_worth_saving(), "nor a wave to resume at");
    let mut state = SyncState::new();
    let Next::Apply { steps } = next(&plan, &mut state, &Observed::default()) else {
        panic!("the namespace is applied first");
    };
    assert_eq!(names(&steps), vec!["shop"]);
    // Applied: the sync goes on to the objects at once, with no wait for the namespace.
    let Next::Apply { steps } = next(&plan, &mut state, &applied(&steps)) else {
        panic!("the objects come next, without waiting");
    };
    assert_eq!(names(&steps), vec!["a"]);
}
