//! No secret value leaks: known Secret values and repository credentials are planted, then a
//! full cycle runs against `driftless serve` (sync, a push webhook, a change, drift healed,
//! a failing sync) plus `driftless diff` and `driftless check`; every log line, the
//! Application's status, the namespace's Events, the diff and the check output are searched
//! for the values, plain and base64-encoded.

use crate::gitops::*;
use base64::Engine as _;
use driftless_source::testing::GitHttpServer;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::json;
use std::process::{Command, Stdio};

fn secret(value: &str, extra_label: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  labels: {{app: shop{extra_label}}}\nstringData:\n  token: {value}\n"
    )
}

/// Every form a planted value could take in output.
fn forms(value: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![value.to_string(), b64.encode(value)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_or_credential_appears_in_logs_status_events_diffs_or_errors()
-> anyhow::Result<()> {
    let env = Gitops::new("leak").await?;
    let ns = env.ns.name.clone();
    let tag: u32 = rand::random();
    let values: Vec<String> = (1..=4).map(|i| format!("canary{i}-{tag:08x}")).collect();
    let password = format!("pass-{tag:08x}-word");
    let hook_secret = format!("hook-{tag:08x}-secret");
    let argocd_secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "argocd-secret"},
        "stringData": {"webhook.github.secret": hook_secret},
    }))?;
    env.ns
        .api::<Secret>()
        .patch(
            "argocd-secret",
            &PatchParams::apply("test").force(),
            &Patch::Apply(&argocd_secret),
        )
        .await?;
    let server = GitHttpServer::builder(env.repo.root())
        .basic_auth("git", &password)
        .start()?;
    let url = server.url(&env.repo.name());
    env.repo.write("app/secret.yaml", secret(&values[0], ""));
    env.repo.write("app/settings.yaml", settings("hello"));
    env.repo.commit("an app with a Secret");
    let secrets: Api<Secret> = env.ns.api();
    let repo_secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "repo", "labels": {"argocd.argoproj.io/secret-type": "repository"}},
        "stringData": {"url": url, "username": "git", "password": password},
    }))?;
    secrets
        .patch(
            "repo",
            &PatchParams::apply("test").force(),
            &Patch::Apply(&repo_secret),
        )
        .await?;

    let dir = tempfile::tempdir()?;
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path)?;
    let api = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let mut serve = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args(["serve", "--app-namespace", &ns, "--poll-interval", "1s"])
        .args([
            "--installation-id",
            &ns,
            "--api-listen",
            &api.to_string(),
            "--insecure",
        ])
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .env(
            "RUST_LOG",
            "debug,hyper=info,h2=info,rustls=info,tower=info",
        )
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .spawn()?;
    let base = format!("http://{api}");
    let outcome = cycle(&env, &url, &values, (&base, &hook_secret), dir.path()).await;
    let _ = serve.kill();
    let _ = serve.wait();
    let mut outputs = outcome?;

    outputs.push(("controller log".into(), std::fs::read_to_string(&log_path)?));
    let app = env.app(&env.name("shop")).await?.unwrap_or_default();
    outputs.push(("application".into(), app.to_string()));
    let events: Api<Event> = env.ns.api();
    let events = events.list(&ListParams::default()).await?;
    outputs.push(("events".into(), serde_json::to_string(&events.items)?));
    let log = &outputs[outputs.len() - 3].1;
    assert!(
        log.lines().count() > 20 && log.contains(&env.name("shop")),
        "the controller logged about the app:\n{log}"
    );

    let planted: Vec<String> = values
        .iter()
        .flat_map(|v| forms(v))
        .chain(forms(&password))
        .chain(forms(&hook_secret))
        .chain(forms(&format!("git:{password}")))
        .collect();
    for (what, text) in &outputs {
        for value in &planted {
            assert!(
                !text.contains(value.as_str()),
                "{what} shows a planted secret value:\n{text}"
            );
        }
    }
    Ok(())
}

/// Sync, push webhook, change, drift, failure, diff and check; returns the CLI outputs.
async fn cycle(
    env: &Gitops,
    url: &str,
    values: &[String],
    (base, hook_secret): (&str, &str),
    dir: &std::path::Path,
) -> anyhow::Result<Vec<(String, String)>> {
    let ns = &env.ns.name;
    let name = env.name("shop");
    let manifest = application(&name, ns, url, "app", AUTOMATED, "");
    env.apply_app(&manifest).await?;
    env.wait_synced_healthy(&name).await?;
    let secrets: Api<Secret> = env.ns.api();
    let token = |s: Secret| {
        s.data.and_then(|d| {
            d.get("token")
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        })
    };

    // A change, announced by a push webhook.
    env.repo.write("app/secret.yaml", secret(&values[1], ""));
    let pushed = env.repo.commit("rotate the token");
    let http = crate::api::client(None)?;
    driftless_testkit::wait_until(TIMEOUT, "the API server answers", || async {
        Ok(http.get(format!("{base}/healthz")).send().await.ok())
    })
    .await?;
    let status = crate::api::push(&http, base, url, Some(hook_secret)).await?;
    assert_eq!(status, 200, "the signed push is taken");
    env.wait_app(&name, "synced to the pushed commit", |a| {
        a["status"]["sync"]["revision"] == pushed.as_str() && sync_of(a) == "Synced"
    })
    .await?;

    // Drift, healed.
    let drift = json!({"stringData": {"token": values[2]}});
    secrets
        .patch("creds", &PatchParams::default(), &Patch::Merge(&drift))
        .await?;
    driftless_testkit::wait_until(TIMEOUT, "the drift healed", || async {
        let live = secrets.get("creds").await?;
        Ok((token(live).as_deref() == Some(values[1].as_str())).then_some(()))
    })
    .await?;

    // `driftless diff` of a revision not deployed, and `driftless check` of the repository.
    let next_dir = dir.join("next");
    std::fs::create_dir_all(next_dir.join("app"))?;
    std::fs::write(next_dir.join("app/secret.yaml"), secret(&values[3], ""))?;
    std::fs::write(next_dir.join("app/settings.yaml"), settings("hello"))?;
    let app_file = dir.join("app.yaml");
    std::fs::write(&app_file, &manifest)?;
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_driftless"))
            .args(args)
            .env("DRIFTLESS_CACHE", dir.join("cli-cache"))
            .output()
    };
    let diff = cli(&[
        "diff",
        "-f",
        &app_file.to_string_lossy(),
        "--repo-root",
        &next_dir.to_string_lossy(),
        "--config-namespace",
        ns,
    ])?;
    let diff_out = String::from_utf8_lossy(&diff.stdout).into_owned();
    assert!(
        diff_out.contains("token"),
        "the diff shows the changed key: {diff_out}"
    );
    std::fs::write(next_dir.join("root.yaml"), &manifest)?;
    let check = cli(&[
        "check",
        &next_dir.to_string_lossy(),
        "--repo-root",
        &next_dir.to_string_lossy(),
    ])?;

    // A sync that fails with the Secret in it.
    env.repo
        .write("app/secret.yaml", secret(&values[3], ", \"bad label!\": x"));
    env.repo.commit("an invalid Secret");
    let failed = env
        .wait_app(&name, "the sync failed", |a| {
            let phase = &a["status"]["operationState"]["phase"];
            phase == "Failed" || phase == "Error"
        })
        .await?;
    let message = failed["status"]["operationState"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(!message.is_empty());

    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    Ok(vec![
        ("driftless diff".into(), text(&diff)),
        ("driftless check".into(), text(&check)),
    ])
}
