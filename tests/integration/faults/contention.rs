//! Contention: two apps claiming one object, and an Application edited while it syncs.

use super::{Recorder, Serve, report};
use crate::gitops::*;
use driftless_testkit::wait_until;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::Api;
use serde_json::Value;
use std::time::{Duration, Instant};

fn config_map(name: &str, owner: &str, wave: i32) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations: {{argocd.argoproj.io/sync-wave: \"{wave}\"}}\ndata: {{owner: \"{owner}\"}}\n"
    )
}

fn condition_messages(app: &Value, kind: &str) -> Vec<String> {
    app["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["type"] == kind)
        .filter_map(|c| c["message"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_apps_claiming_one_object_are_told_so_and_nothing_is_lost_or_stalled()
-> anyhow::Result<()> {
    let env = Gitops::new("claim").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let recorder = Recorder::watch(&env, &[("", "v1", "ConfigMap")]).await?;
    env.repo
        .write("first/shared.yaml", config_map("shared", "first", 0))
        .write("first/own.yaml", config_map("first-only", "first", 0))
        .write("second/shared.yaml", config_map("shared", "second", 0))
        .write("second/own.yaml", config_map("second-only", "second", 0))
        .write("third/cm.yaml", config_map("third", "v1", 0));
    env.repo.commit("two apps, one object");
    let names = [env.name("first"), env.name("second"), env.name("third")];
    let mut serve = Serve::new(&env, &[], &[])?;
    serve.start()?;
    env.apply_app(&application(&names[0], &ns, &url, "first", AUTOMATED, ""))
        .await?;
    env.wait_synced_healthy(&names[0]).await?;
    env.apply_app(&application(&names[1], &ns, &url, "second", AUTOMATED, ""))
        .await?;
    env.apply_app(&application(&names[2], &ns, &url, "third", AUTOMATED, ""))
        .await?;

    // One of them says the object is shared, naming the other.
    let warned = wait_until(TIMEOUT, "a SharedResourceWarning", || async {
        for (me, them) in [(&names[0], &names[1]), (&names[1], &names[0])] {
            let app = env.app(me).await?.unwrap_or_default();
            let messages = condition_messages(&app, "SharedResourceWarning");
            if messages.iter().any(|m| m.contains(them.as_str())) {
                return Ok(Some(messages));
            }
        }
        Ok(None)
    })
    .await?;
    println!("two apps, one object: {warned:?}");
    let cms: Api<ConfigMap> = env.ns.api();
    // For a while: the object is always there, and each app's own objects too.
    let until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < until {
        for name in ["shared", "first-only", "second-only"] {
            assert!(cms.get_opt(name).await?.is_some(), "{name} is there");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Neither app is stuck in an operation, and an unrelated app keeps going.
    for name in &names[..2] {
        env.wait_app(name, "no operation left running", |a| {
            a["status"]["operationState"]["phase"] != "Running"
        })
        .await?;
    }
    env.repo
        .write("third/cm.yaml", config_map("third", "v2", 0));
    env.repo.commit("third v2");
    wait_until(TIMEOUT, "the third app at v2", || async {
        let data = cms.get_opt("third").await?.and_then(|c| c.data);
        Ok((data.and_then(|d| d.get("owner").cloned()).as_deref() == Some("v2")).then_some(()))
    })
    .await?;
    let deleted = recorder.deleted();
    report("two apps claiming one object", 1, 1, deleted.len());
    assert!(deleted.is_empty(), "nothing was deleted: {deleted:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_edited_while_it_syncs_finishes_that_sync_then_syncs_the_edit()
-> anyhow::Result<()> {
    let env = Gitops::new("edit").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    // Wave 0 waits for a LoadBalancer address, which the test gives once the app is edited.
    env.repo
        .write("v1/gate.yaml", GATE)
        .write("v1/one.yaml", config_map("one", "v1", 1))
        .write("v2/gate.yaml", GATE)
        .write("v2/two.yaml", config_map("two", "v2", 1));
    env.repo.commit("two paths");
    let name = env.name("app");
    let mut serve = Serve::new(&env, &[], &[])?;
    serve.start()?;
    env.apply_app(&application(&name, &ns, &url, "v1", AUTOMATED, ""))
        .await?;
    let waiting = env.wait_sync_waiting(&name).await?;
    let first_start = waiting["status"]["operationState"]["startedAt"].clone();

    // `kubectl apply` of the edited Application, mid-sync: another path.
    env.apply_app(&application(&name, &ns, &url, "v2", AUTOMATED, ""))
        .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let services: Api<Service> = env.ns.api();
    open_gate(&services).await?;

    let done = env
        .wait_app(&name, "synced at the edited path", |a| {
            sync_of(a) == "Synced"
                && health_of(a) == "Healthy"
                && a["status"]["operationState"]["phase"] == "Succeeded"
                && a["status"]["sync"]["comparedTo"]["source"]["path"] == "v2"
        })
        .await?;
    let cms: Api<ConfigMap> = env.ns.api();
    wait_until(TIMEOUT, "v2's object there and v1's pruned", || async {
        Ok(
            (cms.get_opt("two").await?.is_some() && cms.get_opt("one").await?.is_none())
                .then_some(()),
        )
    })
    .await?;
    assert!(services.get_opt("gate").await?.is_some(), "the gate stays");
    // The history shows the sync that was running finished (v1) and then the edit's (v2).
    let history = done["status"]["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let paths: Vec<&str> = history
        .iter()
        .filter_map(|h| h["source"]["path"].as_str())
        .collect();
    println!("edited mid-sync: first operation {first_start}, history paths {paths:?}");
    assert_eq!(paths.last().copied(), Some("v2"), "history: {history:?}");
    report("Application edited while it syncs", 1, paths.len(), 0);
    Ok(())
}
