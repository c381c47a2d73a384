//! Helm sources with the real `helm template`.

mod common;

use common::*;
use driftless_render::helm::hooks::map_helm_hooks;
use driftless_render::spec::{HelmFileParameter, HelmParameter};
use driftless_render::{
    HelmOptions, Method, ProcessRunner, RecordingRunner, RenderParams, Toolbox, render_dir,
};
use pretty_assertions::assert_eq;
use serde_json::Value;

fn params(options: HelmOptions) -> RenderParams {
    RenderParams {
        path: "charts/web".into(),
        method: Method::Helm(options),
    }
}

fn full_options() -> HelmOptions {
    HelmOptions {
        release_name: "shop-web".into(),
        namespace: "shop".into(),
        values: Some("greeting: from valuesObject\n".into()),
        value_files: vec!["values-prod.yaml".into(), "$values/env/prod.yaml".into()],
        parameters: vec![
            HelmParameter {
                name: "image.tag".into(),
                value: "2".into(),
                force_string: true,
            },
            HelmParameter {
                name: "hosts".into(),
                value: "{a,b}".into(),
                force_string: false,
            },
        ],
        file_parameters: vec![HelmFileParameter {
            name: "config".into(),
            path: "config.txt".into(),
        }],
        kube_version: Some("1.30.0".into()),
        api_versions: vec!["monitoring.coreos.com/v1".into()],
        ..HelmOptions::default()
    }
}

fn render(
    options: HelmOptions,
    runner: &RecordingRunner<ProcessRunner>,
) -> Result<Vec<Value>, String> {
    let tools = tools();
    let values_repo = testdata().join("values-repo");
    render_dir(
        Toolbox {
            tools: &tools,
            runner,
            charts: None,
        },
        "shop-web",
        &repo(),
        &[("values", values_repo.as_path())],
        &params(options),
        "shop",
        None,
    )
    .map(|objects| objects.into_iter().map(|o| o.object).collect())
    .map_err(|e| e.to_string())
}

/// The same inputs through `helm template` by hand give the same objects; driftless then
/// maps Helm hooks and sets the destination namespace, as Argo CD does.
#[test]
fn every_helm_option_matches_helm_template_by_hand() {
    let runner = RecordingRunner::new(ProcessRunner::default());
    let rendered = render(full_options(), &runner).expect("renders");
    assert_eq!(runner.invocations().len(), 1, "one helm run");

    let chart = repo().join("charts/web");
    let values_object = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(values_object.path(), "greeting: from valuesObject\n").expect("write");
    let prod = testdata().join("values-repo/env/prod.yaml");
    let by_hand = run(
        &helm(),
        &[
            "template",
            "shop-web",
            ".",
            "--namespace",
            "shop",
            "--kube-version",
            "1.30.0",
            "--values",
            "values-prod.yaml",
            "--values",
            &prod.display().to_string(),
            "--values",
            &values_object.path().display().to_string(),
            "--set-string",
            "image.tag=2",
            "--set",
            "hosts={a,b}",
            "--set-file",
            "config=config.txt",
            "--api-versions",
            "monitoring.coreos.com/v1",
            "--include-crds",
        ],
        &chart,
    );
    let mut expected = objects(&by_hand);
    for object in &mut expected {
        map_helm_hooks(object);
        let namespaced = !matches!(
            object["kind"].as_str(),
            Some("CustomResourceDefinition" | "ClusterWidget")
        );
        if namespaced && object["metadata"].get("namespace").is_none() {
            object["metadata"]["namespace"] = "shop".into();
        }
    }
    let mut got = rendered.clone();
    got.sort_by_key(identity);
    assert_eq!(got, expected);

    // What each option did, as a user would check it.
    let settings = find(&rendered, "ConfigMap", "shop-web-settings");
    assert_eq!(
        settings["data"]["greeting"], "from valuesObject",
        "valuesObject wins over value files"
    );
    assert_eq!(
        settings["data"]["tagType"], "string",
        "forceString parameter is --set-string"
    );
    assert_eq!(
        settings["data"]["hosts"], "a;b",
        "list parameter kept as a list"
    );
    assert_eq!(
        settings["data"]["config"], "line one\nline two\n",
        "fileParameters is --set-file"
    );
    assert_eq!(settings["data"]["release"], "shop-web");
    assert_eq!(
        settings["metadata"]["namespace"], "shop",
        "destination namespace set"
    );
    let deployment = find(&rendered, "Deployment", "shop-web-web");
    assert_eq!(
        deployment["spec"]["replicas"], 3,
        "values-prod.yaml applied"
    );
    assert_eq!(
        deployment["metadata"]["labels"]["kube-minor"], "30",
        "kubeVersion passed"
    );
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2"
    );
    let service = find(&rendered, "Service", "shop-web-web");
    assert_eq!(
        service["spec"]["ports"][0]["port"], 8080,
        "$values/env/prod.yaml from the ref source"
    );
    find(&rendered, "ServiceMonitor", "shop-web-web"); // apiVersions passed
    find(&rendered, "ConfigMap", "shop-web-sub"); // vendored subchart rendered offline
    find(
        &rendered,
        "CustomResourceDefinition",
        "clusterwidgets.example.com",
    ); // --include-crds
    let widget = find(&rendered, "ClusterWidget", "shop-web-widget");
    assert!(
        widget["metadata"].get("namespace").is_none(),
        "CRD in the render says Cluster scope"
    );
    let hook = find(&rendered, "Job", "shop-web-migrate");
    let annotations = &hook["metadata"]["annotations"];
    assert_eq!(annotations["argocd.argoproj.io/hook"], "PreSync");
    assert_eq!(
        annotations["argocd.argoproj.io/hook-delete-policy"],
        "BeforeHookCreation,HookSucceeded"
    );
    assert_eq!(annotations["argocd.argoproj.io/sync-wave"], "-1");
    let test_pod = find(&rendered, "Pod", "shop-web-test");
    assert_eq!(
        test_pod["metadata"]["annotations"]["argocd.argoproj.io/hook"],
        "Skip"
    );
}

#[test]
fn defaults_skip_crds_and_skip_tests() {
    let runner = RecordingRunner::new(ProcessRunner::default());
    let options = HelmOptions {
        release_name: "web".into(),
        namespace: "shop".into(),
        ..HelmOptions::default()
    };
    let plain = render(options.clone(), &runner).expect("renders");
    let deployment = find(&plain, "Deployment", "web-web");
    assert_eq!(deployment["spec"]["replicas"], 1, "chart defaults");
    assert!(
        !plain.iter().any(|o| o["kind"] == "ServiceMonitor"),
        "no API versions given"
    );
    find(
        &plain,
        "CustomResourceDefinition",
        "clusterwidgets.example.com",
    );

    let skipped = render(
        HelmOptions {
            skip_crds: true,
            skip_tests: true,
            ..options
        },
        &runner,
    )
    .expect("renders");
    assert!(
        !skipped
            .iter()
            .any(|o| o["kind"] == "CustomResourceDefinition"),
        "skipCrds"
    );
    assert!(!skipped.iter().any(|o| o["kind"] == "Pod"), "skipTests");
    let args: Vec<Vec<String>> = runner.invocations().into_iter().map(|i| i.args).collect();
    assert!(args[0].contains(&"--include-crds".to_string()));
    assert!(!args[1].contains(&"--include-crds".to_string()));
}

#[test]
fn missing_value_file_is_an_error_unless_ignored() {
    let runner = RecordingRunner::new(ProcessRunner::default());
    let options = HelmOptions {
        release_name: "web".into(),
        value_files: vec![
            "values-missing.yaml".into(),
            "$values/env/missing.yaml".into(),
        ],
        ..HelmOptions::default()
    };
    let err = render(options.clone(), &runner).expect_err("missing file");
    assert!(
        err.contains("shop-web")
            && err.contains("helm template")
            && err.contains("values-missing.yaml"),
        "{err}"
    );
    assert!(runner.invocations().is_empty(), "helm is not run");
    let objects = render(
        HelmOptions {
            ignore_missing_value_files: true,
            ..options
        },
        &runner,
    )
    .expect("renders");
    find(&objects, "Deployment", "web-web");
}

#[test]
fn failing_helm_template_reports_app_step_and_helm_message() {
    let runner = RecordingRunner::new(ProcessRunner::default());
    let options = HelmOptions {
        release_name: "web".into(),
        parameters: vec![HelmParameter {
            name: "greeting".into(),
            value: "null".into(),
            force_string: false,
        }],
        ..HelmOptions::default()
    };
    let err = render(options, &runner).expect_err("required value missing");
    assert!(
        err.starts_with("failed to render app shop-web: helm template:"),
        "{err}"
    );
    assert!(
        err.contains("greeting is required"),
        "helm's own message: {err}"
    );
}

#[test]
fn unknown_ref_and_missing_chart_are_errors() {
    let runner = RecordingRunner::new(ProcessRunner::default());
    let options = HelmOptions {
        release_name: "web".into(),
        value_files: vec!["$nope/values.yaml".into()],
        ..HelmOptions::default()
    };
    let err = render(options, &runner).expect_err("unknown ref");
    assert!(err.contains("$nope") || err.contains("ref: nope"), "{err}");

    let tools = tools();
    let err = render_dir(
        Toolbox {
            tools: &tools,
            runner: &runner,
            charts: None,
        },
        "app",
        &repo(),
        &[],
        &RenderParams {
            path: "plain".into(),
            method: Method::Helm(HelmOptions::default()),
        },
        "shop",
        None,
    )
    .expect_err("not a chart");
    assert!(err.to_string().contains("Chart.yaml"), "{err}");
}

#[test]
fn value_file_globs_expand_in_lexical_order_and_an_empty_match_is_missing() {
    let runner = RecordingRunner::new(ProcessRunner::default());
    let options = HelmOptions {
        release_name: "web".into(),
        value_files: vec!["values-*.yaml".into(), "$values/env/*.yaml".into()],
        ..HelmOptions::default()
    };
    let objects = render(options, &runner).expect("renders");
    let deployment = find(&objects, "Deployment", "web-web");
    assert_eq!(
        deployment["spec"]["replicas"], 3,
        "values-prod.yaml matched"
    );
    let service = find(&objects, "Service", "web-web");
    assert_eq!(
        service["spec"]["ports"][0]["port"], 9443,
        "env/qa.yaml comes after env/prod.yaml, so its port wins"
    );

    let none = HelmOptions {
        release_name: "web".into(),
        value_files: vec!["overrides/**/*.yaml".into()],
        ..HelmOptions::default()
    };
    let err = render(none.clone(), &runner).expect_err("nothing matches");
    assert!(err.contains("overrides/**/*.yaml"), "{err}");
    render(
        HelmOptions {
            ignore_missing_value_files: true,
            ..none
        },
        &runner,
    )
    .expect("an empty match is skipped when missing files are ignored");
}
