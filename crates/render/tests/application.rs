//! Whole Applications (Argo CD manifests) rendered from git repositories read through
//! driftless-source's cache, the way the controller and `driftless render` use it.

mod common;

use common::*;
use driftless_model::Application;
use driftless_render::{
    CachedRepos, Engine, ProcessRunner, RecordingRunner, RenderCache, Toolbox, render_application,
};
use driftless_source::{RepoCache, RepoCredentials};
use pretty_assertions::assert_eq;

struct Repos {
    apps: GitRepo,
    values: GitRepo,
    git_cache: tempfile::TempDir,
}

fn repos() -> Repos {
    let apps = GitRepo::new();
    copy_dir(&repo().join("charts/web"), &apps.path().join("apps/a"));
    copy_dir(
        &repo().join("kustomize/base"),
        &apps.path().join("apps/base"),
    );
    copy_dir(&repo().join("plain"), &apps.path().join("plain"));
    std::fs::create_dir_all(apps.path().join("apps/b")).expect("mkdir");
    std::fs::write(
        apps.path().join("apps/b/kustomization.yaml"),
        "resources:\n  - ../base\n",
    )
    .expect("write");
    apps.commit("apps");
    let values = GitRepo::new();
    copy_dir(&testdata().join("values-repo"), values.path());
    values.commit("values");
    Repos {
        apps,
        values,
        git_cache: tempfile::tempdir().expect("temp"),
    }
}

fn url(repo: &GitRepo) -> String {
    format!("file://{}", repo.path().display())
}

fn application(file: &str, repos: &Repos) -> Application {
    let text = std::fs::read_to_string(testdata().join("apps").join(file)).expect("fixture");
    let text = text
        .replace("APPS_URL", &url(&repos.apps))
        .replace("VALUES_URL", &url(&repos.values));
    serde_norway::from_str(&text).expect("Application parses")
}

fn git_cache(repos: &Repos) -> RepoCache {
    let cache = RepoCache::new(repos.git_cache.path()).expect("repo cache");
    for repo in [&repos.apps, &repos.values] {
        cache
            .sync(&url(repo), &RepoCredentials::anonymous(), "main")
            .expect("sync");
    }
    cache
}

#[test]
fn multi_source_application_renders_from_git_and_then_from_cache() {
    let repos = repos();
    let app = application("multi-source.yaml", &repos);
    let git = git_cache(&repos);
    let render_cache_dir = tempfile::tempdir().expect("temp");
    let render_cache = RenderCache::open(render_cache_dir.path()).expect("render cache");
    let tools = tools();
    let runner = RecordingRunner::new(ProcessRunner::default());
    let engine = Engine {
        toolbox: Toolbox {
            tools: &tools,
            runner: &runner,
            charts: None,
        },
        cache: Some(&render_cache),
        discovery: None,
        kube_version: None,
        api_versions: &[],
    };
    let out = render_application(&app, &CachedRepos::git(&git), engine).expect("renders");
    let objects: Vec<_> = out.objects.iter().map(|o| o.object.clone()).collect();
    assert_eq!(
        out.sources
            .iter()
            .map(|s| (s.index, s.cache_hit))
            .collect::<Vec<_>>(),
        [(0, false), (2, false)]
    );
    assert_eq!(runner.invocations().len(), 2);

    let deployment = find(&objects, "Deployment", "web-web");
    assert_eq!(deployment["spec"]["replicas"], 4, "helm parameter");
    assert_eq!(deployment["metadata"]["namespace"], "shop");
    assert_eq!(
        find(&objects, "Service", "web-web")["spec"]["ports"][0]["port"],
        8080,
        "$values from the ref source"
    );
    let api = find(&objects, "Deployment", "b-api");
    assert_eq!(api["spec"]["replicas"], 6, "string replica count");
    assert_eq!(
        api["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/api:3.0"
    );
    let keys: Vec<String> = out.objects.iter().map(|o| o.key.to_string()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by group, kind, namespace, name");

    runner.clear();
    let again = render_application(&app, &CachedRepos::git(&git), engine).expect("renders");
    assert!(again.sources.iter().all(|s| s.cache_hit));
    assert!(runner.invocations().is_empty());
    assert_eq!(again.objects, out.objects);
}

#[test]
fn source_type_is_detected_from_the_files() {
    let repos = repos();
    let app = application("detected.yaml", &repos);
    let git = git_cache(&repos);
    let tools = tools();
    let runner = RecordingRunner::new(ProcessRunner::default());
    let engine = Engine {
        toolbox: Toolbox {
            tools: &tools,
            runner: &runner,
            charts: None,
        },
        cache: None,
        discovery: None,
        kube_version: Some("1.31.0"),
        api_versions: &[],
    };
    let out = render_application(&app, &CachedRepos::git(&git), engine).expect("renders");
    let objects: Vec<_> = out.objects.iter().map(|o| o.object.clone()).collect();
    let programs: Vec<String> = runner
        .invocations()
        .iter()
        .map(|i| i.args[0].clone())
        .collect();
    assert_eq!(programs.len(), 2, "helm and kustomize ran: {programs:?}");
    let web = find(&objects, "Deployment", "detected-web");
    assert_eq!(
        web["metadata"]["namespace"], "team",
        "release name is the app name"
    );
    assert_eq!(
        web["metadata"]["labels"]["kube-minor"], "31",
        "cluster version passed to helm"
    );
    find(&objects, "Deployment", "api");
    find(&objects, "ConfigMap", "plain-settings");
}

#[test]
fn unknown_revision_and_chart_repositories_are_errors() {
    let repos = repos();
    let git = git_cache(&repos);
    let tools = tools();
    let runner = RecordingRunner::new(ProcessRunner::default());
    let engine = Engine::offline(Toolbox {
        tools: &tools,
        runner: &runner,
        charts: None,
    });
    let mut app = application("detected.yaml", &repos);
    if let Some(sources) = app.spec.sources.as_mut() {
        sources[0].target_revision = Some("no-such-branch".into());
    }
    let err = render_application(&app, &CachedRepos::git(&git), engine)
        .expect_err("unknown revision")
        .to_string();
    assert!(
        err.contains("app detected") && err.contains("no-such-branch"),
        "{err}"
    );

    let mut app = application("detected.yaml", &repos);
    if let Some(sources) = app.spec.sources.as_mut() {
        sources[0].chart = Some("redis".into());
    }
    let err = render_application(&app, &CachedRepos::git(&git), engine)
        .expect_err("chart repo")
        .to_string();
    assert!(
        err.contains("redis") && err.contains("no chart repository cache"),
        "{err}"
    );

    let mut app = application("detected.yaml", &repos);
    if let Some(sources) = app.spec.sources.as_mut() {
        sources[0].helm.get_or_insert_with(Default::default).version = Some("v2".into());
    }
    let err = render_application(&app, &CachedRepos::git(&git), engine)
        .expect_err("helm v2")
        .to_string();
    assert!(err.contains("helm v2") && err.contains("Helm v3"), "{err}");
}

/// A directory app read straight from git objects gives what the same files on disk give:
/// the globs and `recurse` choose the same files, in the same order, with the same origins;
/// and where git holds what only an export checks (a symlink) or a file needs the disk
/// (Jsonnet's imports), the render still reads it all, from an export.
#[test]
fn a_directory_app_from_git_renders_as_the_same_files_on_disk() {
    let repos = repos();
    let linked = repos.apps.path().join("linked");
    std::fs::create_dir_all(linked.join("sub")).expect("mkdir");
    std::fs::write(
        linked.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: linked}\n",
    )
    .expect("write");
    std::os::unix::fs::symlink("../cm.yaml", linked.join("sub/again.yaml")).expect("symlink");
    let with_jsonnet = repos.apps.path().join("with-jsonnet");
    std::fs::create_dir_all(&with_jsonnet).expect("mkdir");
    std::fs::write(
        with_jsonnet.join("cm.jsonnet"),
        "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'from-jsonnet'}}\n",
    )
    .expect("write");
    std::fs::write(
        with_jsonnet.join("plain.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: beside-jsonnet}\n",
    )
    .expect("write");
    repos.apps.commit("linked and jsonnet");
    let git = git_cache(&repos);
    let tools = tools();
    // Directories run no tool: the plain runner is enough.
    let toolbox = Toolbox {
        tools: &tools,
        runner: &ProcessRunner::default(),
        charts: None,
    };
    let engine = Engine {
        toolbox,
        cache: None,
        discovery: None,
        kube_version: None,
        api_versions: &[],
    };
    let render = |path: &str, directory: &str| {
        let text = format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: dir}}\n\
             spec:\n  project: default\n  destination: {{namespace: team}}\n  source:\n    \
             repoURL: {}\n    path: {path}\n    directory: {directory}\n",
            url(&repos.apps)
        );
        let app: Application = serde_norway::from_str(&text).expect("Application parses");
        let from_git = render_application(&app, &CachedRepos::git(&git), engine).expect("renders");
        let params = driftless_render::RenderParams {
            path: path.to_string(),
            method: driftless_render::Method::Directory(
                serde_norway::from_str(directory).expect("options"),
            ),
        };
        let from_disk = driftless_render::render_dir(
            toolbox,
            "dir",
            repos.apps.path(),
            &[],
            &params,
            "team",
            None,
        )
        .expect("renders from disk");
        assert_eq!(from_git.objects, from_disk, "{path} {directory}");
        from_git
            .objects
            .iter()
            .map(|o| format!("{} {}", o.key, o.origin.file))
            .collect::<Vec<_>>()
    };

    assert_eq!(
        render("plain", "{recurse: true, exclude: '*skip-me*'}"),
        [
            "/ConfigMap/other/from-json plain/nested/extra.json",
            "/ConfigMap/team/plain-settings plain/app.yaml",
            "/Namespace//shop plain/namespace.yaml",
            "/Service/team/plain plain/app.yaml",
        ]
    );
    assert_eq!(
        render("plain", "{}").len(),
        3,
        "without recurse, the top level only"
    );
    assert_eq!(
        render("plain", "{recurse: true, include: 'nested/*'}"),
        [
            "/ConfigMap/other/from-json plain/nested/extra.json",
            "/ConfigMap/team/skipped plain/nested/skip-me.yaml",
        ]
    );
    assert_eq!(
        render("linked", "{}"),
        ["/ConfigMap/team/linked linked/cm.yaml"]
    );
    assert_eq!(
        render("with-jsonnet", "{}"),
        [
            "/ConfigMap/team/beside-jsonnet with-jsonnet/plain.yaml",
            "/ConfigMap/team/from-jsonnet with-jsonnet/cm.jsonnet",
        ]
    );
}
