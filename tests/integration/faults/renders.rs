//! Renders that never end or eat memory: a helm that hangs, and one that allocates without
//! bound. Each is killed at the render limits (`--render-timeout`, `--render-memory-limit`),
//! the app says why and keeps what is deployed, and with one render slot
//! (`--render-concurrency 1`) the other apps still get their turn.

use super::{Serve, report, value_of};
use crate::gitops::*;
use driftless_testkit::wait_until;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use serde_json::Value;

fn chart(value: &str) -> [(&'static str, String); 2] {
    [
        (
            "chart/Chart.yaml",
            "apiVersion: v2\nname: demo\nversion: 0.1.0\n".to_string(),
        ),
        (
            "chart/templates/cm.yaml",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: charted\ndata: {{value: \"{value}\"}}\n"
            ),
        ),
    ]
}

fn plain(value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata: {{value: \"{value}\"}}\n"
    )
}

fn comparison_error(app: &Value) -> Option<String> {
    app["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "ComparisonError")
        .and_then(|c| c["message"].as_str().map(str::to_string))
}

/// Syncs a chart app and a directory app with the real helm, then restarts the controller
/// with `helm` replaced by `script` and `flags`, commits a change to both, and checks the
/// chart app fails with a message containing `expected` while nothing of it is removed.
async fn a_runaway_helm_is_stopped(
    prefix: &str,
    fault: &str,
    script: &str,
    flags: &[&str],
    expected: &str,
) -> anyhow::Result<()> {
    let env = Gitops::new(prefix).await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    for (path, text) in chart("v1") {
        env.repo.write(path, text);
    }
    env.repo.write("plain/cm.yaml", plain("v1"));
    env.repo.commit("v1");
    let (charted, other) = (env.name("charted"), env.name("plain"));
    env.apply_app(&application(&charted, &ns, &url, "chart", AUTOMATED, ""))
        .await?;
    env.apply_app(&application(&other, &ns, &url, "plain", AUTOMATED, ""))
        .await?;
    let mut serve = Serve::new(&env, &[], &[])?;
    serve.start()?;
    env.wait_synced_healthy(&charted).await?;
    env.wait_synced_healthy(&other).await?;
    serve.kill();

    let bin = tempfile::tempdir()?;
    let helm = bin.path().join("helm");
    std::fs::write(&helm, script)?;
    std::fs::set_permissions(&helm, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let helm = helm.display().to_string();
    let mut flags: Vec<&str> = flags.to_vec();
    flags.extend(["--render-concurrency", "1"]);
    let mut serve = Serve::new(&env, &flags, &[("DRIFTLESS_HELM", helm.as_str())])?;
    for (path, text) in chart("v2") {
        env.repo.write(path, text);
    }
    env.repo.write("plain/cm.yaml", plain("v2"));
    let started = std::time::Instant::now();
    env.repo.commit("v2");
    serve.start()?;
    let cms: Api<ConfigMap> = env.ns.api();
    wait_until(TIMEOUT, "the other app at v2", || async {
        Ok((value_of(&cms, "plain").await?.as_deref() == Some("v2")).then_some(()))
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\ncontroller log:\n{}", serve.log()))?;
    let failed = env
        .wait_app(&charted, "the runaway render reported", |a| {
            comparison_error(a).is_some_and(|m| m.contains(expected))
        })
        .await?;
    println!(
        "{fault}: after {:.1}s the app says {:?}",
        started.elapsed().as_secs_f64(),
        comparison_error(&failed)
    );
    assert_eq!(
        value_of(&cms, "charted").await?.as_deref(),
        Some("v1"),
        "what is deployed stays; nothing is pruned from a failed render"
    );
    report(fault, 1, 1, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_that_hangs_is_killed_at_the_render_timeout_and_other_apps_keep_syncing()
-> anyhow::Result<()> {
    a_runaway_helm_is_stopped(
        "hanghelm",
        "helm hangs (a 10-minute render)",
        "#!/bin/sh\nexec sleep 600\n",
        &["--render-timeout", "3s"],
        "within 3s",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_that_eats_memory_is_killed_at_the_render_memory_limit() -> anyhow::Result<()> {
    a_runaway_helm_is_stopped(
        "hoghelm",
        "helm allocates without end (a 10 GB render)",
        // A string that doubles until something stops it.
        "#!/bin/sh\nx=a\nwhile :; do x=\"$x$x\"; done\n",
        &["--render-memory-limit", "256Mi"],
        "more than 256 MiB",
    )
    .await
}
