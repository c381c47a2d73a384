//! What the server's benchmarks share: a fresh namespace of the cluster KUBECONFIG names,
//! holding the Argo CD settings (`admin`, and `viewer` who may see one project) and N
//! Applications with a status like the controller writes (sync, health, four resources, one
//! history entry); the API server started on loopback against them (no controller: the figures
//! are the server's and the browser's); and the namespace removed afterwards.

// Each benchmark uses its own part of this module.
#![allow(dead_code)]

use driftless_server::{Server, ServerConfig};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::Api;
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The apps are spread over this many projects; `viewer` may see one of them.
pub const PROJECTS: usize = 10;
/// The password of both accounts.
pub const PASSWORD: &str = "bench-pw";
const CONCURRENCY: usize = 48;

/// How many Applications a benchmark makes: `variable` if set, else 10,000.
pub fn app_count(variable: &str) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

/// The Applications of `namespace`, as the dynamic API reads and writes them.
pub fn applications(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "argoproj.io",
        "v1alpha1",
        "Application",
    ));
    Api::namespaced_with(client.clone(), namespace, &resource)
}

/// Runs `bench` against a fresh namespace named `prefix-<random>` holding `apps` Applications,
/// then deletes the namespace (its Applications go in the background), whatever the outcome.
pub async fn with_apps<T>(
    client: &kube::Client,
    prefix: &str,
    apps: usize,
    bench: impl AsyncFnOnce(&str) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    // A fresh cluster has no Argo CD CRDs.
    driftless_testkit::install_crds(client, driftless_model::crds()).await?;
    let namespace = format!("{prefix}-{}", rand::random::<u16>());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &Default::default(),
            &serde_json::from_value(json!({"metadata": {"name": namespace}}))?,
        )
        .await?;
    let outcome = async {
        write_settings(client, &namespace).await?;
        let started = Instant::now();
        create_apps(client, &namespace, apps).await?;
        eprintln!(
            "created {apps} Applications with status in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        bench(&namespace).await
    }
    .await;
    namespaces
        .delete(&namespace, &DeleteParams::background())
        .await?;
    outcome
}

/// The API server, running on loopback, and a session token of each account.
pub struct Running {
    pub base: String,
    pub http: reqwest::Client,
    pub admin: String,
    pub viewer: String,
}

/// Starts the API server (plain HTTP) against `namespace` and waits until it lists `apps`.
pub async fn serve(client: &kube::Client, namespace: &str, apps: usize) -> anyhow::Result<Running> {
    let mut config = ServerConfig::new(namespace, "127.0.0.1:0".parse()?);
    config.insecure = true;
    let server = Server::bind(client.clone(), config, None).await?;
    let address = server
        .local_addr()
        .ok_or_else(|| anyhow::anyhow!("the server has no address"))?;
    let base = format!("http://{address}");
    tokio::spawn(async move { server.run().await });
    let http = reqwest::Client::new();
    let admin = login(&http, &base, "admin").await?;
    let viewer = login(&http, &base, "viewer").await?;
    wait_listed(&http, &base, &admin, apps).await?;
    Ok(Running {
        base,
        http,
        admin,
        viewer,
    })
}

/// argocd-cm, argocd-rbac-cm and argocd-secret: `admin`, and `viewer` who may see one project.
async fn write_settings(client: &kube::Client, namespace: &str) -> anyhow::Result<()> {
    let hash = bcrypt::hash(PASSWORD, 4)?;
    let secret: BTreeMap<String, String> = [
        ("admin.password".to_string(), hash.clone()),
        ("accounts.viewer.password".to_string(), hash),
    ]
    .into();
    let cm: BTreeMap<String, String> =
        [("accounts.viewer".to_string(), "login".to_string())].into();
    let rbac: BTreeMap<String, String> = [(
        "policy.csv".to_string(),
        "p, viewer, applications, get, project-3/*, allow\n".to_string(),
    )]
    .into();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    secrets
        .create(
            &Default::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "argocd-secret"}, "stringData": secret}),
            )?,
        )
        .await?;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    for (name, data) in [("argocd-cm", cm), ("argocd-rbac-cm", rbac)] {
        maps.create(
            &Default::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}, "data": data}))?,
        )
        .await?;
    }
    Ok(())
}

async fn create_apps(client: &kube::Client, namespace: &str, apps: usize) -> anyhow::Result<()> {
    let api = applications(client, namespace);
    futures::stream::iter(0..apps)
        .map(|i| {
            let api = api.clone();
            async move {
                let name = format!("app-{i:05}");
                let object: DynamicObject = serde_json::from_value(application(&name, i))?;
                api.create(&Default::default(), &object).await?;
                let status = json!({"status": status(&name, i)});
                api.patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
                    .await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<()>()
        .await
}

fn application(name: &str, i: usize) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "labels": {"team": format!("team-{}", i % 7)}},
        "spec": {
            "project": format!("project-{}", i % PROJECTS),
            "source": {
                "repoURL": "https://git.example.com/platform/apps.git",
                "path": format!("apps/{name}"),
                "targetRevision": "main"
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}}
        }
    })
}

fn status(name: &str, i: usize) -> Value {
    let revision = format!("{:040x}", i);
    let resource = |kind: &str, group: &str| {
        json!({"group": group, "version": "v1", "kind": kind, "namespace": name, "name": name,
               "status": "Synced", "health": {"status": "Healthy"}})
    };
    json!({
        "sync": {"status": "Synced", "revision": revision,
                 "comparedTo": {"source": {"repoURL": "https://git.example.com/platform/apps.git",
                                           "path": format!("apps/{name}"), "targetRevision": "main"},
                                "destination": {"server": "https://kubernetes.default.svc", "namespace": name}}},
        "health": {"status": if i.is_multiple_of(10) { "Progressing" } else { "Healthy" }},
        "resources": [resource("ServiceAccount", ""), resource("Service", ""),
                      resource("Deployment", "apps"), resource("Ingress", "networking.k8s.io")],
        "history": [{"id": 0, "revision": revision, "deployedAt": "2026-12-01T10:00:00Z",
                     "source": {"repoURL": "https://git.example.com/platform/apps.git",
                                "path": format!("apps/{name}"), "targetRevision": "main"}}],
        "reconciledAt": "2026-12-01T10:00:00Z",
        "sourceType": "Directory"
    })
}

async fn login(http: &reqwest::Client, base: &str, user: &str) -> anyhow::Result<String> {
    let response = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 200,
        "login {user}: {}",
        response.status()
    );
    let body: Value = response.json().await?;
    body["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("login {user}: no token"))
}

/// Waits until the server's store holds every Application.
async fn wait_listed(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    apps: usize,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let response = http
            .get(format!("{base}/api/v1/applications?limit=1"))
            .bearer_auth(token)
            .send()
            .await?;
        if response.status() == 200 {
            let body: Value = response.json().await?;
            if body["metadata"]["totalItemCount"].as_u64() == Some(apps as u64) {
                return Ok(());
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the server never listed {apps} apps"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
