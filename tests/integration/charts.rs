//! Charts from a Helm repository and an OCI registry, and an OCI artifact of plain manifests
//! (all real servers on loopback, with basic auth from Argo CD repository Secrets) in an App of
//! Apps on the real cluster; a newly published chart version that matches the constraint rolls
//! out without a commit.

use crate::gitops::*;
use driftless_testkit::{HelmRepoServer, OciRegistry, index_repo, package_chart, write_chart};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::PostParams;
use std::collections::BTreeMap;
use std::path::Path;

const CONFIG_MAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  version: {{ .Chart.Version | quote }}\n";

fn helm() -> std::path::PathBuf {
    driftless_testkit::built_helm().expect("helm not built: run hack/build-tools")
}

fn package(helm: &Path, work: &Path, name: &str, version: &str, out: &Path) -> std::path::PathBuf {
    let chart = write_chart(work, name, version, &[("cm.yaml", CONFIG_MAP)]).expect("chart");
    package_chart(helm, &chart, out).expect("helm package")
}

fn chart_app(name: &str, ns: &str, repo_url: &str, chart: &str, revision: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: {ns}\n{CASCADE}\
         spec:\n  project: default\n  source:\n    repoURL: {repo_url}\n    chart: {chart}\n    targetRevision: \"{revision}\"\n\
         \x20 destination:\n    server: https://kubernetes.default.svc\n    namespace: {ns}\n{AUTOMATED}"
    )
}

async fn repository_secret(ns: &str, api: &Api<Secret>, name: &str, data: &[(&str, &str)]) {
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(ns.to_string()),
            labels: Some(BTreeMap::from([(
                "argocd.argoproj.io/secret-type".to_string(),
                "repository".to_string(),
            )])),
            ..Default::default()
        },
        string_data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..Default::default()
    };
    api.create(&PostParams::default(), &secret)
        .await
        .expect("create the repository Secret");
}

async fn version_of(api: &Api<ConfigMap>, name: &str) -> anyhow::Result<Option<String>> {
    Ok(api
        .get_opt(name)
        .await?
        .and_then(|c| c.data)
        .and_then(|d| d.get("version").cloned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_of_apps_takes_charts_from_a_helm_repository_and_an_oci_registry()
-> anyhow::Result<()> {
    let mut env = Gitops::new("charts").await?;
    let ns = env.ns.name.clone();
    let helm = helm();
    let work = tempfile::tempdir()?;

    let served = tempfile::tempdir()?;
    let charts = HelmRepoServer::builder(served.path())
        .basic_auth("robot", "helm-repo-password")
        .start()?;
    package(&helm, work.path(), "web", "1.0.0", served.path());
    package(&helm, work.path(), "web", "2.0.0", served.path());
    index_repo(&helm, served.path(), &charts.url())?;

    let registry = OciRegistry::start()?;
    let tgz = package(&helm, work.path(), "api", "1.0.0", &work.path().join("oci"));
    registry.push_chart(&helm, &tgz, "charts")?;
    let (oci_user, oci_password) = registry.credentials().expect("auth is on");
    let oci_url = format!("oci://{}/charts", registry.host());

    let secrets: Api<Secret> = env.ns.api();
    repository_secret(
        &ns,
        &secrets,
        "helm-charts",
        &[
            ("type", "helm"),
            ("url", &charts.url()),
            ("username", "robot"),
            ("password", "helm-repo-password"),
        ],
    )
    .await;
    repository_secret(
        &ns,
        &secrets,
        "oci-charts",
        &[
            ("type", "helm"),
            ("url", &format!("{}/charts", registry.host())),
            ("enableOCI", "true"),
            ("insecureOCIForceHttp", "true"),
            ("username", oci_user),
            ("password", oci_password),
        ],
    )
    .await;

    let (web, api) = (env.name("web"), env.name("api"));
    env.repo.write(
        "apps/web.yaml",
        chart_app(&web, &ns, &charts.url(), "web", "1.*"),
    );
    env.repo.write(
        "apps/api.yaml",
        chart_app(&api, &ns, &oci_url, "api", "1.0.0"),
    );
    // Argo CD 3.1's OCI source of plain manifests: a YAML file as an artifact layer.
    let platform = env.name("platform");
    let manifest = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {platform}}}\ndata: {{version: \"1.0.0\"}}\n"
    );
    let layer = ("application/yaml", manifest.into_bytes(), "platform.yaml");
    let digest = registry.push_artifact("platform", "1.0.0", &[layer])?;
    repository_secret(
        &ns,
        &secrets,
        "oci-platform",
        &[
            ("type", "oci"),
            ("url", &format!("{}/platform", registry.host())),
            ("insecureOCIForceHttp", "true"),
            ("username", oci_user),
            ("password", oci_password),
        ],
    )
    .await;
    let platform_url = format!("oci://{}/platform", registry.host());
    let platform_app = application(&platform, &ns, &platform_url, ".", AUTOMATED, CASCADE)
        .replace("targetRevision: HEAD", "targetRevision: 1.0.0");
    env.repo.write("apps/platform.yaml", platform_app);
    env.repo.commit("three apps from charts and an artifact");
    let url = env.repo.file_url();
    env.start().await?;
    let root = env.name("root");
    env.apply_app(&application(&root, &ns, &url, "apps", AUTOMATED, ""))
        .await?;

    let platform_status = env.wait_synced_healthy(&platform).await?;
    env.wait_synced_healthy(&root).await?;
    let web_app = env.wait_synced_healthy(&web).await?;
    let api_app = env.wait_synced_healthy(&api).await?;
    assert_eq!(
        web_app["status"]["sync"]["revision"], "1.0.0",
        "1.* never takes 2.0.0"
    );
    assert_eq!(api_app["status"]["sync"]["revision"], "1.0.0");
    let config_maps: Api<ConfigMap> = env.ns.api();
    assert_eq!(
        version_of(&config_maps, &web).await?.as_deref(),
        Some("1.0.0")
    );
    assert_eq!(
        version_of(&config_maps, &api).await?.as_deref(),
        Some("1.0.0")
    );
    assert_eq!(
        platform_status["status"]["sync"]["revision"], digest,
        "an OCI artifact is pinned by its manifest digest"
    );
    assert_eq!(
        version_of(&config_maps, &platform).await?.as_deref(),
        Some("1.0.0")
    );

    // A new version matching 1.* is published: it rolls out with no commit.
    let head = env.repo.head();
    package(&helm, work.path(), "web", "1.1.0", served.path());
    index_repo(&helm, served.path(), &charts.url())?;
    env.wait_app(&web, "synced to chart 1.1.0", |a| {
        a["status"]["sync"]["revision"] == "1.1.0" && sync_of(a) == "Synced"
    })
    .await?;
    driftless_testkit::wait_until(TIMEOUT, "the ConfigMap of web 1.1.0", || async {
        Ok((version_of(&config_maps, &web).await?.as_deref() == Some("1.1.0")).then_some(()))
    })
    .await?;
    assert_eq!(env.repo.head(), head, "no commit was made");
    assert!(
        charts.count("/index.yaml") >= 2,
        "the index was polled with conditional requests"
    );
    Ok(())
}
