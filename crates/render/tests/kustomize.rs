//! Kustomize sources with the real kustomize (`kustomize build` or `kubectl kustomize`).

mod common;

use common::*;
use driftless_render::spec::Replica;
use driftless_render::{
    KustomizeOptions, Method, ProcessRunner, RecordingRunner, RenderParams, Toolbox, Tools,
    render_dir,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn render(
    path: &str,
    options: KustomizeOptions,
    runner: &RecordingRunner<ProcessRunner>,
) -> Result<Vec<Value>, String> {
    let tools = tools();
    render_dir(
        Toolbox {
            tools: &tools,
            runner,
            charts: None,
        },
        "api",
        &repo(),
        &[],
        &RenderParams {
            path: path.into(),
            method: Method::Kustomize(options),
        },
        "shop",
        None,
    )
    .map(|objects| objects.into_iter().map(|o| o.object).collect())
    .map_err(|e| e.to_string())
}

#[test]
fn overlay_matches_kustomize_build_by_hand() {
    let runner = RecordingRunner::new(ProcessRunner::default());
    let mut got = render(
        "kustomize/overlays/prod",
        KustomizeOptions::default(),
        &runner,
    )
    .expect("renders");
    assert_eq!(runner.invocations().len(), 1);
    let mut expected = objects(&kustomize_by_hand(
        &tools(),
        &repo().join("kustomize/overlays/prod"),
    ));
    for object in &mut expected {
        if object["kind"] != "ClusterRole" {
            object["metadata"]["namespace"] = "shop".into();
        }
    }
    got.sort_by_key(identity);
    assert_eq!(got, expected);
    assert_eq!(
        find(&got, "Deployment", "api")["spec"]["replicas"],
        2,
        "overlay patch from ../../base"
    );
}

/// Every option of the Application's kustomize block, applied to a copy: the repository
/// files are never edited.
#[test]
fn application_kustomize_options_are_applied() {
    let kustomization = repo().join("kustomize/overlays/prod/kustomization.yaml");
    let before = std::fs::read_to_string(&kustomization).expect("read");
    let options = KustomizeOptions {
        name_prefix: Some("p-".into()),
        name_suffix: Some("-s".into()),
        images: vec!["api=registry.example.com/api:2.0".into()],
        common_labels: [("team".to_string(), "payments".to_string())].into(),
        common_annotations: [("owner".to_string(), "alice".to_string())].into(),
        namespace: Some("payments".into()),
        replicas: vec![Replica {
            name: "api".into(),
            count: 5,
        }],
        patches: vec![json!({
            "target": {"kind": "Service", "name": "api"},
            "patch": "- op: add\n  path: /metadata/labels\n  value: {patched: \"yes\"}"
        })],
        components: vec!["../../components/monitoring".into()],
        ..KustomizeOptions::default()
    };
    let runner = RecordingRunner::new(ProcessRunner::default());
    let got = render("kustomize/overlays/prod", options, &runner).expect("renders");
    assert_eq!(
        std::fs::read_to_string(&kustomization).expect("read"),
        before,
        "repository untouched"
    );

    let deployment = find(&got, "Deployment", "p-api-s");
    assert_eq!(deployment["metadata"]["namespace"], "payments");
    assert_eq!(deployment["spec"]["replicas"], 5);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/api:2.0"
    );
    assert_eq!(deployment["metadata"]["labels"]["team"], "payments");
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"]["team"], "payments",
        "commonLabels are selectors"
    );
    assert_eq!(deployment["metadata"]["annotations"]["owner"], "alice");
    assert_eq!(
        deployment["metadata"]["annotations"]["prometheus.io/scrape"], "true",
        "component applied"
    );
    let service = find(&got, "Service", "p-api-s");
    assert_eq!(
        service["metadata"]["labels"]["patched"], "yes",
        "patch applied"
    );
    let role = find(&got, "ClusterRole", "p-api-reader-s");
    assert!(
        role["metadata"].get("namespace").is_none(),
        "cluster-scoped object has no namespace"
    );
    let config = got
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .expect("generated ConfigMap");
    assert!(
        config["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("p-settings-s-"))
    );
}

#[test]
fn labels_without_selector_and_missing_components() {
    let runner = RecordingRunner::new(ProcessRunner::default());
    let options = KustomizeOptions {
        common_labels: [("team".to_string(), "payments".to_string())].into(),
        label_without_selector: true,
        components: vec!["../../components/absent".into()],
        ..KustomizeOptions::default()
    };
    let err =
        render("kustomize/overlays/prod", options.clone(), &runner).expect_err("component missing");
    assert!(
        err.contains("components/absent") && err.contains("app api"),
        "{err}"
    );
    let got = render(
        "kustomize/overlays/prod",
        KustomizeOptions {
            ignore_missing_components: true,
            ..options
        },
        &runner,
    )
    .expect("renders");
    let deployment = find(&got, "Deployment", "api");
    assert_eq!(deployment["metadata"]["labels"]["team"], "payments");
    assert!(
        deployment["spec"]["selector"]["matchLabels"]
            .get("team")
            .is_none(),
        "not a selector"
    );
}

#[test]
fn failing_build_reports_app_step_and_kustomize_message() {
    let runner = RecordingRunner::new(ProcessRunner::default());
    let err = render("kustomize/broken", KustomizeOptions::default(), &runner).expect_err("broken");
    assert!(
        err.starts_with("failed to render app api: kustomize build:"),
        "{err}"
    );
    assert!(
        err.contains("does-not-exist.yaml"),
        "kustomize's own message: {err}"
    );
    let err = render("kustomize/nowhere", KustomizeOptions::default(), &runner)
        .expect_err("missing path");
    assert!(err.contains("kustomize/nowhere"), "{err}");
}

#[test]
fn a_remote_base_is_refused_before_kustomize_runs_unless_enabled() {
    let runner = RecordingRunner::new(ProcessRunner::default());
    let err = render(
        "kustomize/remote-base",
        KustomizeOptions::default(),
        &runner,
    )
    .expect_err("remote bases are off");
    assert!(
        err.contains("https://github.com/example/platform//base?ref=v1.2.0")
            && err.contains("remote bases are off"),
        "{err}"
    );
    assert!(runner.invocations().is_empty(), "kustomize never ran");

    // Enabled, kustomize is asked to fetch it (and fails here, with no network to reach it).
    let tools = Tools {
        kustomize_remote_bases: true,
        ..tools()
    };
    let enabled = render_dir(
        Toolbox {
            tools: &tools,
            runner: &runner,
            charts: None,
        },
        "api",
        &repo(),
        &[],
        &RenderParams {
            path: "kustomize/remote-base".into(),
            method: Method::Kustomize(KustomizeOptions::default()),
        },
        "shop",
        None,
    );
    assert!(enabled.is_err());
    assert_eq!(runner.invocations().len(), 1, "kustomize ran once");
}
