//! Charts from a Helm repository served on loopback (HTTPS with its own CA, basic auth) and
//! from a real OCI registry, rendered as Argo CD renders `repoURL` + `chart` + `targetRevision`;
//! charts made with the real `helm package` / `helm repo index` / `helm push`.

mod common;

use common::*;
use driftless_charts::ChartRepos;
use driftless_model::Application;
use driftless_render::{
    CachedRepos, ChartSources, Engine, ProcessRunner, Toolbox, render_application,
};
use driftless_source::{CredentialSecret, RepoCache, SecretKind};
use driftless_testkit::{HelmRepoServer, OciRegistry, index_repo, package_chart, write_chart};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const CONFIG_MAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-web\ndata:\n  version: {{ .Chart.Version | quote }}\n  greeting: {{ .Values.greeting | default \"hello\" | quote }}\n";

fn application(repo_url: &str, chart: &str, revision: &str, extra: &str) -> Application {
    let yaml = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: shop}}\nspec:\n  project: default\n  destination: {{server: https://kubernetes.default.svc, namespace: shop}}\n  source:\n    repoURL: {repo_url}\n    chart: {chart}\n    targetRevision: {revision:?}\n{extra}"
    );
    serde_norway::from_str(&yaml).expect("the test Application parses")
}

fn secret(url: &str, data: &[(&str, &str)]) -> CredentialSecret {
    let mut all: BTreeMap<String, String> = data
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.insert("url".into(), url.into());
    CredentialSecret {
        kind: SecretKind::Repository,
        name: "charts".into(),
        data: all,
    }
}

/// Publishes `web` at `version` into the served directory and re-indexes it.
fn publish(helm: &Path, served: &Path, version: &str, url: &str) {
    let work = tempfile::tempdir().expect("temp");
    let chart =
        write_chart(work.path(), "web", version, &[("cm.yaml", CONFIG_MAP)]).expect("chart");
    package_chart(helm, &chart, served).expect("helm package");
    index_repo(helm, served, url).expect("helm repo index");
}

struct Setup {
    tools: driftless_render::Tools,
    runner: ProcessRunner,
    git: RepoCache,
    charts: ChartRepos,
    _dirs: Vec<tempfile::TempDir>,
}

fn setup() -> Setup {
    let git_dir = tempfile::tempdir().expect("temp");
    let chart_dir = tempfile::tempdir().expect("temp");
    Setup {
        tools: tools(),
        runner: ProcessRunner::default(),
        git: RepoCache::new(git_dir.path()).expect("git cache"),
        charts: ChartRepos::new(chart_dir.path()).expect("chart cache"),
        _dirs: vec![git_dir, chart_dir],
    }
}

fn render(
    setup: &Setup,
    app: &Application,
    secrets: &[CredentialSecret],
    tls_certs: &BTreeMap<String, String>,
    max_age: Duration,
) -> Result<Vec<Value>, String> {
    let sources = ChartSources {
        repos: &setup.charts,
        secrets,
        project: Some("default"),
        max_age,
        tls_certs,
    };
    let engine = Engine::offline(Toolbox {
        tools: &setup.tools,
        runner: &setup.runner,
        charts: None,
    });
    let repos = CachedRepos {
        cache: &setup.git,
        charts: Some(sources),
    };
    render_application(app, &repos, engine)
        .map(|r| r.objects.into_iter().map(|o| o.object).collect())
        .map_err(|e| e.to_string())
}

fn version_of(objects: &[Value]) -> String {
    let cm = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .expect("the chart's ConfigMap");
    assert_eq!(
        cm["metadata"]["name"], "shop-web",
        "release name is the app name"
    );
    assert_eq!(cm["metadata"]["namespace"], "shop");
    cm["data"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_chart_from_an_https_repository_with_basic_auth_renders_and_follows_its_constraint() {
    let helm = helm();
    let served = tempfile::tempdir().expect("temp");
    let server = HelmRepoServer::builder(served.path())
        .tls()
        .basic_auth("robot", "s3cret-password")
        .start()
        .expect("server");
    publish(&helm, served.path(), "1.0.0", &server.url());
    publish(&helm, served.path(), "2.0.0", &server.url());
    let setup = setup();
    let host = "127.0.0.1".to_string();
    let certs = BTreeMap::from([(host, server.ca_pem().expect("tls").to_string())]);
    let secrets = [secret(
        &server.url(),
        &[
            ("type", "helm"),
            ("username", "robot"),
            ("password", "s3cret-password"),
        ],
    )];
    let app = application(&server.url(), "web", "1.*", "");
    let hour = Duration::from_secs(3600);

    let first = render(&setup, &app, &secrets, &certs, hour).expect("renders");
    assert_eq!(version_of(&first), "1.0.0", "1.* never takes 2.0.0");
    let again = render(&setup, &app, &secrets, &certs, hour).expect("renders");
    assert_eq!(again, first);
    assert_eq!(
        server.count("/index.yaml"),
        1,
        "one index request within max_age"
    );
    assert_eq!(
        server.downloads("/web-1.0.0.tgz"),
        1,
        "one download per version"
    );

    publish(&helm, served.path(), "1.1.0", &server.url());
    let held = render(&setup, &app, &secrets, &certs, hour).expect("renders");
    assert_eq!(
        version_of(&held),
        "1.0.0",
        "the index is not re-read within max_age"
    );
    let newer = render(&setup, &app, &secrets, &certs, Duration::ZERO).expect("renders");
    assert_eq!(
        version_of(&newer),
        "1.1.0",
        "a new matching version is picked up"
    );
    let counts = setup.charts.counts();
    assert_eq!(counts.index_requests, 2);
    assert_eq!(counts.archive_downloads, 2);

    // Unchanged index: the conditional request is answered 304.
    render(&setup, &app, &secrets, &certs, Duration::ZERO).expect("renders");
    assert_eq!(setup.charts.counts().index_not_modified, 1);
}

#[test]
fn wrong_credentials_missing_versions_and_corrupt_archives_are_clear_errors() {
    let helm = helm();
    let served = tempfile::tempdir().expect("temp");
    let server = HelmRepoServer::builder(served.path())
        .basic_auth("robot", "right-password")
        .start()
        .expect("server");
    publish(&helm, served.path(), "1.0.0", &server.url());
    let no_certs = BTreeMap::new();
    let wrong = [secret(
        &server.url(),
        &[
            ("type", "helm"),
            ("username", "robot"),
            ("password", "wrong-password-123"),
        ],
    )];
    let app = application(&server.url(), "web", "1.0.0", "");
    let error = render(&setup(), &app, &wrong, &no_certs, Duration::ZERO).expect_err("401");
    assert!(
        error.contains("401") && error.contains(&server.url()),
        "{error}"
    );
    assert!(
        !error.contains("wrong-password-123"),
        "no secret in errors: {error}"
    );

    let right = [secret(
        &server.url(),
        &[
            ("type", "helm"),
            ("username", "robot"),
            ("password", "right-password"),
        ],
    )];
    let missing = application(&server.url(), "web", "9.9.9", "");
    let error =
        render(&setup(), &missing, &right, &no_certs, Duration::ZERO).expect_err("no 9.9.9");
    assert!(
        error.contains("9.9.9") && error.contains("newest: 1.0.0"),
        "{error}"
    );
    let none = application(&server.url(), "web", ">=5.0.0", "");
    let error = render(&setup(), &none, &right, &no_certs, Duration::ZERO).expect_err("no match");
    assert!(error.contains(">=5.0.0"), "{error}");

    // The archive changes after the index was written: its digest no longer matches.
    std::fs::write(served.path().join("web-1.0.0.tgz"), b"not the chart").expect("corrupt");
    let error = render(&setup(), &app, &right, &no_certs, Duration::ZERO).expect_err("digest");
    assert!(error.contains("digest"), "{error}");

    let unreachable = application("http://127.0.0.1:9", "web", "1.0.0", "");
    let error = render(&setup(), &unreachable, &[], &no_certs, Duration::ZERO).expect_err("down");
    assert!(error.contains("127.0.0.1:9"), "{error}");
}

#[test]
fn a_chart_whose_dependency_is_not_vendored_gets_it_from_the_repository() {
    let helm = helm();
    let served = tempfile::tempdir().expect("temp");
    let server = HelmRepoServer::start(served.path()).expect("server");
    publish(&helm, served.path(), "1.2.0", &server.url());
    let (repo, objects) = render_parent(&server.url(), &[]);
    assert_eq!(version_of(&objects), "1.2.0");
    let cm = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .expect("cm");
    assert_eq!(
        cm["data"]["greeting"], "from the parent",
        "parent values reach the dependency"
    );
    assert!(
        objects.iter().any(|o| o["kind"] == "Service"),
        "{objects:?}"
    );
    assert!(
        !repo.path().join("app/charts").exists(),
        "the source directory is not modified"
    );
}

/// Renders a chart in a directory (as in git) that depends on `web` 1.x from `repository`
/// and does not vendor it, as argocd-example-apps' `helm-dependency` does.
fn render_parent(
    repository: &str,
    secrets: &[CredentialSecret],
) -> (tempfile::TempDir, Vec<Value>) {
    let repo = tempfile::tempdir().expect("temp");
    let app_dir = repo.path().join("app");
    std::fs::create_dir_all(app_dir.join("templates")).expect("mkdir");
    let chart_yaml = format!(
        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: web\n  version: \"1.*\"\n  repository: {repository}\n"
    );
    std::fs::write(app_dir.join("Chart.yaml"), chart_yaml).expect("write");
    std::fs::write(
        app_dir.join("values.yaml"),
        "web:\n  greeting: from the parent\n",
    )
    .expect("write");
    std::fs::write(
        app_dir.join("templates/own.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: own}\nspec: {ports: [{port: 80}]}\n",
    )
    .expect("write");
    let yaml = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: shop}\nspec:\n  project: default\n  destination: {server: https://kubernetes.default.svc, namespace: shop}\n  source: {repoURL: https://git.example.com/repo.git, path: app}\n";
    let app: Application = serde_norway::from_str(yaml).expect("parses");
    let setup = setup();
    let sources = ChartSources {
        repos: &setup.charts,
        secrets,
        project: None,
        max_age: Duration::ZERO,
        tls_certs: &BTreeMap::new(),
    };
    let engine = Engine::offline(Toolbox {
        tools: &setup.tools,
        runner: &setup.runner,
        charts: Some(&sources),
    });
    let resolver = driftless_render::DirResolver {
        root: repo.path().to_path_buf(),
    };
    let objects = render_application(&app, &resolver, engine)
        .expect("renders")
        .objects
        .into_iter()
        .map(|o| o.object)
        .collect();
    (repo, objects)
}

#[test]
fn a_chart_from_an_oci_registry_renders_by_tag_and_by_constraint() {
    let helm = helm();
    let registry = OciRegistry::start().expect("registry (run hack/build-tools)");
    let work = tempfile::tempdir().expect("temp");
    for version in ["1.0.0", "1.3.0", "2.0.0"] {
        let chart =
            write_chart(work.path(), "web", version, &[("cm.yaml", CONFIG_MAP)]).expect("chart");
        let tgz = package_chart(&helm, &chart, &work.path().join("out")).expect("package");
        registry
            .push_chart(&helm, &tgz, "charts")
            .expect("helm push");
    }
    let (user, password) = registry.credentials().expect("auth is on");
    let url = format!("oci://{}/charts", registry.host());
    let secrets = [secret(
        &format!("{}/charts", registry.host()),
        &[
            ("type", "helm"),
            ("enableOCI", "true"),
            ("insecureOCIForceHttp", "true"),
            ("username", user),
            ("password", password),
        ],
    )];
    let setup = setup();
    let no_certs = BTreeMap::new();
    let exact = application(&url, "web", "1.3.0", "");
    assert_eq!(
        version_of(&render(&setup, &exact, &secrets, &no_certs, Duration::ZERO).expect("renders")),
        "1.3.0"
    );
    // Argo CD's other form: the registry path without a scheme, enableOCI on the Secret.
    let bare = application(&format!("{}/charts", registry.host()), "web", "1.*", "");
    assert_eq!(
        version_of(&render(&setup, &bare, &secrets, &no_certs, Duration::ZERO).expect("renders")),
        "1.3.0"
    );
    let (_, objects) = render_parent(&url, &secrets);
    assert_eq!(
        version_of(&objects),
        "1.3.0",
        "an oci:// dependency by constraint"
    );
    let anonymous = render(&setup, &exact, &[], &no_certs, Duration::ZERO);
    let error = anonymous.expect_err("the registry needs credentials");
    assert!(error.contains("web"), "{error}");
}

/// A tar.gz of `files` (path, contents), as `oras push` packs a directory.
fn tar_gz(files: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (path, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, path, text.as_bytes())
            .expect("append");
    }
    builder.into_inner().expect("tar").finish().expect("gzip")
}

#[test]
fn an_oci_artifact_of_plain_manifests_renders_from_its_path_by_tag_and_digest() {
    let registry = OciRegistry::start().expect("registry (run hack/build-tools)");
    let (user, password) = registry.credentials().expect("auth is on");
    let cm = |name: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n");
    let layers = |version: &str| {
        vec![
            (
                "application/vnd.oci.image.layer.v1.tar+gzip",
                tar_gz(&[("manifests/web.yaml", &cm(&format!("web-{version}")))]),
                "manifests",
            ),
            ("application/yaml", cm("loose").into_bytes(), "loose.yaml"),
        ]
    };
    registry
        .push_artifact("platform", "1.0.0", &layers("1-0"))
        .expect("push 1.0.0");
    let newest = registry
        .push_artifact("platform", "1.2.0", &layers("1-2"))
        .expect("push 1.2.0");
    let url = format!("oci://{}/platform", registry.host());
    let secrets = [secret(
        &format!("{}/platform", registry.host()),
        &[
            ("type", "oci"),
            ("insecureOCIForceHttp", "true"),
            ("username", user),
            ("password", password),
        ],
    )];
    let names = |revision: &str, path: &str| -> Vec<String> {
        let yaml = format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: shop}}\nspec:\n  project: default\n  destination: {{server: https://kubernetes.default.svc, namespace: shop}}\n  source: {{repoURL: {url}, targetRevision: {revision:?}, path: {path}}}\n"
        );
        let app: Application = serde_norway::from_str(&yaml).expect("parses");
        render(&setup(), &app, &secrets, &BTreeMap::new(), Duration::ZERO)
            .expect("renders")
            .iter()
            .map(|o| {
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        names("1.0.0", "manifests"),
        ["web-1-0"],
        "the path selects the directory"
    );
    assert_eq!(
        names("1.*", "manifests"),
        ["web-1-2"],
        "a constraint takes the newest tag"
    );
    assert_eq!(
        names(&newest, "manifests"),
        ["web-1-2"],
        "a digest names one manifest"
    );
    assert_eq!(
        names("1.0.0", "."),
        ["loose"],
        "a file layer is a file at the root"
    );
}

#[test]
fn a_repository_that_wants_a_client_certificate_gets_the_one_from_the_secret() {
    let helm = helm();
    let served = tempfile::tempdir().expect("temp");
    let server = HelmRepoServer::builder(served.path())
        .require_client_cert()
        .start()
        .expect("server");
    publish(&helm, served.path(), "1.0.0", &server.url());
    let app = application(&server.url(), "web", "1.0.0", "");
    let no_certs = BTreeMap::new();
    let cert = server.client_cert_pem().expect("tls");
    let key = server.client_key_pem().expect("tls");
    // `insecure` skips verifying the server; the client certificate is still sent.
    let with_cert = [secret(
        &server.url(),
        &[
            ("type", "helm"),
            ("insecure", "true"),
            ("tlsClientCertData", cert),
            ("tlsClientCertKey", key),
        ],
    )];
    let objects = render(&setup(), &app, &with_cert, &no_certs, Duration::ZERO).expect("renders");
    assert_eq!(version_of(&objects), "1.0.0");
    let without = [secret(
        &server.url(),
        &[("type", "helm"), ("insecure", "true")],
    )];
    let error = render(&setup(), &app, &without, &no_certs, Duration::ZERO).expect_err("no cert");
    assert!(error.contains(&server.url()), "{error}");
    assert!(!error.contains("PRIVATE KEY"), "{error}");
}
