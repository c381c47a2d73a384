//! Argo CD manifests under testdata/manifests: each one parses into the typed model and
//! serializes back to exactly the same JSON, and reads the way a user expects.

use driftless_model::appset::ApplicationsSyncPolicy;
use driftless_model::source::SourceKind;
use driftless_model::sync_options::{PropagationPolicy, RemovalMode};
use driftless_model::{
    AppProject, Application, ApplicationSet, HealthStatusCode, OperationPhase, SyncStatusCode,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use pretty_assertions::assert_eq;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/manifests")
}

fn read(name: &str) -> (String, Value) {
    let path = fixture_dir().join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let value: Value =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parse {name}: {e}"));
    (text, value)
}

/// Parses `T` from the YAML text and from its JSON form; both must serialize back unchanged.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let (text, original) = read(name);
    let typed: T =
        serde_json::from_value(original.clone()).unwrap_or_else(|e| panic!("{name} as JSON: {e}"));
    assert_eq!(
        serde_json::to_value(&typed).expect("serializes"),
        original,
        "{name} (from JSON)"
    );
    let from_yaml: T =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{name} as YAML: {e}"));
    assert_eq!(
        serde_json::to_value(&from_yaml).expect("serializes"),
        original,
        "{name} (from YAML)"
    );
    typed
}

#[test]
fn every_fixture_round_trips_by_kind() {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("testdata/manifests exists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "fixtures: {names:?}");
    for name in &names {
        let (_, value) = read(name);
        match value["kind"].as_str() {
            Some("Application") => drop(round_trip::<Application>(name)),
            Some("ApplicationSet") => drop(round_trip::<ApplicationSet>(name)),
            Some("AppProject") => drop(round_trip::<AppProject>(name)),
            other => panic!("{name}: unexpected kind {other:?}"),
        }
    }
}

#[test]
fn app_of_apps_root_reads_its_status() {
    let app: Application = round_trip("app-of-apps-root.yaml");
    assert_eq!(
        app.metadata.finalizers.as_deref(),
        Some(&["resources-finalizer.argocd.argoproj.io".to_string()][..])
    );
    let [source] = app.sources() else {
        panic!("one source")
    };
    assert_eq!(source.kind(), Ok(SourceKind::Directory));
    assert_eq!(
        source
            .directory
            .as_ref()
            .and_then(|d| d.extra.get("futureOption")),
        Some(&json!("keep-me"))
    );

    let policy = app.spec.sync_policy.as_ref().expect("syncPolicy");
    assert!(policy.is_automated());
    let options = policy.options();
    assert_eq!(
        (
            options.create_namespace,
            options.prune_last,
            options.server_side_apply
        ),
        (Some(true), Some(true), Some(true))
    );
    let retry = policy.retry.as_ref().expect("retry");
    let delays: Vec<Duration> = (0..7)
        .map(|n| retry.delay(n).expect("valid backoff"))
        .collect();
    assert_eq!(
        delays.iter().map(Duration::as_secs).collect::<Vec<_>>(),
        [5, 10, 20, 40, 80, 160, 180]
    );
    assert!(retry.allows_retry(4) && !retry.allows_retry(5));

    let status = app.status.as_ref().expect("status");
    assert_eq!(
        status.sync.as_ref().map(|s| &s.status),
        Some(&SyncStatusCode::Synced)
    );
    let resource_health: Vec<HealthStatusCode> = status
        .resources
        .iter()
        .flatten()
        .filter_map(|r| r.health.as_ref()?.status.clone())
        .collect();
    assert_eq!(
        HealthStatusCode::worst(&resource_health),
        HealthStatusCode::Progressing
    );
    let operation = status.operation_state.as_ref().expect("operationState");
    assert_eq!(operation.phase, OperationPhase::Succeeded);
    assert_eq!(operation.started_at.0.to_string(), "2025-05-01T09:58:00Z");
    assert_eq!(status.history.as_ref().map(Vec::len), Some(1));
    assert!(status.extra.contains_key("sourceHydrator"));
}

#[test]
fn multi_source_helm_app_with_values_ref_and_pending_operation() {
    let app: Application = round_trip("helm-multi-source.yaml");
    let [chart, values] = app.sources() else {
        panic!("two sources")
    };
    assert_eq!(chart.kind(), Ok(SourceKind::Helm));
    assert!(!chart.is_ref_only());
    assert_eq!(values.reference.as_deref(), Some("values"));
    assert!(values.is_ref_only());
    let helm = chart.helm.as_ref().expect("helm");
    assert_eq!(
        helm.values_object
            .as_ref()
            .map(|v| &v["persistence"]["size"]),
        Some(&json!("50Gi"))
    );
    assert!(
        helm.value_files
            .iter()
            .flatten()
            .all(|file| file.starts_with("$values/"))
    );

    let options = app.spec.sync_policy.as_ref().expect("syncPolicy").options();
    assert_eq!(
        options.prune_propagation_policy,
        Some(PropagationPolicy::Foreground)
    );
    assert_eq!(options.respect_ignore_differences, Some(true));
    let retry = app
        .spec
        .sync_policy
        .as_ref()
        .and_then(|p| p.retry.as_ref())
        .expect("retry");
    assert!(retry.allows_retry(1_000_000), "limit -1 is unlimited");
    assert_eq!(retry.delay(0), Ok(Duration::from_secs(30)));
    assert_eq!(retry.delay(2), Ok(Duration::from_secs(270)));
    assert_eq!(retry.delay(3), Ok(Duration::from_secs(600)));

    let ignored = app.spec.ignore_differences.as_deref().unwrap_or_default();
    assert_eq!(
        ignored.iter().map(|i| i.kind.as_str()).collect::<Vec<_>>(),
        ["StatefulSet", "Secret"]
    );
    assert_eq!(
        ignored[1].managed_fields_managers.as_deref(),
        Some(&["external-secrets".to_string()][..])
    );

    let operation = app.operation.as_ref().expect("operation");
    assert_eq!(
        operation
            .initiated_by
            .as_ref()
            .and_then(|i| i.username.as_deref()),
        Some("alice")
    );
    let sync = operation.sync.as_ref().expect("operation.sync");
    assert_eq!(sync.resources.as_ref().map(Vec::len), Some(2));
    assert_eq!(sync.options().server_side_apply, Some(true));
    assert_eq!(operation.retry.as_ref().and_then(|r| r.limit), Some(2));
}

#[test]
fn kustomize_app_keeps_overrides_and_unknown_fields() {
    let app: Application = round_trip("kustomize-app.yaml");
    let source = &app.sources()[0];
    assert_eq!(source.kind(), Ok(SourceKind::Kustomize));
    let kustomize = source.kustomize.as_ref().expect("kustomize");
    let counts: Vec<&IntOrString> = kustomize
        .replicas
        .iter()
        .flatten()
        .map(|r| &r.count)
        .collect();
    assert_eq!(
        counts,
        [&IntOrString::Int(3), &IntOrString::String("2".into())]
    );
    assert_eq!(
        kustomize.extra.get("labelWithoutSelector"),
        Some(&json!(true))
    );
    let target = kustomize
        .patches
        .as_ref()
        .and_then(|p| p[0].target.as_ref())
        .expect("patch target");
    assert_eq!(target.extra.get("futureSelector"), Some(&json!("anything")));
    let options = app.spec.sync_policy.as_ref().expect("syncPolicy").options();
    assert_eq!(
        (options.apply_out_of_sync_only, options.validate),
        (Some(true), Some(false))
    );
    assert!(
        !app.spec
            .sync_policy
            .as_ref()
            .is_some_and(|p| p.is_automated())
    );
}

#[test]
fn changing_a_known_field_keeps_the_unknown_ones() {
    let (_, original) = read("kustomize-app.yaml");
    let mut app: Application = serde_json::from_value(original.clone()).expect("parses");
    app.spec.project = "other".into();
    let mut expected = original;
    expected["spec"]["project"] = json!("other");
    assert_eq!(serde_json::to_value(&app).expect("serializes"), expected);
}

#[test]
fn appset_with_git_generator_and_rolling_sync() {
    let appset: ApplicationSet = round_trip("appset-git.yaml");
    let spec = &appset.spec;
    assert_eq!(spec.go_template, Some(true));
    let git = spec.generators[0].git.as_ref().expect("git generator");
    let paths: Vec<(&str, bool)> = git
        .directories
        .iter()
        .flatten()
        .map(|d| (d.path.as_str(), d.exclude.unwrap_or(false)))
        .collect();
    assert_eq!(paths, [("tenants/*", false), ("tenants/sandbox-*", true)]);
    assert_eq!(
        spec.generators[1]
            .list
            .as_ref()
            .and_then(|l| l.elements.as_ref())
            .map(Vec::len),
        Some(1)
    );
    assert!(spec.generators[2].matrix.is_some());
    assert_eq!(spec.template.spec.project, "tenants");
    assert_eq!(
        spec.template.metadata.name.as_deref(),
        Some("ns-{{ .path.basename }}")
    );
    assert!(
        spec.template_patch
            .as_deref()
            .is_some_and(|p| p.contains("prune: false"))
    );
    let policy = spec.sync_policy.as_ref().expect("syncPolicy");
    assert_eq!(
        policy.applications_sync,
        Some(ApplicationsSyncPolicy::CreateUpdate)
    );
    let steps = spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_sync.as_ref())
        .and_then(|r| r.steps.as_ref());
    assert_eq!(
        steps.map(|s| s[1].max_update.clone()),
        Some(Some(IntOrString::String("25%".into())))
    );
}

#[test]
fn appproject_lists() {
    let project: AppProject = round_trip("appproject.yaml");
    let spec = &project.spec;
    assert_eq!(spec.source_repos.as_ref().map(Vec::len), Some(3));
    let destinations: Vec<(Option<&str>, Option<&str>)> = spec
        .destinations
        .iter()
        .flatten()
        .map(|d| {
            (
                d.server.as_deref().or(d.name.as_deref()),
                d.namespace.as_deref(),
            )
        })
        .collect();
    assert_eq!(destinations[1], (Some("in-cluster"), Some("llm")));
    let allowed: Vec<(&str, &str, Option<&str>)> = spec
        .cluster_resource_whitelist
        .iter()
        .flatten()
        .map(|r| (r.group.as_str(), r.kind.as_str(), r.name.as_deref()))
        .collect();
    assert_eq!(
        allowed,
        [
            ("", "Namespace", None),
            ("rbac.authorization.k8s.io", "ClusterRole", Some("ai-*"))
        ]
    );
    assert_eq!(
        spec.namespace_resource_blacklist.as_ref().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        spec.sync_windows.as_ref().and_then(|w| w[0].and_operator),
        Some(false)
    );
    let tokens = project
        .status
        .as_ref()
        .and_then(|s| s.jwt_tokens_by_role.as_ref())
        .expect("tokens");
    assert_eq!(
        tokens["ci"].items.as_ref().map(|t| t[0].iat),
        Some(1714550400)
    );
}

#[test]
fn removal_modes_from_an_object_annotation() {
    let options = driftless_model::SyncOptions::from_annotation("Prune=confirm,Delete=false");
    assert_eq!(
        (options.prune, options.delete),
        (
            Some(RemovalMode::RequiresConfirmation),
            Some(RemovalMode::Disabled)
        )
    );
}
