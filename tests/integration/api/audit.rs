//! The audit trail of a real controller: syncs (automated, with their trigger, and requested,
//! naming the user), each object applied with its hashes and a masked diff, edits of the
//! Application naming the field manager; served by the API to whoever may see each app;
//! `driftless audit verify` passes, and fails once the tail is cut below the checkpoint the
//! controller published in the cluster.

use super::*;
use k8s_openapi::api::core::v1::ConfigMap;
use std::process::Command;

const POLICY: &str =
    "p, role:other-only, applications, get, other/*, allow\ng, alice, role:other-only\n";

fn secret(value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: {value}\n"
    )
}

/// The entries the API shows `token`, filtered by `query`.
async fn entries(api: &ApiEnv, token: &str, query: &str) -> anyhow::Result<Vec<Value>> {
    let (status, body) = api.get(&format!("/api/v1/audit?{query}"), token).await?;
    anyhow::ensure!(status == 200, "audit list: {status} {body}");
    Ok(body["items"].as_array().cloned().unwrap_or_default())
}

fn of_kind<'a>(entries: &'a [Value], kind: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["kind"] == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_objects_and_edits_are_recorded_served_by_rbac_and_verified() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let database = format!("sqlite://{}", dir.path().join("audit.db").display());
    let config = Config::default()
        .user("admin", "admin-pw")
        .user("alice", "alice-pw")
        .rbac("policy.csv", POLICY)
        .audit(&database);
    let api = ApiEnv::start("api-audit", config).await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    env.repo.write("app/settings.yaml", settings("hello"));
    env.repo
        .write("app/secret.yaml", secret("first-s3cret-value"));
    let first = env.repo.commit("first");
    let name = env.name("shop");
    let app_key = format!("{ns}/{name}");
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
    let admin = api.login("admin", "admin-pw").await?;
    let query = format!("app={name}");

    // The automated sync: started and completed, triggered by the commit, each object applied.
    let recorded =
        driftless_testkit::wait_until(TIMEOUT, "the first sync in the audit log", || async {
            let all = entries(&api, &admin, &query).await?;
            let done = of_kind(&all, "SyncCompleted")
                .iter()
                .any(|e| e["revision"] == first.as_str());
            Ok(done.then_some(all))
        })
        .await?;
    let started = of_kind(&recorded, "SyncStarted");
    assert_eq!(started.len(), 1, "{recorded:#?}");
    assert_eq!(started[0]["trigger"], "commit");
    assert_eq!(started[0]["user"], "driftless-controller");
    assert_eq!(started[0]["app"], app_key.as_str());
    let completed = of_kind(&recorded, "SyncCompleted");
    assert_eq!(completed[0]["result"], "Succeeded");
    assert!(completed[0]["durationMs"].is_u64(), "{:#}", completed[0]);
    let applied = of_kind(&recorded, "ObjectApplied");
    let objects: Vec<&str> = applied
        .iter()
        .filter_map(|e| e["object"].as_str())
        .collect();
    for object in [
        format!("/ConfigMap/{ns}/settings"),
        format!("/Secret/{ns}/creds"),
    ] {
        assert!(
            objects.contains(&object.as_str()),
            "{object} not in {objects:?}"
        );
    }
    assert!(
        applied
            .iter()
            .all(|e| e["after"].as_str().is_some_and(|h| h.len() == 64))
    );

    // A new commit: the ConfigMap's diff shows the change, the Secret's only masks.
    env.repo.write("app/settings.yaml", settings("goodbye"));
    env.repo
        .write("app/secret.yaml", secret("second-s3cret-value"));
    let second = env.repo.commit("second");
    let updates = driftless_testkit::wait_until(TIMEOUT, "the second sync's objects", || async {
        let all = entries(&api, &admin, &format!("{query}&kind=ObjectApplied")).await?;
        let at_second: Vec<Value> = all
            .into_iter()
            .filter(|e| e["revision"] == second.as_str())
            .collect();
        Ok((at_second.len() >= 2).then_some(at_second))
    })
    .await?;
    let update_of = |kind: &str| {
        let object = format!("/{kind}/{ns}/");
        updates
            .iter()
            .find(move |e| e["object"].as_str().is_some_and(|o| o.starts_with(&object)))
    };
    let config_map = update_of("ConfigMap").expect("the ConfigMap's update");
    let diff = config_map["diff"].as_str().unwrap_or_default();
    assert!(diff.contains("goodbye") && diff.contains("hello"), "{diff}");
    assert!(
        config_map["before"].is_string() && config_map["before"] != config_map["after"],
        "{config_map:#}"
    );
    let secret_update = update_of("Secret").expect("the Secret's update");
    let secret_diff = secret_update["diff"].as_str().unwrap_or_default();
    assert!(
        secret_diff.contains("++++++++"),
        "the Secret's values are masked: {secret_diff}"
    );
    let everything = serde_json::to_string(&entries(&api, &admin, "").await?)?;
    assert!(
        !everything.contains("s3cret-value"),
        "a Secret's value is in the audit log"
    );

    // Someone edits the Application with kubectl: recorded with their field manager.
    let edit = json!({"spec": {"revisionHistoryLimit": 5}});
    env.apps()
        .patch(
            &name,
            &PatchParams {
                field_manager: Some("kubectl-edit".into()),
                ..Default::default()
            },
            &Patch::Merge(&edit),
        )
        .await?;
    driftless_testkit::wait_until(TIMEOUT, "the edit in the audit log", || async {
        let edits = entries(&api, &admin, &format!("{query}&kind=ApplicationEdited")).await?;
        Ok(edits
            .into_iter()
            .find(|e| e["user"] == "kubectl-edit" && e["message"] == "spec changed"))
    })
    .await?;

    // A requested sync names its user.
    let (status, body) = api
        .post(
            &format!("/api/v1/applications/{name}/sync"),
            &admin,
            json!({}),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    driftless_testkit::wait_until(TIMEOUT, "the manual sync in the audit log", || async {
        let syncs = entries(
            &api,
            &admin,
            &format!("{query}&user=admin&kind=SyncCompleted"),
        )
        .await?;
        Ok(syncs.into_iter().find(|e| e["trigger"] == "manual"))
    })
    .await?;

    // A file removed from git: its object is pruned, and the entry keeps the hash it had.
    let secrets: Api<Secret> = env.ns.api();
    let live_secret = serde_json::to_value(secrets.get("creds").await?)?;
    env.repo.remove("app/secret.yaml");
    let third = env.repo.commit("no secret");
    let pruned = driftless_testkit::wait_until(TIMEOUT, "the prune in the audit log", || async {
        let pruned = entries(&api, &admin, &format!("{query}&kind=ObjectPruned")).await?;
        Ok(pruned.into_iter().find(|e| e["revision"] == third.as_str()))
    })
    .await?;
    assert_eq!(pruned["object"], format!("/Secret/{ns}/creds"));
    let live_hash = driftless_controller::audit::records::content_of(&live_secret);
    assert_eq!(pruned["before"], live_hash.as_str(), "{pruned:#}");
    assert!(pruned["after"].is_null(), "{pruned:#}");

    // RBAC: alice may only see apps of project `other`.
    let alice = api.login("alice", "alice-pw").await?;
    assert_eq!(entries(&api, &alice, &query).await?, Vec::<Value>::new());
    let (status, _) = api.get("/api/v1/audit/verify", &alice).await?;
    assert_eq!(status, 403);

    // The chain verifies against the checkpoint published in the cluster.
    let maps: Api<ConfigMap> = env.ns.api();
    let head =
        driftless_testkit::wait_until(TIMEOUT, "a checkpoint of the current head", || async {
            let (_, verified) = api.get("/api/v1/audit/verify", &admin).await?;
            let published = maps.get_opt("driftless-audit-checkpoint").await?;
            let seq = published
                .and_then(|m| m.data)
                .and_then(|d| d.get("checkpoint").cloned())
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|c| c["seq"].as_u64());
            let head = verified["head"]["seq"].as_u64();
            Ok((verified["verified"] == true && seq.is_some() && seq == head).then_some(head))
        })
        .await?
        .unwrap_or_default();
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_driftless"))
            .arg("audit")
            .args(args)
            .args(["--database", &database])
            .output()
    };
    let verified = cli(&["verify"])?;
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let listed = cli(&["list", "--app", &app_key, "--kind", "SyncCompleted"])?;
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.contains("SyncCompleted") && l.contains("admin")),
        "{table}"
    );

    // A database administrator cuts the tail, checkpoints included: the published one tells.
    let path = dir.path().join("audit.db");
    let db = rusqlite::Connection::open(&path)?;
    db.execute(
        "DELETE FROM audit_entries WHERE seq > ?1",
        [i64::try_from(head.saturating_sub(2))?],
    )?;
    db.execute("DELETE FROM audit_checkpoints", [])?;
    drop(db);
    // (The controller may append again meanwhile: then the entry at the checkpoint differs.)
    let (_, broken) = api.get("/api/v1/audit/verify", &admin).await?;
    assert_eq!(broken["verified"], false, "{broken}");
    let message = broken["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("truncated") || message.contains("signed checkpoint"),
        "{broken}"
    );
    let refused = cli(&["verify", "--namespace", &ns])?;
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && said.contains("does not verify"),
        "verify passed a truncated log: {said}"
    );
    Ok(())
}
