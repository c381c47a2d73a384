//! Prints how fast the API server answers the Applications list at 10,000 Applications: the
//! Applications (each with a status like the controller writes: sync, health, four resources,
//! one history entry) are created in a fresh namespace of the cluster KUBECONFIG names, the
//! server is started on loopback against them (no controller: the figures are the server's),
//! and each request is timed from send to the last byte of the body, over HTTP on loopback.
//! `cargo run --release -p driftless-server --example list_bench` (BENCH_LIST_APPS: 10000).
//! A benchmark: it prints figures, it does not judge them.

use driftless_server::{Server, ServerConfig};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::Api;
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const PROJECTS: usize = 10;
const RUNS: usize = 30;
const CONCURRENCY: usize = 48;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let apps: usize = std::env::var("BENCH_LIST_APPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let client = kube::Client::try_default().await?;
    let namespace = format!("list-bench-{}", rand::random::<u16>());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &Default::default(),
            &serde_json::from_value(json!({"metadata": {"name": namespace}}))?,
        )
        .await?;
    let outcome = run(&client, &namespace, apps).await;
    // The namespace controller deletes the Applications in the background.
    namespaces
        .delete(&namespace, &DeleteParams::background())
        .await?;
    outcome
}

async fn run(client: &kube::Client, namespace: &str, apps: usize) -> anyhow::Result<()> {
    write_settings(client, namespace).await?;
    let started = Instant::now();
    create_apps(client, namespace, apps).await?;
    eprintln!(
        "created {apps} Applications with status in {:.1} s",
        started.elapsed().as_secs_f64()
    );

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

    println!(
        "API list at {apps} Applications ({PROJECTS} projects), {RUNS} runs each, ms from send to last byte"
    );
    println!("| request | items | bytes | min | p50 | p95 | max |");
    println!("|---|---|---|---|---|---|---|");
    let cases = [
        ("first page, limit=100, admin", "limit=100", &admin),
        ("first page, limit=500, admin", "limit=500", &admin),
        (
            "first page, limit=100, role for 1 of 10 projects",
            "limit=100",
            &viewer,
        ),
        (
            "first page, limit=100, search + health filter",
            "limit=100&search=app-01&health=Healthy",
            &admin,
        ),
        (
            "third page, limit=100, admin",
            "limit=100&continue=",
            &admin,
        ),
        ("the whole list, admin", "", &admin),
    ];
    for (label, query, token) in cases {
        let mut url = reqwest::Url::parse(&format!("{base}/api/v1/applications?{query}"))?;
        if query.ends_with("continue=") {
            let after = continue_token(&http, &base, token, 2).await?;
            url = reqwest::Url::parse_with_params(
                &format!("{base}/api/v1/applications"),
                &[("limit", "100"), ("continue", after.as_str())],
            )?;
        }
        let mut times = Vec::with_capacity(RUNS);
        let (mut items, mut bytes) = (0, 0);
        for run in 0..RUNS + 3 {
            let start = Instant::now();
            let response = http.get(url.clone()).bearer_auth(token).send().await?;
            anyhow::ensure!(response.status() == 200, "{label}: {}", response.status());
            let body = response.bytes().await?;
            let elapsed = start.elapsed();
            if run >= 3 {
                times.push(elapsed);
            }
            bytes = body.len();
            items = serde_json::from_slice::<Value>(&body)?["items"]
                .as_array()
                .map_or(0, Vec::len);
        }
        times.sort();
        let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
        println!(
            "| {label} | {items} | {bytes} | {} | {} | {} | {} |",
            ms(times[0]),
            ms(times[RUNS / 2]),
            ms(times[RUNS * 95 / 100]),
            ms(times[RUNS - 1])
        );
    }
    Ok(())
}

/// argocd-cm, argocd-rbac-cm and argocd-secret: `admin`, and `viewer` who may see one project.
async fn write_settings(client: &kube::Client, namespace: &str) -> anyhow::Result<()> {
    let hash = bcrypt::hash("bench-pw", 4)?;
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
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "argoproj.io",
        "v1alpha1",
        "Application",
    ));
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
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
        .json(&json!({"username": user, "password": "bench-pw"}))
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

/// The continue token that leads to page `page` (1 is the first) of 100.
async fn continue_token(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    page: usize,
) -> anyhow::Result<String> {
    let mut after = String::new();
    for _ in 0..page {
        let url = reqwest::Url::parse_with_params(
            &format!("{base}/api/v1/applications"),
            &[("limit", "100"), ("continue", after.as_str())],
        )?;
        let body: Value = http
            .get(url)
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        after = body["metadata"]["continue"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    }
    Ok(after)
}
