//! Outages: the git server down for a while (here, on the shared control plane), and, on the
//! fault run's own control plane, the API server and etcd killed and restarted mid-sync.

use super::{Serve, long_run, report, value_of};
use crate::gitops::*;
use driftless_source::testing::GitHttpServer;
use driftless_testkit::wait_until;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::Api;
use serde_json::Value;
use std::time::{Duration, Instant};

fn config_map(name: &str, value: &str, wave: i32) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations: {{argocd.argoproj.io/sync-wave: \"{wave}\"}}\ndata: {{value: \"{value}\"}}\n"
    )
}

async fn wait_value(cms: &Api<ConfigMap>, name: &str, value: &str) -> anyhow::Result<()> {
    wait_until(TIMEOUT, &format!("ConfigMap {name} = {value}"), || async {
        Ok((value_of(cms, name).await?.as_deref() == Some(value)).then_some(()))
    })
    .await
}

fn conditions(app: &Value) -> Vec<(String, String)> {
    app["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (text("type"), text("message"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_git_server_down_deployed_objects_stay_the_app_says_why_and_other_apps_go_on()
-> anyhow::Result<()> {
    let env = Gitops::new("gitdown").await?;
    let ns = env.ns.name.clone();
    let down_for = Duration::from_secs(if long_run() { 180 } else { 15 });
    let server = GitHttpServer::start(env.repo.root())?;
    let (remote, local) = (server.url(&env.repo.name()), env.repo.file_url());
    let address: std::net::SocketAddr = remote
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .parse()?;
    env.repo
        .write("site/cm.yaml", config_map("site", "v1", 0))
        .write("local/cm.yaml", config_map("local", "v1", 0));
    env.repo.commit("v1");
    let (site, nearby) = (env.name("site"), env.name("local"));
    env.apply_app(&application(&site, &ns, &remote, "site", AUTOMATED, ""))
        .await?;
    env.apply_app(&application(&nearby, &ns, &local, "local", AUTOMATED, ""))
        .await?;
    let mut serve = Serve::new(&env, &[], &[])?;
    serve.start()?;
    let cms: Api<ConfigMap> = env.ns.api();
    wait_value(&cms, "site", "v1").await?;
    wait_value(&cms, "local", "v1").await?;

    // Down: connections refused. A commit lands meanwhile.
    drop(server);
    env.repo
        .write("site/cm.yaml", config_map("site", "v2", 0))
        .write("local/cm.yaml", config_map("local", "v2", 0));
    let commit = env.repo.commit("v2");
    wait_value(&cms, "local", "v2").await?;
    let said = env
        .wait_app(
            &site,
            "a condition naming the unreachable repository",
            |a| {
                conditions(a)
                    .iter()
                    .any(|(t, m)| t.ends_with("Error") && m.contains(&address.to_string()))
            },
        )
        .await?;
    println!("git down: the app says {:?}", conditions(&said));
    let until = Instant::now() + down_for;
    while Instant::now() < until {
        assert_eq!(
            value_of(&cms, "site").await?.as_deref(),
            Some("v1"),
            "what is deployed stays while git is down"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // Back on the same address: the commit made meanwhile is deployed, the condition goes.
    let _server = GitHttpServer::builder(env.repo.root())
        .listen(address)
        .start()?;
    wait_value(&cms, "site", "v2").await?;
    env.wait_app(&site, "synced at the new commit, no error left", |a| {
        a["status"]["sync"]["revision"] == commit
            && sync_of(a) == "Synced"
            && !conditions(a).iter().any(|(t, _)| t.ends_with("Error"))
    })
    .await?;
    report(
        &format!("git server down for {}s", down_for.as_secs()),
        1,
        1,
        0,
    );
    Ok(())
}

/// `hack/fault-cluster restart <component>`: SIGKILL and start again, same data.
async fn restart(component: &'static str) -> anyhow::Result<()> {
    let script = std::env::var("DRIFTLESS_FAULT_CLUSTER")
        .map_err(|_| anyhow::anyhow!("run by `make faults` (DRIFTLESS_FAULT_CLUSTER unset)"))?;
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(script)
            .args(["restart", component])
            .status()
    })
    .await??;
    anyhow::ensure!(status.success(), "restarting {component}: {status}");
    Ok(())
}

/// A sync waiting in wave 0 (a LoadBalancer Service with no address yet) when `component` is
/// killed and restarted; the address is given afterwards and the sync must finish, wave 1
/// included, while another app syncs a change made during the outage.
async fn sync_survives_restart_of(component: &'static str) -> anyhow::Result<()> {
    let env = Gitops::new("restart").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    env.repo
        .write("app/gate.yaml", GATE)
        .write("app/after.yaml", config_map("after", "v1", 1))
        .write("other/cm.yaml", config_map("other", "v1", 0));
    env.repo.commit("two waves");
    let (app, other) = (env.name("app"), env.name("other"));
    env.apply_app(&application(&app, &ns, &url, "app", AUTOMATED, ""))
        .await?;
    env.apply_app(&application(&other, &ns, &url, "other", AUTOMATED, ""))
        .await?;
    let mut serve = Serve::new(&env, &[], &[])?;
    serve.start()?;
    env.wait_sync_waiting(&app).await?;

    restart(component).await?;
    env.repo
        .write("other/cm.yaml", config_map("other", "v2", 0));
    env.repo.commit("other v2");
    let services: Api<Service> = env.ns.api();
    wait_until(TIMEOUT, "the API server answering again", || async {
        Ok(open_gate(&services).await.ok())
    })
    .await?;
    let done = env
        .wait_app(&app, "the sync to succeed", |a| {
            a["status"]["operationState"]["phase"] == "Succeeded"
        })
        .await?;
    let cms: Api<ConfigMap> = env.ns.api();
    let mut lost = 0;
    if services.get_opt("gate").await?.is_none() {
        lost += 1;
    }
    if value_of(&cms, "after").await?.as_deref() != Some("v1") {
        lost += 1;
    }
    wait_value(&cms, "other", "v2").await?;
    env.wait_synced_healthy(&app).await?;
    report(
        &format!("{component} killed and restarted mid-sync"),
        1,
        1,
        lost,
    );
    assert_eq!(lost, 0, "status: {}", done["status"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the API server: runs on its own control plane in `make faults`"]
async fn a_sync_finishes_after_the_api_server_is_killed_and_restarted_mid_sync()
-> anyhow::Result<()> {
    sync_survives_restart_of("kube-apiserver").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts etcd: runs on its own control plane in `make faults`"]
async fn a_sync_finishes_after_etcd_is_killed_and_restarted_mid_sync() -> anyhow::Result<()> {
    sync_survives_restart_of("etcd").await
}
