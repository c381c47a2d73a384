//! Traces and JSON logs of `driftless serve`: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the
//! spans of a reconcile, its render, the sync and each of its waves reach an OTLP/HTTP
//! receiver (a small one served by the test) naming the app and the revision, and the JSON
//! log lines written inside a reconcile carry that reconcile's trace id.

use crate::gitops::*;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

const LATER: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\ndata: {a: \"1\"}\n";

type Received = Arc<Mutex<Vec<Value>>>;

/// An OTLP/HTTP receiver (JSON encoding) keeping every request body; its base URL.
async fn receiver() -> anyhow::Result<(String, Received)> {
    let received: Received = Arc::default();
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: String| {
            let kept = kept.clone();
            async move {
                if let Ok(value) = serde_json::from_str::<Value>(&body) {
                    kept.lock().unwrap_or_else(|e| e.into_inner()).push(value);
                }
                axum::Json(json!({}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((base, received))
}

/// Every span received, with its attributes as a map.
fn spans(received: &Received) -> Vec<(String, String, serde_json::Map<String, Value>)> {
    let bodies = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut found = Vec::new();
    for body in bodies {
        for resource in body["resourceSpans"].as_array().into_iter().flatten() {
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                for span in scope["spans"].as_array().into_iter().flatten() {
                    let mut attributes = serde_json::Map::new();
                    for attribute in span["attributes"].as_array().into_iter().flatten() {
                        let value = &attribute["value"];
                        let text = value["stringValue"]
                            .as_str()
                            .map(str::to_string)
                            .or_else(|| value["intValue"].as_str().map(str::to_string))
                            .or_else(|| value["intValue"].as_i64().map(|i| i.to_string()))
                            .unwrap_or_default();
                        if let Some(key) = attribute["key"].as_str() {
                            attributes.insert(key.to_string(), Value::String(text));
                        }
                    }
                    found.push((
                        span["name"].as_str().unwrap_or_default().to_string(),
                        span["traceId"].as_str().unwrap_or_default().to_lowercase(),
                        attributes,
                    ));
                }
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_render_sync_and_wave_spans_are_exported_and_logs_carry_the_trace_id()
-> anyhow::Result<()> {
    let env = Gitops::new("traces").await?;
    let ns = env.ns.name.clone();
    env.repo.write("app/settings.yaml", settings("hello"));
    env.repo.write("app/later.yaml", LATER);
    let commit = env.repo.commit("two waves");
    let (endpoint, received) = receiver().await?;
    let dir = tempfile::tempdir()?;
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path)?;
    let mut serve = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args(["serve", "--app-namespace", &ns, "--poll-interval", "1s"])
        .args(["--installation-id", &ns, "--log-format", "json"])
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .env("RUST_LOG", "info")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()?;
    let name = env.name("shop");
    let outcome = async {
        env.apply_app(&application(
            &name,
            &ns,
            &env.repo.file_url(),
            "app",
            AUTOMATED,
            "",
        ))
        .await?;
        env.wait_synced_healthy(&name).await?;
        driftless_testkit::wait_until(TIMEOUT, "the sync's spans", || async {
            let all = spans(&received);
            let has = |span: &str, check: &dyn Fn(&serde_json::Map<String, Value>) -> bool| {
                all.iter().any(|(n, _, a)| n == span && check(a))
            };
            let of_app = |a: &serde_json::Map<String, Value>| {
                a.get("app").and_then(Value::as_str) == Some(name.as_str())
            };
            let at_commit = |a: &serde_json::Map<String, Value>| {
                a.get("revision")
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.contains(&commit))
            };
            let wave = |w: &'static str| {
                move |a: &serde_json::Map<String, Value>| {
                    of_app(a) && a.get("wave").and_then(Value::as_str) == Some(w)
                }
            };
            Ok((has("reconcile", &|a| of_app(a) && at_commit(a))
                && has("render", &|a| of_app(a) && at_commit(a))
                && has("sync", &|a| of_app(a) && at_commit(a))
                && has("wave", &wave("0"))
                && has("wave", &wave("1")))
            .then_some(()))
        })
        .await?;
        anyhow::Ok(())
    }
    .await;
    let _ = serve.kill();
    let _ = serve.wait();
    let text = std::fs::read_to_string(&log_path)?;
    outcome.map_err(|e| anyhow::anyhow!("{e}\n--- serve log\n{text}"))?;

    // Every line is JSON; lines inside a reconcile of the app carry a trace id that was exported.
    let exported: Vec<String> = spans(&received)
        .into_iter()
        .filter(|(n, _, _)| n == "reconcile")
        .map(|(_, trace, _)| trace)
        .collect();
    let mut carried = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let entry: Value = serde_json::from_str(line)
            .map_err(|e| anyhow::anyhow!("not a JSON log line ({e}): {line}"))?;
        let reconcile = entry["spans"].as_array().and_then(|s| {
            s.iter()
                .find(|s| s["name"] == "reconcile" && s["app"] == name.as_str())
        });
        if let Some(trace) = reconcile.and_then(|s| s["trace_id"].as_str()) {
            assert!(
                exported.iter().any(|t| t == trace),
                "{trace} not exported: {line}"
            );
            carried += 1;
        }
    }
    assert!(carried > 0, "no log line carries a trace id:\n{text}");
    Ok(())
}
