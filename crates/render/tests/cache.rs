//! The render cache over real git repositories: a commit that does not touch an app's
//! inputs does not run its tool again, also after a restart.

mod common;

use common::*;
use driftless_render::spec::KustomizeOptions;
use driftless_render::{
    HelmOptions, Method, ProcessRunner, RecordingRunner, RenderCache, RenderParams, Toolbox,
    TreeSource, render_at_commit,
};
use pretty_assertions::assert_eq;
use std::collections::BTreeMap;

struct Fixture {
    apps: GitRepo,
    values: GitRepo,
    cache_dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let apps = GitRepo::new();
    copy_dir(&repo().join("charts/web"), &apps.path().join("apps/a"));
    copy_dir(&repo().join("kustomize/base"), &apps.path().join("kbase"));
    std::fs::create_dir_all(apps.path().join("apps/b")).expect("mkdir");
    std::fs::write(
        apps.path().join("apps/b/kustomization.yaml"),
        "resources:\n  - ../../kbase\npatches:\n  - path: replicas.yaml\n",
    )
    .expect("write");
    std::fs::copy(
        repo().join("kustomize/overlays/prod/replicas.yaml"),
        apps.path().join("apps/b/replicas.yaml"),
    )
    .expect("copy");
    let values = GitRepo::new();
    copy_dir(&testdata().join("values-repo"), values.path());
    Fixture {
        apps,
        values,
        cache_dir: tempfile::tempdir().expect("temp"),
    }
}

fn app_a() -> RenderParams {
    RenderParams {
        path: "apps/a".into(),
        method: Method::Helm(HelmOptions {
            release_name: "a".into(),
            namespace: "shop".into(),
            value_files: vec!["$values/env/prod.yaml".into()],
            ..HelmOptions::default()
        }),
    }
}

fn app_b() -> RenderParams {
    RenderParams {
        path: "apps/b".into(),
        method: Method::Kustomize(KustomizeOptions {
            name_prefix: Some("b-".into()),
            ..KustomizeOptions::default()
        }),
    }
}

/// Renders A and B at the given commits; returns (A hit, B hit, tools run, A's objects).
fn render_both(
    f: &Fixture,
    cache: &RenderCache,
    apps_commit: &str,
    values_commit: &str,
) -> (bool, bool, usize, Vec<serde_json::Value>) {
    let tools = tools();
    let runner = RecordingRunner::new(ProcessRunner::default());
    let toolbox = Toolbox {
        tools: &tools,
        runner: &runner,
        charts: None,
    };
    let main = f.apps.at(apps_commit);
    let values = f.values.at(values_commit);
    let mut refs: BTreeMap<String, &dyn TreeSource> = BTreeMap::new();
    refs.insert("values".into(), &values);
    let a = render_at_commit(toolbox, Some(cache), "a", &app_a(), &main, &refs).expect("A renders");
    let b = render_at_commit(toolbox, Some(cache), "b", &app_b(), &main, &BTreeMap::new())
        .expect("B renders");
    let objects = a.rendered.manifests.into_iter().map(|m| m.object).collect();
    (
        a.cache_hit,
        b.cache_hit,
        runner.invocations().len(),
        objects,
    )
}

fn port(objects: &[serde_json::Value]) -> serde_json::Value {
    find(objects, "Service", "a-web")["spec"]["ports"][0]["port"].clone()
}

#[test]
fn only_the_touched_app_is_rendered_again() {
    let f = fixture();
    let cache = RenderCache::open(f.cache_dir.path()).expect("cache");
    let c1 = f.apps.commit("two apps");
    let v1 = f.values.commit("values");

    let (a_hit, b_hit, runs, cold) = render_both(&f, &cache, &c1, &v1);
    assert_eq!(
        (a_hit, b_hit, runs),
        (false, false, 2),
        "cold: helm and kustomize run"
    );
    assert_eq!(port(&cold), 8080);

    let (a_hit, b_hit, runs, warm) = render_both(&f, &cache, &c1, &v1);
    assert_eq!(
        (a_hit, b_hit, runs),
        (true, true, 0),
        "same commit: all from cache"
    );
    assert_eq!(warm, cold, "a cached render is the render");

    // A commit elsewhere in the repository touches neither app.
    std::fs::write(f.apps.path().join("README.md"), "docs\n").expect("write");
    let c2 = f.apps.commit("docs only");
    assert_eq!(
        render_both(&f, &cache, &c2, &v1).2,
        0,
        "unrelated commit: nothing runs"
    );

    // A commit touching only A re-renders A and reuses B.
    std::fs::write(f.apps.path().join("apps/a/values.yaml"), "replicas: 7\nimage: {repository: nginx, tag: \"1\"}\ngreeting: hi\nport: 80\nconfig: \"\"\nhosts: []\n").expect("write");
    let c3 = f.apps.commit("touch A");
    let (a_hit, b_hit, runs, objects) = render_both(&f, &cache, &c3, &v1);
    assert_eq!((a_hit, b_hit, runs), (false, true, 1), "only A's helm ran");
    assert_eq!(find(&objects, "Deployment", "a-web")["spec"]["replicas"], 7);

    // B's base lives outside B's path; changing it re-renders B only.
    std::fs::write(
        f.apps.path().join("kbase/settings.properties"),
        "LOG_LEVEL=debug\n",
    )
    .expect("write");
    let c4 = f.apps.commit("touch B's base");
    let (a_hit, b_hit, runs, _) = render_both(&f, &cache, &c4, &v1);
    assert_eq!(
        (a_hit, b_hit, runs),
        (true, false, 1),
        "only B's kustomize ran"
    );

    // A's `$values` file lives in another repository.
    std::fs::write(f.values.path().join("env/prod.yaml"), "port: 9090\n").expect("write");
    let v2 = f.values.commit("new port");
    let (a_hit, b_hit, runs, objects) = render_both(&f, &cache, &c4, &v2);
    assert_eq!(
        (a_hit, b_hit, runs),
        (false, true, 1),
        "ref source change re-renders A"
    );
    assert_eq!(port(&objects), 9090);

    // A restart: a new cache on the same directory still has both renders.
    let reopened = RenderCache::open(f.cache_dir.path()).expect("cache");
    let (a_hit, b_hit, runs, after_restart) = render_both(&f, &reopened, &c4, &v2);
    assert_eq!(
        (a_hit, b_hit, runs),
        (true, true, 0),
        "cache persisted on disk"
    );
    assert_eq!(after_restart, objects);
}

#[test]
fn different_parameters_do_not_share_an_entry() {
    let f = fixture();
    let cache = RenderCache::open(f.cache_dir.path()).expect("cache");
    let c1 = f.apps.commit("apps");
    let tools = tools();
    let runner = RecordingRunner::new(ProcessRunner::default());
    let toolbox = Toolbox {
        tools: &tools,
        runner: &runner,
        charts: None,
    };
    let main = f.apps.at(&c1);
    let prefixed = app_b();
    let plain = RenderParams {
        method: Method::Kustomize(KustomizeOptions::default()),
        ..app_b()
    };
    let first = render_at_commit(
        toolbox,
        Some(&cache),
        "b",
        &prefixed,
        &main,
        &BTreeMap::new(),
    )
    .expect("renders");
    let second = render_at_commit(toolbox, Some(&cache), "b", &plain, &main, &BTreeMap::new())
        .expect("renders");
    assert!(!first.cache_hit && !second.cache_hit);
    assert_eq!(runner.invocations().len(), 2);
    let names: Vec<_> = second
        .rendered
        .manifests
        .iter()
        .map(|m| m.object["metadata"]["name"].clone())
        .collect();
    assert!(names.contains(&"api".into()), "{names:?}");
}

#[test]
fn unknown_path_at_commit_names_app_and_commit() {
    let f = fixture();
    let c1 = f.apps.commit("apps");
    let tools = tools();
    let runner = RecordingRunner::new(ProcessRunner::default());
    let params = RenderParams {
        path: "apps/zzz".into(),
        ..app_b()
    };
    let err = render_at_commit(
        Toolbox {
            tools: &tools,
            runner: &runner,
            charts: None,
        },
        None,
        "b",
        &params,
        &f.apps.at(&c1),
        &BTreeMap::new(),
    )
    .expect_err("missing path")
    .to_string();
    assert!(
        err.contains("app b") && err.contains("apps/zzz") && err.contains(&c1),
        "{err}"
    );
}
