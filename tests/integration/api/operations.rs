//! Operations through the API: terminating a sync that waits in a wave, and a rollback to a
//! history entry.

use super::*;

const LATER: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\ndata: {a: b}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_sync_is_terminated_and_a_rollback_returns_to_a_recorded_revision()
-> anyhow::Result<()> {
    let api = ApiEnv::start("api-ops", Config::default().user("admin", "admin-pw")).await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    let url = env.repo.file_url();
    env.repo.write("app/settings.yaml", settings("first"));
    let first = env.repo.commit("first");
    let name = env.name("app");
    env.apply_app(&application(&name, &ns, &url, "app", "", ""))
        .await?;
    let admin = api.login("admin", "admin-pw").await?;
    api.wait_seen(&name, &admin).await?;
    let sync = format!("/api/v1/applications/{name}/sync");
    let (status, body) = api.post(&sync, &admin, json!({})).await?;
    assert_eq!(status, 200, "{body}");
    env.wait_synced_healthy(&name).await?;
    // The same request once more is a second sync, not one taken as "already ran".
    let history_of = |a: &Value| a["status"]["history"].as_array().map_or(0, Vec::len);
    env.wait_app(&name, "the first sync recorded, its request removed", |a| {
        history_of(a) == 1 && a.get("operation").is_none_or(Value::is_null)
    })
    .await?;
    let (status, body) = api.post(&sync, &admin, json!({})).await?;
    assert_eq!(status, 200, "{body}");
    env.wait_app(&name, "the repeated sync recorded", |a| history_of(a) == 2)
        .await?;
    let (status, history) = api
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/applications/{name}/history"),
            Some(&admin),
            None,
        )
        .await?;
    assert_eq!(status, 200, "{history}");
    let ids: Vec<i64> = history["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["id"].as_i64())
        .collect();
    assert_eq!(ids, [0, 1], "{history}");
    assert_eq!(history["items"][1]["revision"], first.as_str());
    // Each sync left Argo CD's Events on the app, naming who asked.
    let events_path = format!("/api/v1/applications/{name}/events");
    let started = format!("admin initiated sync to {first}");
    let completed = format!("Sync operation to {first} succeeded");
    let events = driftless_testkit::wait_until(TIMEOUT, "the sync's Events", || async {
        let (_, events) = api
            .call(reqwest::Method::GET, &events_path, Some(&admin), None)
            .await?;
        let seen = |reason: &str, message: &str| {
            events["items"]
                .as_array()
                .into_iter()
                .flatten()
                // A write's other changes (a sync status it left) follow in the same Event.
                .filter(|e| {
                    e["reason"] == reason
                        && e["message"]
                            .as_str()
                            .is_some_and(|m| m.starts_with(message))
                })
                .count()
        };
        let both =
            seen("OperationStarted", &started) == 2 && seen("OperationCompleted", &completed) == 2;
        Ok(both.then_some(events))
    })
    .await?;
    let by_admin = events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["reason"] == "OperationStarted")
        .map(|e| e["metadata"]["annotations"]["user"].clone());
    assert_eq!(by_admin, Some(json!("admin")), "{events}");

    // A second revision whose sync waits for the gate in wave 0.
    env.repo.write("app/settings.yaml", settings("second"));
    env.repo.write("app/gate.yaml", GATE);
    env.repo.write("app/later.yaml", LATER);
    env.repo.commit("second");
    let (status, body) = api
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/applications/{name}?refresh=normal"),
            Some(&admin),
            None,
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    env.wait_app(&name, "the new revision compared", |a| {
        sync_of(a) == "OutOfSync"
    })
    .await?;
    let (status, body) = api.post(&sync, &admin, json!({"prune": true})).await?;
    assert_eq!(status, 200, "{body}");
    env.wait_sync_waiting(&name).await?;
    let (status, _) = api.post(&sync, &admin, json!({})).await?;
    assert_eq!(status, 409, "a second sync while one runs");

    let terminate = format!("/api/v1/applications/{name}/operation");
    let (status, body) = api
        .call(reqwest::Method::DELETE, &terminate, Some(&admin), None)
        .await?;
    assert_eq!(status, 200, "{body}");
    let ended = env
        .wait_app(&name, "the operation terminated", |a| {
            a["status"]["operationState"]["phase"] == "Failed"
        })
        .await?;
    assert_eq!(
        ended["status"]["operationState"]["message"],
        "Operation terminated"
    );
    let later: Api<ConfigMap> = env.ns.api();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(later.get_opt("later").await?.is_none(), "wave 1 never ran");
    let (status, _) = api
        .call(reqwest::Method::DELETE, &terminate, Some(&admin), None)
        .await?;
    assert_eq!(status, 409, "nothing left to terminate");

    // Roll back to the first sync's history entry.
    let history = ended["status"]["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let entry = history
        .iter()
        .find(|h| h["revision"] == first.as_str())
        .expect("the first sync is in the history");
    let (status, body) = api
        .post(
            &format!("/api/v1/applications/{name}/rollback"),
            &admin,
            json!({"id": entry["id"], "prune": true}),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    env.wait_app(&name, "rolled back", |a| {
        a["status"]["operationState"]["phase"] == "Succeeded"
            && a["status"]["operationState"]["syncResult"]["revision"] == first.as_str()
    })
    .await?;
    assert_eq!(greeting(&env.ns.api()).await?.as_deref(), Some("first"));
    Ok(())
}
