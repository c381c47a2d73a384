//! Directory sources: recurse, include, exclude, YAML streams and JSON, bad input.

mod common;

use common::*;
use driftless_render::{
    DirectoryOptions, Method, ProcessRunner, RecordingRunner, RenderParams, Toolbox, render_dir,
};
use pretty_assertions::assert_eq;

fn render(path: &str, options: DirectoryOptions) -> Result<Vec<String>, String> {
    let tools = tools();
    let runner = RecordingRunner::new(ProcessRunner::default());
    let out = render_dir(
        Toolbox {
            tools: &tools,
            runner: &runner,
            charts: None,
        },
        "plain",
        &repo(),
        &[],
        &RenderParams {
            path: path.into(),
            method: Method::Directory(options),
        },
        "shop",
        None,
    )
    .map(|objects| objects.into_iter().map(|o| o.key.to_string()).collect())
    .map_err(|e| e.to_string());
    assert!(
        runner.invocations().is_empty(),
        "no tool runs for a directory"
    );
    out
}

#[test]
fn top_level_only_by_default() {
    assert_eq!(
        render("plain", DirectoryOptions::default()).expect("renders"),
        [
            "/ConfigMap/shop/plain-settings",
            "/Namespace//shop",
            "/Service/shop/plain"
        ]
    );
}

#[test]
fn recurse_include_exclude() {
    let all = DirectoryOptions {
        recurse: true,
        ..DirectoryOptions::default()
    };
    assert_eq!(
        render("plain", all.clone()).expect("renders"),
        [
            "/ConfigMap/other/from-json",
            "/ConfigMap/shop/plain-settings",
            "/ConfigMap/shop/skipped",
            "/Namespace//shop",
            "/Service/shop/plain",
        ]
    );
    let exclude = DirectoryOptions {
        exclude: Some("{*skip-me*,namespace.yaml}".into()),
        ..all.clone()
    };
    assert_eq!(
        render("plain", exclude).expect("renders"),
        [
            "/ConfigMap/other/from-json",
            "/ConfigMap/shop/plain-settings",
            "/Service/shop/plain"
        ]
    );
    // `*` matches across `/`, as in Argo CD.
    let include = DirectoryOptions {
        include: Some("*.json".into()),
        ..all
    };
    assert_eq!(
        render("plain", include).expect("renders"),
        ["/ConfigMap/other/from-json"]
    );
}

#[test]
fn malformed_yaml_is_reported_with_path_and_line() {
    let err = render("broken/bad-yaml", DirectoryOptions::default()).expect_err("bad yaml");
    assert!(
        err.starts_with("failed to render app plain: read directory:"),
        "{err}"
    );
    assert!(err.contains("broken/bad-yaml/bad.yaml at line 7"), "{err}");
}

#[test]
fn duplicate_identity_names_both_files() {
    let err = render("broken/dup", DirectoryOptions::default()).expect_err("duplicate");
    assert!(
        err.contains("/ConfigMap/shop/same")
            && err.contains("broken/dup/one.yaml:1")
            && err.contains("broken/dup/two.yaml:1"),
        "{err}"
    );
}

#[test]
fn missing_path_names_the_app_and_path() {
    let err = render("nowhere", DirectoryOptions::default()).expect_err("missing");
    assert!(
        err.contains("app plain") && err.contains("\"nowhere\""),
        "{err}"
    );
}
