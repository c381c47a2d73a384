//! Jsonnet directory sources end to end: a directory render, an Argo CD Application with
//! `directory.jsonnet`, and the render cache noticing a changed library file.

mod common;

use common::*;
use driftless_model::Application;
use driftless_render::{
    DirResolver, DirTree, DirectoryOptions, Engine, JsonnetOptions, JsonnetVar, Method,
    ProcessRunner, RecordingRunner, RenderCache, RenderParams, RepoResolver, Toolbox, Tools,
    TreeError, TreeSource, render_application, render_at_commit, render_dir,
};
use pretty_assertions::assert_eq;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    testdata().join("jsonnet")
}

fn render(path: &str, options: DirectoryOptions) -> Result<Vec<String>, String> {
    let tools = Tools::default();
    let runner = RecordingRunner::new(ProcessRunner::default());
    let toolbox = Toolbox {
        tools: &tools,
        runner: &runner,
        charts: None,
    };
    let params = RenderParams {
        path: path.into(),
        method: Method::Directory(options),
    };
    let out = render_dir(toolbox, "jsonnet", &fixtures(), &[], &params, "shop", None)
        .map(|objects| objects.into_iter().map(|o| o.key.to_string()).collect())
        .map_err(|e| e.to_string());
    assert!(runner.invocations().is_empty(), "no tool runs for Jsonnet");
    out
}

#[test]
fn a_directory_of_jsonnet_renders_its_objects_and_not_its_libsonnet() {
    assert_eq!(
        render("guestbook", DirectoryOptions::default()).expect("renders"),
        [
            "/Service/shop/jsonnet-guestbook-ui",
            "apps/Deployment/shop/jsonnet-guestbook-ui"
        ]
    );
}

#[test]
fn recurse_include_and_exclude_apply_to_jsonnet_as_to_yaml() {
    let top = render("filters", DirectoryOptions::default()).expect("renders");
    assert_eq!(
        top,
        [
            "/ConfigMap/shop/filter-a",
            "/ConfigMap/shop/filter-skip",
            "/ConfigMap/shop/filter-yaml"
        ]
    );
    let all = DirectoryOptions {
        recurse: true,
        exclude: Some("skip*".into()),
        ..DirectoryOptions::default()
    };
    assert_eq!(
        render("filters", all.clone()).expect("renders"),
        [
            "/ConfigMap/shop/filter-a",
            "/ConfigMap/shop/filter-sub-b",
            "/ConfigMap/shop/filter-yaml"
        ]
    );
    let include = DirectoryOptions {
        include: Some("sub/*".into()),
        ..all
    };
    assert_eq!(
        render("filters", include).expect("renders"),
        ["/ConfigMap/shop/filter-sub-b"]
    );
}

#[test]
fn a_jsonnet_file_that_fails_fails_the_render_naming_it() {
    let err = render("broken/syntax", DirectoryOptions::default()).expect_err("bad jsonnet");
    assert!(
        err.starts_with(
            "failed to render app jsonnet: read directory: failed to parse broken/syntax/bad.jsonnet"
        ),
        "{err}"
    );
    let err = render("outputs-bad/scalar", DirectoryOptions::default()).expect_err("a string");
    assert!(
        err.contains("outputs-bad/scalar/scalar.jsonnet: it is a string"),
        "{err}"
    );
}

fn application(tla_name: &str) -> Application {
    let text = format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook-tla
spec:
  project: default
  destination:
    namespace: web
  source:
    repoURL: https://git.example.com/apps.git
    path: guestbook-tla
    directory:
      jsonnet:
        tlas:
          - name: name
            value: "{tla_name}"
          - name: replicas
            value: "1 + 1"
            code: true
"#
    );
    serde_norway::from_str(&text).expect("Application parses")
}

/// The fixtures as if checked out at a commit, so the revision variables are known.
struct AtCommit(DirTree);

impl TreeSource for AtCommit {
    fn tree_id(&self, path: &str) -> Result<Option<String>, TreeError> {
        self.0.tree_id(path)
    }
    fn export(&self, path: &str, dest: &Path) -> Result<(), TreeError> {
        self.0.export(path, dest)
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn revision(&self) -> Option<String> {
        Some("0123456789abcdef0123456789abcdef01234567".into())
    }
}

struct CommitResolver;

impl RepoResolver for CommitResolver {
    fn open(&self, _url: &str, _revision: &str) -> Result<Box<dyn TreeSource + '_>, String> {
        Ok(Box::new(AtCommit(DirTree::new(fixtures()))))
    }
}

fn render_app(app: &Application) -> Result<Vec<Value>, String> {
    render_app_with(app, &DirResolver { root: fixtures() })
}

fn render_app_with(app: &Application, resolver: &dyn RepoResolver) -> Result<Vec<Value>, String> {
    let tools = Tools::default();
    let runner = RecordingRunner::new(ProcessRunner::default());
    let engine = Engine::offline(Toolbox {
        tools: &tools,
        runner: &runner,
        charts: None,
    });
    render_application(app, resolver, engine)
        .map(|out| out.objects.into_iter().map(|o| o.object).collect())
        .map_err(|e| e.to_string())
}

#[test]
fn an_application_passes_tlas_with_the_build_environment_expanded() {
    let objects = render_app(&application("$ARGOCD_APP_NAME-ui")).expect("renders");
    let deployment = find(&objects, "Deployment", "guestbook-tla-ui");
    assert_eq!(deployment["metadata"]["namespace"], "web");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let service = find(&objects, "Service", "guestbook-tla-ui");
    assert_eq!(service["spec"]["selector"]["app"], "guestbook-tla-ui");
}

#[test]
fn the_revision_variables_come_from_the_commit_rendered() {
    let app = application("ui-$ARGOCD_APP_REVISION_SHORT");
    let objects = render_app_with(&app, &CommitResolver).expect("renders");
    find(&objects, "Service", "ui-0123456");
}

#[test]
fn a_build_variable_driftless_cannot_know_is_an_error_not_a_guess() {
    let err = render_app(&application("ui-$ARGOCD_APP_REVISION_SHORT")).expect_err("unknown");
    assert!(
        err.contains("failed to expand $ARGOCD_APP_REVISION_SHORT in jsonnet tla \"name\""),
        "{err}"
    );
}

#[test]
fn the_render_cache_notices_a_changed_library_outside_the_app_path() {
    let repo = tempfile::tempdir().expect("temp");
    copy_dir(&fixtures(), repo.path());
    let cache_dir = tempfile::tempdir().expect("temp");
    let cache = RenderCache::open(cache_dir.path()).expect("cache");
    let tools = Tools::default();
    let runner = RecordingRunner::new(ProcessRunner::default());
    let toolbox = Toolbox {
        tools: &tools,
        runner: &runner,
        charts: None,
    };
    let params = RenderParams {
        path: "libs/app".into(),
        method: Method::Directory(DirectoryOptions {
            jsonnet: JsonnetOptions {
                libs: vec!["vendor".into(), "lib-a".into(), "lib-b".into()],
                ext_vars: vec![JsonnetVar {
                    name: "prefix".into(),
                    value: "p".into(),
                    code: false,
                }],
                ..JsonnetOptions::default()
            },
            ..DirectoryOptions::default()
        }),
    };
    let refs: BTreeMap<String, &dyn TreeSource> = BTreeMap::new();
    let render = || {
        let tree = DirTree::new(repo.path());
        let out = render_at_commit(toolbox, Some(&cache), "libs", &params, &tree, &refs)
            .expect("renders");
        let names: Vec<String> = out
            .rendered
            .manifests
            .iter()
            .map(|m| {
                m.object["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        (names, out.cache_hit)
    };
    assert_eq!(render(), (vec!["from-libs".to_string()], false));
    assert_eq!(render(), (vec!["from-libs".to_string()], true));
    std::fs::write(
        repo.path().join("vendor/util.libsonnet"),
        "{ dns(name):: 'v2-' + std.asciiLower(name) }\n",
    )
    .expect("edit the library");
    assert_eq!(render(), (vec!["v2-from_libs".to_string()], false));
}
