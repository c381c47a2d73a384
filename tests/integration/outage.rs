//! The API server going away and coming back: the controller process (here, its task) keeps
//! running, and once the server answers again it applies the commit made meanwhile and sees
//! drift again, without a restart. The outage is real at the network level, for the
//! controller's connections only (see `driftless_testkit::Outage`), so other tests go on.

use crate::gitops::*;
use driftless_testkit::{Outage, wait_until};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use std::time::Duration;

async fn wait_greeting(api: &Api<ConfigMap>, expected: &str) -> anyhow::Result<()> {
    wait_until(TIMEOUT, &format!("greeting {expected}"), || async {
        Ok(greeting(api).await?.filter(|g| g == expected).map(|_| ()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_survives_the_api_server_going_away_and_coming_back() -> anyhow::Result<()> {
    let mut env = Gitops::new("outage").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let mut config = kube::Config::infer().await?;
    let upstream = format!(
        "{}:{}",
        config.cluster_url.host().unwrap_or("127.0.0.1"),
        config.cluster_url.port_u16().unwrap_or(443)
    );
    let outage = Outage::forward_to(upstream).await?;
    config.cluster_url = format!("https://{}", outage.address()).parse()?;
    env.repo.write("site/settings.yaml", settings("hello"));
    env.repo.commit("hello");
    let (controller, _) = env
        .spawn_on(kube::Client::try_from(config)?, |_| {})
        .await?;
    let name = env.name("site");
    env.apply_app(&application(&name, &ns, &url, "site", AUTOMATED, ""))
        .await?;
    env.wait_synced_healthy(&name).await?;
    let cms: Api<ConfigMap> = env.ns.api();

    // Gone for longer than a watch reconnect and a reconcile backoff; a commit lands meanwhile.
    outage.begin();
    env.repo.write("site/settings.yaml", settings("hola"));
    let commit = env.repo.commit("hola");
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        greeting(&cms).await?.as_deref(),
        Some("hello"),
        "nothing reached the API server during the outage"
    );
    assert!(!controller.is_finished(), "the controller kept running");

    // Back: the commit is applied and reported, and drift is seen again.
    outage.end();
    wait_greeting(&cms, "hola").await?;
    env.wait_app(&name, "Synced at the new commit", |a| {
        a["status"]["sync"]["status"] == "Synced" && a["status"]["sync"]["revision"] == commit
    })
    .await?;
    cms.patch(
        "settings",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"greeting": "edited"}})),
    )
    .await?;
    wait_greeting(&cms, "hola").await?;
    Ok(())
}
