//! Two `driftless serve` replicas with leader election; the leader is stopped in the middle of
//! a sync whose wave 0 waits for a slow Deployment, first with SIGTERM (it stops at a safe
//! point, saves its progress and gives the Lease back at once), then with SIGKILL (the Lease
//! expires). Each time the standby takes over, finishes the operation, and no hook runs twice.

use super::{Recorder, Serve};
use crate::gitops::*;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use serde_json::Value;
use std::time::{Duration, Instant};

pub(crate) const LEASE: &str = "driftless-controller";
const LEASE_DURATION: Duration = Duration::from_secs(6);

pub(crate) fn hook(name: &str, phase: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/hook: {phase}\n\
         spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: run, image: \"busybox:1.36\", command: [\"true\"]}}]\n"
    )
}

/// A Deployment that becomes available only `min_ready` seconds after its pod is ready: the
/// wave it is in takes that long.
fn slow_deployment(round: usize, min_ready: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: slow\n  annotations: {{argocd.argoproj.io/sync-wave: \"0\"}}\n\
         spec:\n  replicas: 1\n  minReadySeconds: {min_ready}\n  selector: {{matchLabels: {{app: slow}}}}\n  template:\n\
         \x20   metadata: {{labels: {{app: slow}}, annotations: {{round: \"{round}\"}}}}\n\
         \x20   spec:\n      containers: [{{name: web, image: \"nginx:1.27\"}}]\n"
    )
}

/// Round `round` of the app in `slow/`: a PreSync hook, the slow Deployment in wave 0 (its wave
/// lasts `min_ready` seconds), a ConfigMap in wave 1 and a PostSync hook.
pub(crate) fn write_round(env: &Gitops, round: usize, min_ready: u32) {
    env.repo
        .write("slow/migrate.yaml", hook("migrate", "PreSync"))
        .write("slow/slow.yaml", slow_deployment(round, min_ready))
        .write(
            "slow/after.yaml",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n  annotations: {{argocd.argoproj.io/sync-wave: \"1\"}}\ndata: {{round: \"{round}\"}}\n"
            ),
        )
        .write("slow/notify.yaml", hook("notify", "PostSync"));
}

/// The sync of `commit` is in wave 0: the PreSync hook is done and the slow Deployment applied.
pub(crate) fn mid_sync(app: &Value, commit: &str) -> bool {
    let op = &app["status"]["operationState"];
    let resources = op["syncResult"]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    op["phase"] == "Running"
        && op["syncResult"]["revision"] == commit
        && resources
            .iter()
            .any(|r| r["kind"] == "Deployment" && r["name"] == "slow")
}

pub(crate) fn finished_at(app: &Value, commit: &str) -> bool {
    let op = &app["status"]["operationState"];
    op["phase"] == "Succeeded"
        && op["syncResult"]["revision"] == commit
        && sync_of(app) == "Synced"
        && health_of(app) == "Healthy"
}

/// After `syncs` syncs of the slow app, the last of round `round`: each hook ran once per sync
/// and wave 1 holds the round's ConfigMap.
pub(crate) async fn deployed_once_per_sync(
    env: &Gitops,
    recorder: &Recorder,
    syncs: usize,
    round: usize,
) -> anyhow::Result<()> {
    assert_eq!(
        recorder.created("Job", "migrate"),
        syncs,
        "PreSync once per sync"
    );
    assert_eq!(
        recorder.created("Job", "notify"),
        syncs,
        "PostSync once per sync"
    );
    let cms: Api<ConfigMap> = env.ns.api();
    let after = cms.get_opt("after").await?.and_then(|c| c.data);
    assert_eq!(
        after.and_then(|d| d.get("round").cloned()),
        Some(round.to_string()),
        "the ConfigMap of wave 1"
    );
    Ok(())
}

pub(crate) async fn holder(leases: &Api<Lease>) -> anyhow::Result<String> {
    Ok(leases
        .get_opt(LEASE)
        .await?
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .unwrap_or_default())
}

fn replica(env: &Gitops, name: &str, cache: &std::path::Path) -> anyhow::Result<Serve> {
    let cache = cache.display().to_string();
    let duration = format!("{}s", LEASE_DURATION.as_secs());
    Serve::new(
        env,
        &[
            "--leader-elect",
            "--lease-duration",
            &duration,
            "--cache-dir",
            &cache,
            "--no-audit",
        ],
        &[("HOSTNAME", name)],
    )
}

/// Polls fast (the sync's wave lasts ~10 s) until the app is mid-sync at `commit`.
pub(crate) async fn wait_mid_sync(env: &Gitops, app: &str, commit: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let now = env.app(app).await?.unwrap_or_default();
        if mid_sync(&now, commit) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline && !finished_at(&now, commit),
            "never saw the sync of {commit} mid-way; status: {}",
            now["status"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the Lease to be held by a replica whose identity starts with `prefix`.
pub(crate) async fn wait_holder(leases: &Api<Lease>, prefix: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        if holder(leases).await?.starts_with(prefix) {
            return Ok(started.elapsed());
        }
        anyhow::ensure!(started.elapsed() < TIMEOUT, "{prefix} never took the lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_finishes_the_sync_of_a_leader_stopped_with_sigterm_then_sigkill()
-> anyhow::Result<()> {
    let env = Gitops::new("handover").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let recorder = Recorder::watch(&env, super::WAVE_KINDS).await?;
    let caches = [tempfile::tempdir()?, tempfile::tempdir()?];
    let mut first = replica(&env, "first", caches[0].path())?;
    let mut second = replica(&env, "second", caches[1].path())?;
    first.start()?;
    let leases: Api<Lease> = env.ns.api();
    wait_holder(&leases, "first-").await?;
    second.start()?;

    write_round(&env, 0, 10);
    let commit = env.repo.commit("round 0");
    let app = env.name("slow");
    env.apply_app(&application(&app, &ns, &url, "slow", AUTOMATED, ""))
        .await?;
    wait_mid_sync(&env, &app, &commit).await?;

    // SIGTERM: the leader stops at a safe point and gives the Lease back.
    let (status, took) = first.terminate(Duration::from_secs(25))?;
    println!("handover: SIGTERM to exit {took:?} ({status})");
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        first.log()
    );
    let log = first.log();
    assert!(log.contains("released the leader lease"), "log:\n{log}");
    let left = env.app(&app).await?.unwrap_or_default();
    assert_eq!(
        left["status"]["operationState"]["phase"], "Running",
        "the operation is left Running for the standby; log:\n{log}"
    );
    let taken = wait_holder(&leases, "second-").await?;
    println!("handover: the standby took the released lease {taken:?} after the exit");
    assert!(
        taken < LEASE_DURATION,
        "the standby waited {taken:?} for a released lease"
    );
    env.wait_app(&app, "finished by the standby", |a| finished_at(a, &commit))
        .await?;
    deployed_once_per_sync(&env, &recorder, 1, 0).await?;

    // SIGKILL: no release; the standby (the first, started again) takes over once it expires.
    first.start()?;
    write_round(&env, 1, 10);
    let commit = env.repo.commit("round 1");
    wait_mid_sync(&env, &app, &commit).await?;
    second.kill();
    let killed = Instant::now();
    wait_holder(&leases, "first-").await?;
    let taken = killed.elapsed();
    println!("handover: after SIGKILL the standby took the lease in {taken:?}");
    assert!(
        taken < LEASE_DURATION + LEASE_DURATION / 2,
        "the standby took {taken:?} to take an expired lease"
    );
    env.wait_app(&app, "finished after the kill", |a| finished_at(a, &commit))
        .await?;
    deployed_once_per_sync(&env, &recorder, 2, 1).await?;
    let history = env.app(&app).await?.unwrap_or_default()["status"]["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        history.len(),
        2,
        "one entry per deployed commit: {history:?}"
    );
    let wrongly: Vec<(String, String)> = recorder
        .deleted()
        .into_iter()
        .filter(|(kind, _)| kind != "Job")
        .collect();
    assert!(wrongly.is_empty(), "deleted on the way: {wrongly:?}");
    Ok(())
}
