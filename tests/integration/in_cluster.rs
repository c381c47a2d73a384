//! `driftless serve` as a pod runs it: no kubeconfig, only the in-cluster environment, the
//! `KUBERNETES_SERVICE_HOST`/`PORT` variables and the projected token, CA and namespace under
//! /var/run/secrets/kubernetes.io/serviceaccount. The files are emulated in a private mount
//! namespace (so the test needs root, as `make test` on its machine has), the token made by a
//! TokenRequest of the namespaced install's ServiceAccount (its Roles and nothing more). While it runs the
//! token is rotated and the old one revoked, as the kubelet rotates a projected token: the
//! process goes on with the new one. Its health listener answers the kubelet's probes and
//! SIGTERM stops it cleanly.

use crate::gitops::*;
use crate::install::render_chart;
use crate::pod::{Pod, free_port};
use driftless_testkit::{TestCluster, apply_manifests, service_account_token, wait_until};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "driftless";

async fn create<K>(api: &Api<K>, value: Value) -> anyhow::Result<K>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    Ok(api
        .create(&PostParams::default(), &serde_json::from_value(value)?)
        .await?)
}

/// The namespaced install (the chart) for the one namespace that is both the app namespace
/// and the one apps deploy to.
async fn install_namespaced(client: &kube::Client, ns: &str) -> anyhow::Result<()> {
    let only_here = format!("namespaced.namespaces={{{ns}}}");
    apply_manifests(client, &render_chart(ns, &[&only_here]), ns, "helm").await?;
    Ok(())
}

/// A Secret whose deletion revokes the tokens bound to it.
async fn anchor(client: &kube::Client, ns: &str, name: &str) -> anyhow::Result<Secret> {
    create(
        &Api::<Secret>::namespaced(client.clone(), ns),
        json!({"metadata": {"name": name}}),
    )
    .await
}

fn settings(value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{value: \"{value}\"}}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_in_cluster_on_a_projected_token_and_picks_up_its_rotation() -> anyhow::Result<()> {
    let env = Gitops::new("incluster").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let admin = env.ns.client.clone();
    install_namespaced(&admin, &ns).await?;
    env.repo.write("site/settings.yaml", settings("first"));
    env.repo.commit("settings");

    let first_anchor = anchor(&admin, &ns, "token-anchor-1").await?;
    let first = service_account_token(&admin, &ns, ACCOUNT, Some(&first_anchor)).await?;
    let pod = Pod::new(&ns, &first)?;
    let health = format!("127.0.0.1:{}", free_port()?);
    let mut serve = pod.serve(
        &ns,
        env.cache.path(),
        &[
            "--namespaces",
            &ns,
            "--health-listen",
            &health,
            "--no-audit",
        ],
    )?;
    serve.start()?;

    let probe = reqwest::Client::new();
    let get = |path: &'static str| {
        let (probe, url) = (probe.clone(), format!("http://{health}{path}"));
        async move { Ok::<_, anyhow::Error>(probe.get(url).send().await?.status().as_u16()) }
    };
    wait_until(TIMEOUT, "/readyz answers 200", || async {
        Ok((get("/readyz").await.ok() == Some(200)).then_some(()))
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\n{}", serve.log()))?;
    assert_eq!(get("/healthz").await?, 200);

    let name = env.name("site");
    env.apply_app(&application(&name, &ns, &url, "site", AUTOMATED, ""))
        .await?;
    env.wait_synced_healthy(&name)
        .await
        .map_err(|e| anyhow::anyhow!("{e}\n{}", serve.log()))?;
    let maps: Api<ConfigMap> = env.ns.api();
    let value = |map: Option<ConfigMap>| {
        map.and_then(|m| m.data)
            .and_then(|d| d.get("value").cloned())
            .unwrap_or_default()
    };
    assert_eq!(value(maps.get_opt("settings").await?), "first");

    // The kubelet rotates the token; the pod the old one was bound to is gone.
    let second_anchor = anchor(&admin, &ns, "token-anchor-2").await?;
    let second = service_account_token(&admin, &ns, ACCOUNT, Some(&second_anchor)).await?;
    pod.rotate(&second)?;
    let secrets: Api<Secret> = env.ns.api();
    secrets
        .delete("token-anchor-1", &DeleteParams::default())
        .await?;
    let revoked = TestCluster::Main.client_with_token(&first).await?;
    let with_old: Api<ConfigMap> = Api::namespaced(revoked, &ns);
    wait_until(TIMEOUT, "the old token refused", || async {
        Ok(with_old
            .list(&ListParams::default())
            .await
            .is_err()
            .then_some(()))
    })
    .await?;
    let rotated = Instant::now();
    env.repo.write("site/settings.yaml", settings("second"));
    env.repo.commit("settings, second");
    // The token file is read again at most a minute after it was last read.
    wait_until(
        Duration::from_secs(180),
        "the commit synced with the new token",
        || async { Ok((value(maps.get_opt("settings").await?) == "second").then_some(())) },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}\n{}", serve.log()))?;
    eprintln!(
        "synced with the rotated token {:?} after the old one was revoked",
        rotated.elapsed()
    );

    let (status, took) = serve.terminate(Duration::from_secs(30))?;
    assert!(status.success(), "exit {status}\n{}", serve.log());
    eprintln!("SIGTERM to exit: {took:?}");
    Ok(())
}
