//! AppProject sync windows on the real cluster: while a deny window is active an automated
//! sync does not start (a `SyncWindowBlocked` condition says why) and a requested sync waits
//! as a Running operation "blocked by sync window"; once the window is gone it runs.

use crate::gitops::*;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

fn project(ns: &str, windows: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {{name: team, namespace: {ns}}}\n\
         spec:\n  sourceRepos: ['*']\n  destinations: [{{server: '*', namespace: '*'}}]\n  syncWindows: {windows}\n"
    )
}

fn condition(app: &Value, kind: &str) -> Option<String> {
    app["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
        .and_then(|c| c["message"].as_str())
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_window_holds_automated_and_requested_syncs_until_it_is_gone() -> anyhow::Result<()>
{
    let mut env = Gitops::new("windows").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    env.repo.write("team/settings.yaml", settings("hello"));
    env.repo.commit("a team app");
    // Starts every minute and lasts an hour: always active.
    let always = "[{kind: deny, schedule: '* * * * *', duration: 1h, applications: ['*']}]";
    env.apply(&project(&ns, always)).await?;
    env.start().await?;
    let app = env.name("team");
    let manifest = application(&app, &ns, &url, "team", AUTOMATED, "")
        .replace("project: default", "project: team");
    env.apply_app(&manifest).await?;
    let blocked = env
        .wait_app(&app, "automated sync held back", |a| {
            condition(a, "SyncWindowBlocked").is_some()
        })
        .await?;
    assert_eq!(sync_of(&blocked), "OutOfSync");
    let message = condition(&blocked, "SyncWindowBlocked").unwrap_or_default();
    assert!(message.contains("deny window 0"), "{message}");
    let config_maps: Api<ConfigMap> = env.ns.api();
    assert!(config_maps.get_opt("settings").await?.is_none());

    // `argocd app sync` during the window: the operation waits, Running.
    let sync = json!({"operation": {"sync": {}, "initiatedBy": {"username": "alice"}}});
    env.apps()
        .patch(&app, &PatchParams::default(), &Patch::Merge(sync))
        .await?;
    let waiting = env
        .wait_app(&app, "the requested sync blocked", |a| {
            let op = &a["status"]["operationState"];
            op["phase"] == "Running"
                && op["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("Sync operation blocked by sync window"))
        })
        .await?;
    assert!(
        !waiting["operation"].is_null(),
        "the request stays until it runs"
    );
    assert!(config_maps.get_opt("settings").await?.is_none());

    // The window goes: the waiting sync runs and automation is free again.
    env.apply(&project(&ns, "[]")).await?;
    env.wait_app(&app, "synced by the waiting operation", |a| {
        a["status"]["operationState"]["phase"] == "Succeeded"
            && a["operation"].is_null()
            && sync_of(a) == "Synced"
            && condition(a, "SyncWindowBlocked").is_none()
    })
    .await?;
    assert_eq!(greeting(&config_maps).await?.as_deref(), Some("hello"));
    Ok(())
}
