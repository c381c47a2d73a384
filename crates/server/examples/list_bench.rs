//! Prints how fast the API server answers the Applications list at 10,000 Applications: the
//! Applications (each with a status like the controller writes: sync, health, four resources,
//! one history entry) are created in a fresh namespace of the cluster KUBECONFIG names, the
//! server is started on loopback against them (no controller: the figures are the server's),
//! and each request is timed from send to the last byte of the body, over HTTP on loopback.
//! `cargo run --release -p driftless-server --example list_bench` (BENCH_LIST_APPS: 10000).
//! A benchmark: it prints figures, it does not judge them.

mod common;

use common::PROJECTS;
use serde_json::Value;
use std::time::{Duration, Instant};

const RUNS: usize = 30;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let apps = common::app_count("BENCH_LIST_APPS");
    let client = kube::Client::try_default().await?;
    common::with_apps(&client, "list-bench", apps, async |namespace| {
        run(&client, namespace, apps).await
    })
    .await
}

async fn run(client: &kube::Client, namespace: &str, apps: usize) -> anyhow::Result<()> {
    let common::Running {
        base,
        http,
        admin,
        viewer,
    } = common::serve(client, namespace, apps).await?;

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
