//! The plan: what each `applicationsSync` policy creates, updates and deletes; what an update
//! keeps from the live Application; and that an error (a failing git fetch above all) leaves
//! no plan at all, so nothing is deleted.

// A panic in a test is a failed test.
#![allow(clippy::unwrap_used)]

use driftless_appset::status::{
    apply_error_conditions, error_conditions, resources, success_conditions, with_transition_times,
};
use driftless_appset::{Inputs, MemoryGit, Policy, reconcile, reconcile_plan};
use driftless_model::ApplicationSet;
use driftless_model::appset::ApplicationsSyncPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn app(name: &str, revision: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example.com/a.git", "targetRevision": revision},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name}
        }
    })
}

fn live(name: &str, revision: &str) -> Value {
    let mut a = app(name, revision);
    a["metadata"]["resourceVersion"] = json!("42");
    a["status"] = json!({"sync": {"status": "Synced"}, "health": {"status": "Healthy"}});
    a
}

fn policy(sync: ApplicationsSyncPolicy, preserve: bool) -> Policy {
    Policy {
        applications_sync: sync,
        preserve_resources_on_deletion: preserve,
        preserved_annotations: vec![],
        preserved_labels: vec![],
        ignore_differences: vec![],
    }
}

fn names(apps: &[Value]) -> Vec<&str> {
    apps.iter()
        .map(|a| a["metadata"]["name"].as_str().unwrap())
        .collect()
}

#[test]
fn each_policy_creates_updates_and_deletes_what_it_allows() {
    // new: to create; changed: revision moved; same: unchanged; orphan: no longer generated.
    let generated = [
        app("new", "main"),
        app("changed", "v2"),
        app("same", "main"),
    ];
    let existing = [
        live("changed", "v1"),
        live("same", "main"),
        live("orphan", "main"),
    ];
    let table = [
        // policy, updated, deleted, kept
        (
            ApplicationsSyncPolicy::CreateOnly,
            vec![],
            vec![],
            vec!["changed", "orphan", "same"],
        ),
        (
            ApplicationsSyncPolicy::CreateUpdate,
            vec!["changed"],
            vec![],
            vec!["orphan", "same"],
        ),
        (
            ApplicationsSyncPolicy::CreateDelete,
            vec![],
            vec!["orphan"],
            vec!["changed", "same"],
        ),
        (
            ApplicationsSyncPolicy::Sync,
            vec!["changed"],
            vec!["orphan"],
            vec!["same"],
        ),
    ];
    for (sync, updated, deleted, kept) in table {
        let plan = reconcile_plan(&policy(sync.clone(), false), &generated, &existing);
        assert_eq!(names(&plan.create), vec!["new"], "{sync}");
        assert_eq!(names(&plan.update), updated, "{sync}");
        let deleted_names: Vec<&str> = plan.delete.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(deleted_names, deleted, "{sync}");
        assert_eq!(plan.keep, kept, "{sync}");
    }
}

#[test]
fn an_update_writes_the_generated_spec_over_the_live_object() {
    let plan = reconcile_plan(
        &policy(ApplicationsSyncPolicy::Sync, false),
        &[app("web", "v2")],
        &[live("web", "v1")],
    );
    let updated = &plan.update[0];
    assert_eq!(updated["spec"]["source"]["targetRevision"], "v2");
    // The live object's identity and status stay, for an update call.
    assert_eq!(updated["metadata"]["resourceVersion"], "42");
    assert_eq!(updated["status"]["sync"]["status"], "Synced");
}

#[test]
fn preserve_resources_on_deletion_orphans_the_resources() {
    let plan = reconcile_plan(
        &policy(ApplicationsSyncPolicy::Sync, true),
        &[],
        &[live("old", "main")],
    );
    assert_eq!(plan.delete.len(), 1);
    assert!(plan.delete[0].orphan_resources);
    assert_eq!(plan.delete[0].namespace.as_deref(), Some("argocd"));
    let plan = reconcile_plan(
        &policy(ApplicationsSyncPolicy::Sync, false),
        &[],
        &[live("old", "main")],
    );
    assert!(!plan.delete[0].orphan_resources);
}

#[test]
fn updates_keep_preserved_annotations_labels_and_deletion_hooks() {
    let mut existing = live("web", "v1");
    existing["metadata"]["annotations"] = json!({
        "notified.notifications.argoproj.io": "{}",
        "team.example.com/owner": "alice",
        "stale": "x"
    });
    existing["metadata"]["labels"] = json!({"keep-me": "1", "drop-me": "2"});
    existing["metadata"]["finalizers"] = json!([
        "resources-finalizer.argocd.argoproj.io",
        "pre-delete-finalizer.argocd.argoproj.io/cleanup"
    ]);
    let mut desired = app("web", "v2");
    desired["metadata"]["finalizers"] = json!(["resources-finalizer.argocd.argoproj.io"]);
    let mut p = policy(ApplicationsSyncPolicy::Sync, false);
    p.preserved_annotations = vec!["team.example.com/owner".into()];
    p.preserved_labels = vec!["keep-me".into()];
    let plan = reconcile_plan(&p, &[desired], &[existing]);
    let meta = &plan.update[0]["metadata"];
    assert_eq!(
        meta["annotations"],
        json!({"notified.notifications.argoproj.io": "{}", "team.example.com/owner": "alice"})
    );
    assert_eq!(meta["labels"], json!({"keep-me": "1"}));
    assert_eq!(
        meta["finalizers"],
        json!([
            "resources-finalizer.argocd.argoproj.io",
            "pre-delete-finalizer.argocd.argoproj.io/cleanup"
        ])
    );
}

#[test]
fn an_app_the_controller_annotated_after_its_sync_is_left_alone() {
    let mut synced = live("web", "v1");
    synced["metadata"]["annotations"] = json!({"driftless.dev/deletion-hooks": "none"});
    let plan = reconcile_plan(
        &policy(ApplicationsSyncPolicy::Sync, false),
        &[app("web", "v1")],
        &[synced],
    );
    assert!(plan.update.is_empty(), "{:?}", plan.update);
    assert_eq!(plan.keep, vec!["web"]);
}

#[test]
fn ignored_differences_keep_the_live_value() {
    let appset: ApplicationSet = serde_norway::from_str(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: s, namespace: argocd}
spec:
  generators: []
  template:
    metadata: {}
    spec: {project: default, destination: {}}
  ignoreApplicationDifferences:
    - jsonPointers: [/spec/source/targetRevision]
"#,
    )
    .unwrap();
    let p = Policy::of(&appset.spec).unwrap();
    // Only the ignored field differs: nothing to write.
    let plan = reconcile_plan(&p, &[app("web", "v2")], &[live("web", "v1")]);
    assert!(plan.update.is_empty());
    assert_eq!(plan.keep, vec!["web"]);
}

#[test]
fn an_unknown_policy_is_an_error() {
    let appset: ApplicationSet = serde_norway::from_str(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: s, namespace: argocd}
spec:
  generators: []
  template: {metadata: {}, spec: {project: default, destination: {}}}
  syncPolicy: {applicationsSync: delete-everything}
"#,
    )
    .unwrap();
    assert!(Policy::of(&appset.spec).is_err());
}

const NAMESPACES: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: namespaces, namespace: argocd}
spec:
  goTemplate: true
  generators:
    - git:
        repoURL: https://git.example.com/namespaces.git
        revision: main
        directories: [{path: tenants/*}]
  template:
    metadata: {name: 'ns-{{ .path.basename }}'}
    spec:
      project: default
      destination: {server: https://kubernetes.default.svc, namespace: '{{ .path.basename }}'}
"#;

#[test]
fn a_failing_git_fetch_plans_nothing_while_a_removed_directory_is_deleted() {
    let appset: ApplicationSet = serde_norway::from_str(NAMESPACES).unwrap();
    let healthy = MemoryGit::new()
        .file(
            "https://git.example.com/namespaces.git",
            "main",
            "tenants/a/ns.yaml",
            "x",
        )
        .file(
            "https://git.example.com/namespaces.git",
            "main",
            "tenants/b/ns.yaml",
            "x",
        );
    let inputs = |git| Inputs {
        git,
        cluster_secrets: &[],
    };
    let first = reconcile(&appset, inputs(&healthy), &[], &|_| None).unwrap();
    assert_eq!(names(&first.plan.create), vec!["ns-a", "ns-b"]);
    let owned = first.generated.clone();

    // The remote times out: an error, and no plan that could delete ns-a and ns-b.
    let flaky = healthy.clone().failing(
        "https://git.example.com/namespaces.git",
        "connection timed out",
    );
    let err = reconcile(&appset, inputs(&flaky), &owned, &|_| None).unwrap_err();
    assert!(err.to_string().contains("connection timed out"), "{err}");
    let conditions = error_conditions(&err);
    let error = conditions
        .iter()
        .find(|c| c.condition_type == "ErrorOccurred")
        .unwrap();
    assert_eq!(
        (error.status.as_str(), error.reason.as_str()),
        ("True", "ApplicationGenerationFromParamsError")
    );
    let params = conditions
        .iter()
        .find(|c| c.condition_type == "ParametersGenerated")
        .unwrap();
    assert_eq!(params.status, "False");

    // The directory really is gone from git: then, and only then, its Application goes.
    let removed = MemoryGit::new().file(
        "https://git.example.com/namespaces.git",
        "main",
        "tenants/b/ns.yaml",
        "x",
    );
    let after = reconcile(&appset, inputs(&removed), &owned, &|_| None).unwrap();
    let deleted: Vec<&str> = after.plan.delete.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(deleted, vec!["ns-a"]);
    assert_eq!(after.plan.keep, vec!["ns-b"]);
}

#[test]
fn duplicate_names_plan_nothing() {
    let appset: ApplicationSet = serde_norway::from_str(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: dupes, namespace: argocd}
spec:
  generators:
    - list: {elements: [{env: a}, {env: b}]}
  template:
    metadata: {name: same}
    spec: {project: default, destination: {server: https://kubernetes.default.svc, namespace: '{{env}}'}}
"#,
    )
    .unwrap();
    let owned = [live("same", "main"), live("other", "main")];
    let err = reconcile(
        &appset,
        Inputs {
            git: &MemoryGit::new(),
            cluster_secrets: &[],
        },
        &owned,
        &|_| None,
    )
    .unwrap_err();
    assert_eq!(err.reason(), "ApplicationValidationError");
    let conditions = error_conditions(&err);
    assert_eq!(conditions[0].condition_type, "ParametersGenerated");
    assert_eq!(conditions[0].status, "True");
    assert!(conditions[1].message.contains("duplicate name: same"));
}

#[test]
fn status_lists_each_generated_application_with_its_live_state() {
    let generated = [app("b", "main"), app("a", "main")];
    let status = resources(&generated, &[live("a", "main")]);
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(
        json,
        json!([
            {"group": "argoproj.io", "version": "v1alpha1", "kind": "Application",
             "namespace": "argocd", "name": "a", "status": "Synced", "health": {"status": "Healthy"}},
            {"group": "argoproj.io", "version": "v1alpha1", "kind": "Application",
             "namespace": "argocd", "name": "b"}
        ])
    );
}

#[test]
fn transition_times_move_only_when_a_status_changes() {
    let t0 = Time(k8s_openapi::jiff::Timestamp::from_second(1_000).unwrap());
    let t1 = Time(k8s_openapi::jiff::Timestamp::from_second(2_000).unwrap());
    let first = with_transition_times(&[], success_conditions(), &t0);
    let again = with_transition_times(&first, success_conditions(), &t1);
    assert!(
        again
            .iter()
            .all(|c| c.last_transition_time == Some(t0.clone()))
    );
    // Applying failed after the parameters were generated: only that condition keeps t0.
    let failed = with_transition_times(
        &again,
        apply_error_conditions("UpdateApplicationError", "conflict"),
        &t1,
    );
    for c in failed {
        let expected = if c.condition_type == "ParametersGenerated" {
            &t0
        } else {
            &t1
        };
        assert_eq!(
            c.last_transition_time.as_ref(),
            Some(expected),
            "{}",
            c.condition_type
        );
    }
}

#[test]
fn refused_applications_are_neither_written_nor_deleted() {
    let appset: ApplicationSet = serde_norway::from_str(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: teams, namespace: argocd}
spec:
  generators:
    - list: {elements: [{team: a, project: team-a}, {team: b, project: admins}, {team: c, project: admins}]}
  template:
    metadata: {name: '{{team}}'}
    spec:
      project: '{{project}}'
      source: {repoURL: https://git.example.com/a.git}
      destination: {server: https://kubernetes.default.svc, namespace: '{{team}}'}
"#,
    )
    .unwrap();
    let owned = [live("c", "main")];
    let refuse = |app: &Value| {
        let project = app["spec"]["project"].as_str().unwrap_or_default();
        (project == "admins")
            .then(|| format!("application references project {project} which does not exist"))
    };
    let done = reconcile(
        &appset,
        Inputs {
            git: &MemoryGit::new(),
            cluster_secrets: &[],
        },
        &owned,
        &refuse,
    )
    .unwrap();
    assert_eq!(names(&done.plan.create), vec!["a"]);
    assert!(done.plan.update.is_empty());
    assert!(
        done.plan.delete.is_empty(),
        "a refused app that exists stays"
    );
    assert_eq!(done.plan.keep, vec!["b", "c"]);
    let refused: Vec<&str> = done.refused.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(refused, vec!["b", "c"]);
}
