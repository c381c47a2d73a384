//! A Helm chart with `randAlphaNum` for a key: every render gives another value. The
//! controller renders the revision twice, reports a `VolatileField` condition naming the
//! object and path with its `ignoreDifferences` entry, and keeps the live value, so three
//! restarts with an empty cache (a new pod without a volume) never rotate the key.

use crate::gitops::*;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

const CHART: &str = "apiVersion: v2\nname: keys\nversion: 0.1.0\n";
const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: keys\ndata:\n  master-key: {{ randAlphaNum 24 | b64enc | quote }}\n  fixed: {{ \"fixed\" | b64enc | quote }}\n";

fn volatile_condition(app: &Value) -> Option<String> {
    app["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "VolatileField")
        .and_then(|c| c["message"].as_str())
        .map(str::to_string)
}

async fn master_key(secrets: &Api<Secret>) -> anyhow::Result<Vec<u8>> {
    let secret = secrets.get("keys").await?;
    let data = secret.data.unwrap_or_default();
    Ok(data
        .get("master-key")
        .map(|b| b.0.clone())
        .unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_random_value_in_a_chart_survives_restarts_with_an_empty_cache() -> anyhow::Result<()> {
    let mut env = Gitops::new("volatile").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    env.repo.write("keys/Chart.yaml", CHART);
    env.repo.write("keys/templates/secret.yaml", SECRET);
    env.repo.commit("a chart that makes a random key");
    let mut running = env.spawn(|_| {}).await?.0;
    let app = env.name("keys");
    env.apply_app(&application(&app, &ns, &url, "keys", AUTOMATED, ""))
        .await?;
    let reported = env
        .wait_app(&app, "synced, with the volatile field reported", |a| {
            sync_of(a) == "Synced" && volatile_condition(a).is_some()
        })
        .await?;
    let message = volatile_condition(&reported).unwrap_or_default();
    assert!(
        message.contains("/Secret/") && message.contains("/data/master-key"),
        "{message}"
    );
    assert!(message.contains("jsonPointers:"), "{message}");
    assert!(
        !message.contains("/data/fixed"),
        "a stable field is not named: {message}"
    );
    let secrets: Api<Secret> = env.ns.api();
    let first = master_key(&secrets).await?;
    assert_eq!(first.len(), 24);

    // Each controller's cache lives as long as the test: a controller still runs on it.
    let mut caches = Vec::new();
    for restart in 1..=3 {
        running.abort();
        let empty = tempfile::tempdir()?;
        let cache_dir = empty.path().to_path_buf();
        running = env.spawn(move |c| c.cache_dir = cache_dir).await?.0;
        // A hard refresh makes sure the new controller has rendered (twice) and compared.
        let refresh = json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}});
        env.apps()
            .patch(&app, &PatchParams::default(), &Patch::Merge(refresh))
            .await?;
        env.wait_app(&app, "the refresh served", |a| {
            a["metadata"]["annotations"]["argocd.argoproj.io/refresh"].is_null()
        })
        .await?;
        let after = env
            .wait_app(&app, "synced after the restart", |a| {
                sync_of(a) == "Synced" && volatile_condition(a).is_some()
            })
            .await?;
        assert_eq!(
            master_key(&secrets).await?,
            first,
            "restart {restart} rotated the key; status: {}",
            after["status"]
        );
        caches.push(empty);
    }
    Ok(())
}
