//! Malformed objects and reports give errors or are passed over; nothing panics.

#![allow(clippy::unwrap_used)]

use driftless_model::ResourceKey;
use driftless_plan::{
    Next, Observed, Phase, PlanError, PlanInput, Report, RunPhase, SyncState, next, plan_sync,
};
use serde_json::{Value, json};

fn input(desired: Vec<Value>, live: Vec<Value>) -> PlanInput {
    PlanInput {
        app_name: "a".into(),
        desired,
        live,
        prune: true,
        destination_namespace: "ns".into(),
        ..PlanInput::default()
    }
}

#[test]
fn objects_that_are_not_kubernetes_objects_are_errors_naming_their_position() {
    let bad = [
        json!(7),
        json!(["a"]),
        json!({"kind": "ConfigMap", "metadata": {"name": "x"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "x"}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": 5}}),
    ];
    for object in bad {
        let good = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok", "namespace": "ns"}});
        let err = plan_sync(&input(vec![good.clone(), object.clone()], vec![])).unwrap_err();
        assert!(
            matches!(
                err,
                PlanError::InvalidObject {
                    side: "desired",
                    index: 1,
                    ..
                }
            ),
            "{object}: {err:?}"
        );
        let err = plan_sync(&input(vec![good], vec![object.clone()])).unwrap_err();
        assert!(
            matches!(
                err,
                PlanError::InvalidObject {
                    side: "live",
                    index: 0,
                    ..
                }
            ),
            "{object}: {err:?}"
        );
    }
}

#[test]
fn odd_annotation_values_are_passed_over() {
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "ns",
        "annotations": {"argocd.argoproj.io/sync-wave": 3, "argocd.argoproj.io/hook": ["PreSync"],
                        "argocd.argoproj.io/sync-options": {"Prune": false}, "helm.sh/hook-weight": "-"}}});
    let plan = plan_sync(&input(vec![object], vec![])).unwrap();
    assert_eq!(plan.summaries(), ["Sync 0 create /ConfigMap/ns/x"]);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("helm.sh/hook-weight")),
        "{:?}",
        plan.warnings
    );
    let odd_annotations = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "y", "namespace": "ns", "annotations": 1}});
    assert_eq!(
        plan_sync(&input(vec![odd_annotations], vec![]))
            .unwrap()
            .summaries(),
        ["Sync 0 create /ConfigMap/ns/y"]
    );
}

#[test]
fn reports_about_other_objects_are_ignored() {
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "ns"}});
    let plan = plan_sync(&input(vec![object], vec![])).unwrap();
    let mut state = SyncState::new();
    let first = next(&plan, &mut state, &Observed::default());
    let stranger = Observed {
        results: vec![Report {
            phase: Phase::Sync,
            key: ResourceKey::new("", "Secret", "ns", "x"),
            ok: false,
            message: "no".into(),
        }],
        ..Observed::default()
    };
    assert_eq!(
        next(&plan, &mut state, &stranger),
        first,
        "the same apply is asked again"
    );
    let Next::Apply { steps } = first else {
        panic!("expected apply")
    };
    let done = Observed {
        results: vec![Report::ok(&steps[0], "ok")],
        ..Observed::default()
    };
    assert_eq!(
        next(&plan, &mut state, &done),
        Next::Done(RunPhase::Succeeded)
    );
}
