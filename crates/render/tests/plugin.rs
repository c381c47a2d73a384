//! Config management plugins run for real: the plugins of `testdata/plugins/run` (small shell
//! plugins) on the repository `testdata/plugins/repo`, through whole Applications.

mod common;

use common::*;
use driftless_model::Application;
use driftless_render::plugin::{BuildEnv, Plugins};
use driftless_render::{
    CachedRepos, DirResolver, Engine, Method, PluginOptions, ProcessRunner, RecordingRunner,
    RenderCache, RenderParams, ToolRunner, Toolbox, Tools, render_application, render_dir,
};
use driftless_source::{RepoCache, RepoCredentials};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const API_VERSIONS: &[&str] = &["v1", "apps/v1"];

fn plugin_repo() -> PathBuf {
    testdata().join("plugins/repo")
}

/// The test plugins, with `@HERE@` in their commands replaced by their directory.
fn tools() -> Tools {
    let dir = testdata().join("plugins/run");
    let mut plugins = Plugins::load(&dir);
    assert_eq!(plugins.plugins.len(), 12, "every fixture plugin loads");
    for plugin in &mut plugins.plugins {
        let here = plugin
            .file
            .parent()
            .expect("in a directory")
            .display()
            .to_string();
        for arg in plugin
            .init
            .command
            .iter_mut()
            .chain(&mut plugin.init.args)
            .chain(&mut plugin.generate.command)
            .chain(&mut plugin.generate.args)
        {
            *arg = arg.replace("@HERE@", &here);
        }
    }
    Tools {
        plugins,
        ..Tools::default()
    }
}

fn engine<'a>(tools: &'a Tools, runner: &'a dyn ToolRunner, api: &'a [String]) -> Engine<'a> {
    Engine {
        toolbox: Toolbox {
            tools,
            runner,
            charts: None,
        },
        cache: None,
        discovery: None,
        kube_version: Some("v1.30.2+k3s1"),
        api_versions: api,
    }
}

fn api_versions() -> Vec<String> {
    API_VERSIONS.iter().map(|v| v.to_string()).collect()
}

fn app(source: Value) -> Application {
    serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "guestbook", "namespace": "argocd"},
        "spec": {
            "project": "team-a",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
            "source": source,
        },
    }))
    .expect("Application")
}

fn source(path: &str, plugin: Option<Value>) -> Value {
    let mut source = json!({
        "repoURL": "https://git.example/repo.git",
        "targetRevision": "main",
        "path": path,
    });
    if let Some(plugin) = plugin {
        source["plugin"] = plugin;
    }
    source
}

/// Renders `app` from the fixture repository; objects or the error text.
fn render_with(
    app: &Application,
    tools: &Tools,
    runner: &dyn ToolRunner,
) -> Result<Vec<Value>, String> {
    let api = api_versions();
    let resolver = DirResolver {
        root: plugin_repo(),
    };
    render_application(app, &resolver, engine(tools, runner, &api))
        .map(|out| out.objects.into_iter().map(|o| o.object).collect())
        .map_err(|e| e.to_string())
}

fn render(app: &Application) -> Result<Vec<Value>, String> {
    render_with(app, &tools(), &ProcessRunner::default())
}

fn names(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| {
            o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// True while some process runs `sleep <duration>`.
fn sleeping(duration: &str) -> bool {
    let wanted = format!("sleep\0{duration}\0");
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .any(|entry| {
            std::fs::read(entry.path().join("cmdline"))
                .is_ok_and(|cmdline| cmdline == wanted.as_bytes())
        })
}

fn untouched(dir: &Path) {
    assert!(
        !dir.join("init-output.txt").exists(),
        "the plugin wrote into {}: it must work on a copy",
        dir.display()
    );
}

#[test]
fn a_named_plugin_renders_from_argo_cds_environment_env_and_parameters() {
    assert!(
        std::env::var("CARGO_PKG_NAME").is_ok(),
        "cargo sets CARGO_PKG_NAME in the test's environment; the plugin must not see it"
    );
    let app = app(source(
        "apps/cm",
        Some(json!({
            "name": "configmap-v1",
            "env": [
                {"name": "FOO", "value": "bar"},
                {"name": "REV", "value": "rev-$ARGOCD_APP_SOURCE_TARGET_REVISION"},
            ],
            "parameters": [
                {"name": "image.tag", "string": "v1.2.3"},
                {"name": "value-files", "array": ["a.yaml", "b.yaml"]},
                {"name": "helm-parameters", "map": {"image.tag": "v9"}},
            ],
        })),
    ));
    let objects = render(&app).expect("renders");
    assert_eq!(names(&objects), ["guestbook-config"]);
    let cm = &objects[0];
    assert_eq!(
        cm["metadata"]["namespace"], "web",
        "destination namespace applied"
    );
    let data = &cm["data"];
    let expected = json!({
        "namespace": "web",
        "project": "team-a",
        // A directory on disk has no commit: the target revision stands in.
        "revision": "main",
        "revisionShort": "main",
        "path": "apps/cm",
        "repo": "https://git.example/repo.git",
        "targetRevision": "main",
        "kubeVersion": "1.30.2",
        "apiVersions": "v1,apps/v1",
        "foo": "bar",
        "rev": "rev-main",
        "tag": "v1.2.3",
        "firstFile": "a.yaml",
        "secondFile": "b.yaml",
        "helmTag": "v9",
        "parameters": r#"[{"name":"image.tag","string":"v1.2.3"},{"array":["a.yaml","b.yaml"],"name":"value-files"},{"map":{"image.tag":"v9"},"name":"helm-parameters"}]"#,
        "init": "init ran in cm",
        "leaked": "unset",
        "home": data["home"],
        "homeWritable": "yes",
        "readme": "hello from the repo",
        "executable": "no",
    });
    assert_eq!(data, &expected);
    let home = data["home"].as_str().expect("home");
    assert_ne!(Some(home.to_string()), std::env::var("HOME").ok());
    assert!(
        !Path::new(home).exists(),
        "the private HOME is removed after the render"
    );
    untouched(&plugin_repo().join("apps/cm"));
}

#[test]
fn the_revision_is_the_commit_when_rendered_from_git() {
    let repo = GitRepo::new();
    copy_dir(&plugin_repo(), repo.path());
    let commit = repo.commit("plugin apps");
    let url = format!("file://{}", repo.path().display());
    let cache_dir = tempfile::tempdir().expect("temp");
    let git = RepoCache::new(cache_dir.path()).expect("repo cache");
    git.sync(&url, &RepoCredentials::anonymous(), "main")
        .expect("sync");
    let mut source = source("apps/cm", Some(json!({"name": "configmap-v1"})));
    source["repoURL"] = json!(url);
    let app = app(source);
    let tools = tools();
    let runner = ProcessRunner::default();
    let api = api_versions();
    let out = render_application(&app, &CachedRepos::git(&git), engine(&tools, &runner, &api))
        .expect("renders");
    let data = &out.objects[0].object["data"];
    assert_eq!(data["revision"], commit.as_str());
    assert_eq!(data["revisionShort"], &commit[..7]);
    assert_eq!(data["targetRevision"], "main");
    assert_eq!(
        data["readme"], "hello from the repo",
        "the whole commit is exported"
    );
    assert_eq!(data["init"], "init ran in cm");
    assert_eq!(
        data["parameters"], "null",
        "a plugin block without parameters"
    );
    untouched(&repo.path().join("apps/cm"));
}

#[test]
fn a_plugin_block_without_a_name_takes_the_first_plugin_whose_discovery_matches() {
    let cases = [
        ("apps/cue", "cue"),                   // find.glob **/*.cue
        ("apps/envfile", "envfile-guestbook"), // fileName ./env*.yaml
        ("apps/finder", "finder"),             // find.command prints marker.txt
    ];
    for (path, expected) in cases {
        let objects = render(&app(source(path, Some(json!({}))))).expect(path);
        assert_eq!(names(&objects), [expected], "{path}");
    }
}

#[test]
fn a_source_that_says_nothing_is_offered_to_the_plugins_before_kustomize() {
    // apps/envfile also has a kustomization.yaml: Argo CD asks the plugins first.
    let objects = render(&app(source("apps/envfile", None))).expect("renders");
    assert_eq!(names(&objects), ["envfile-guestbook"]);
    assert_eq!(
        objects[0]["data"]["parameters"], "unset",
        "without a plugin block Argo CD sets no ARGOCD_APP_PARAMETERS"
    );
    // No plugin claims plain manifests: they are read as a directory.
    let objects = render(&app(source("apps/plain", None))).expect("renders");
    assert_eq!(names(&objects), ["plain"]);
}

#[test]
fn no_matching_plugin_is_a_clear_error() {
    let error = render(&app(source("apps/nothing", Some(json!({}))))).expect_err("none");
    assert_eq!(
        error,
        "failed to render app guestbook: config management plugin: failed to find a plugin for \
         path apps/nothing: no plugin's discover rules match"
    );
    let error = render(&app(source("apps/cm", Some(json!({"name": "configmap"}))))).expect_err("x");
    assert!(
        error.contains(
            "failed to find plugin \"configmap\": the plugins are background, configmap-v1, cue, empty-list,"
        ),
        "{error}"
    );
    assert!(error.contains("<name>-<version>"), "{error}");
    let error = render(&app(source("apps/nothing", Some(json!({"name": "cue"}))))).expect_err("x");
    assert!(
        error.contains(
            "failed to use plugin \"cue\": its discover rules do not match path apps/nothing"
        ),
        "{error}"
    );
}

#[test]
fn without_plugins_a_plugin_source_says_how_to_configure_them() {
    let error = render_with(
        &app(source("apps/cm", Some(json!({"name": "configmap-v1"})))),
        &Tools::default(),
        &ProcessRunner::default(),
    )
    .expect_err("no plugins");
    assert!(
        error.contains("failed to find plugin \"configmap-v1\": no plugins are configured"),
        "{error}"
    );
    assert!(error.contains("DRIFTLESS_PLUGIN_DIR"), "{error}");
}

#[test]
fn a_hanging_plugin_is_killed_at_the_timeout() {
    let runner = ProcessRunner {
        timeout: Duration::from_secs(1),
        ..ProcessRunner::default()
    };
    let started = Instant::now();
    let error = render_with(
        &app(source("apps/nothing", Some(json!({"name": "hang"})))),
        &tools(),
        &runner,
    )
    .expect_err("times out");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !sleeping("30.4242"),
        "the command's child outlived the timeout"
    );
    assert!(
        error.contains("failed to run plugin hang generate: killed after the 1s timeout"),
        "{error}"
    );
}

#[test]
fn processes_a_plugin_leaves_behind_are_killed() {
    let started = Instant::now();
    let objects = render(&app(source(
        "apps/nothing",
        Some(json!({"name": "background"})),
    )))
    .expect("renders");
    assert_eq!(names(&objects), ["background"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the leftover sleep held the output open: {:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(!sleeping("31.4242"), "the leftover process still runs");
}

#[test]
fn output_that_is_not_objects_is_an_error_naming_the_plugin() {
    let error = render(&app(source(
        "apps/nothing",
        Some(json!({"name": "garbage"})),
    )))
    .expect_err("scalar");
    assert!(
        error.contains("failed to read the output of plugin garbage generate"),
        "{error}"
    );
    assert!(error.contains("not a Kubernetes object"), "{error}");
    let error = render(&app(source(
        "apps/nothing",
        Some(json!({"name": "unparsable"})),
    )))
    .expect_err("not YAML");
    assert!(
        error.contains("failed to read the output of plugin unparsable generate: failed to parse plugin unparsable output (apps/nothing) at line"),
        "{error}"
    );
}

#[test]
fn a_failing_command_shows_its_stderr() {
    let error =
        render(&app(source("apps/nothing", Some(json!({"name": "fail"}))))).expect_err("exit 3");
    assert!(
        error.contains("failed to run plugin fail generate: it exited with exit status: 3: values.yaml: no such file"),
        "{error}"
    );
    let error = render(&app(source(
        "apps/nothing",
        Some(json!({"name": "init-fails"})),
    )))
    .expect_err("init fails");
    assert!(
        error.contains(
            "failed to run plugin init-fails init: it exited with exit status: 1: init broke"
        ),
        "{error}"
    );
}

#[test]
fn blank_output_is_refused_but_an_empty_list_renders_nothing() {
    let error = render(&app(source(
        "apps/nothing",
        Some(json!({"name": "silent"})),
    )))
    .expect_err("blank");
    assert!(
        error.contains("plugin silent generate: it printed nothing"),
        "{error}"
    );
    let objects = render(&app(source(
        "apps/nothing",
        Some(json!({"name": "empty-list"})),
    )))
    .expect("an empty List is deliberate");
    assert!(objects.is_empty());
}

#[test]
fn plugin_renders_are_never_cached() {
    let cache_dir = tempfile::tempdir().expect("temp");
    let cache = RenderCache::open(cache_dir.path()).expect("cache");
    let tools = tools();
    let runner = RecordingRunner::new(ProcessRunner::default());
    let api = api_versions();
    let mut engine = engine(&tools, &runner, &api);
    engine.cache = Some(&cache);
    let app = app(source("apps/cm", Some(json!({"name": "configmap-v1"}))));
    let resolver = DirResolver {
        root: plugin_repo(),
    };
    for _ in 0..2 {
        let out = render_application(&app, &resolver, engine).expect("renders");
        assert!(!out.sources[0].cache_hit);
    }
    let programs: Vec<String> = runner
        .invocations()
        .iter()
        .map(|i| i.args.join(" "))
        .collect();
    assert_eq!(programs.len(), 4, "init and generate, twice: {programs:?}");
    assert!(programs[0].ends_with("init.sh") && programs[1].ends_with("generate.sh"));
}

#[test]
fn render_dir_runs_the_plugin_on_a_copy_of_the_directory() {
    let params = RenderParams {
        path: "apps/cm".into(),
        method: Method::Plugin(PluginOptions {
            name: Some("configmap-v1".into()),
            declared: true,
            build: BuildEnv {
                app_name: "guestbook".into(),
                ..BuildEnv::default()
            },
            ..PluginOptions::default()
        }),
    };
    let tools = tools();
    let runner = ProcessRunner::default();
    let toolbox = Toolbox {
        tools: &tools,
        runner: &runner,
        charts: None,
    };
    let objects = render_dir(
        toolbox,
        "guestbook",
        &plugin_repo(),
        &[],
        &params,
        "web",
        None,
    )
    .expect("renders");
    assert_eq!(objects[0].object["data"]["init"], "init ran in cm");
    assert_eq!(objects[0].object["metadata"]["name"], "guestbook-config");
    untouched(&plugin_repo().join("apps/cm"));
}
