//! `driftless serve` killed with SIGKILL at random times while it runs syncs of an app with a
//! PreSync hook, three waves (a Deployment it waits for in wave 0) and a PostSync hook, and
//! started again each time with the same cache. Each round commits a change (the last also
//! drops an object, so that round prunes); a second app changes in every round too.

use super::{Recorder, Serve, long_run, report};
use crate::gitops::*;
use driftless_testkit::wait_until;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::time::{Duration, Instant};

fn hook(name: &str, phase: &str, policy: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/hook: {phase}\n{policy}\
         spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: run, image: \"busybox:1.36\", command: [\"true\"]}}]\n"
    )
}

fn waved_config_map(name: &str, wave: i32, round: usize) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations: {{argocd.argoproj.io/sync-wave: \"{wave}\"}}\ndata: {{round: \"{round}\"}}\n"
    )
}

/// The app's files in `round`; the last round of several drops ConfigMap `c` (a prune).
fn write_round(env: &Gitops, round: usize, prune_c: bool) {
    let repo = &env.repo;
    repo.write("waves/web.yaml", deployment("web", "nginx:1.27", Some(0)))
        .write("waves/a.yaml", waved_config_map("a", 0, round))
        .write("waves/b.yaml", waved_config_map("b", 1, round))
        // Named hooks: the default policy (BeforeHookCreation) and HookSucceeded.
        .write("waves/migrate.yaml", hook("migrate", "PreSync", ""))
        .write(
            "waves/notify.yaml",
            hook(
                "notify",
                "PostSync",
                "    argocd.argoproj.io/hook-delete-policy: HookSucceeded\n",
            ),
        )
        .write("other/settings.yaml", settings(&format!("round-{round}")));
    if prune_c {
        repo.remove("waves/c.yaml");
    } else {
        repo.write("waves/c.yaml", waved_config_map("c", 2, round));
    }
}

/// The round's sync is over: Succeeded at `commit`, Synced and Healthy.
fn synced_at(app: &Value, commit: &str) -> bool {
    let op = &app["status"]["operationState"];
    op["phase"] == "Succeeded"
        && op["syncResult"]["revision"] == commit
        && app["status"]["sync"]["revision"] == commit
        && sync_of(app) == "Synced"
        && health_of(app) == "Healthy"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_killed_at_random_points_of_syncs_with_hooks_and_waves_finishes_each_sync_once()
-> anyhow::Result<()> {
    let env = Gitops::new("sigkill").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let rounds = if long_run() { 8 } else { 2 };
    let seed: u64 = rand::random();
    println!("sigkill: seed {seed}, {rounds} rounds");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let recorder = Recorder::watch(&env, super::WAVE_KINDS).await?;
    write_round(&env, 0, false);
    env.repo.commit("round 0");
    let (app, other) = (env.name("waves"), env.name("other"));
    env.apply_app(&application(&app, &ns, &url, "waves", AUTOMATED, ""))
        .await?;
    env.apply_app(&application(&other, &ns, &url, "other", AUTOMATED, ""))
        .await?;
    let mut serve = Serve::new(&env, &[], &[])?;
    serve.start()?;
    env.wait_app(&app, "the first sync", |a| synced_at(a, &env.repo.head()))
        .await?;

    let cms: Api<ConfigMap> = env.ns.api();
    let (mut kills, mut completed, mut lost) = (0, 0, 0);
    for round in 1..=rounds {
        let prune_c = round == rounds && rounds > 1;
        write_round(&env, round, prune_c);
        let commit = env.repo.commit(&format!("round {round}"));
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            serve.start()?;
            tokio::time::sleep(Duration::from_millis(rng.random_range(300..2500))).await;
            let now = env.app(&app).await?.unwrap_or_default();
            if synced_at(&now, &commit) {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "round {round} did not finish after {kills} kills; status: {}\nlog:\n{}",
                now["status"],
                serve.log()
            );
            serve.kill();
            kills += 1;
        }
        let done = env.app(&app).await?.unwrap_or_default();
        completed += 1;
        // Nothing lost: every object git has in this round exists with this round's data.
        let mut expected = vec!["a", "b"];
        if !prune_c {
            expected.push("c");
        }
        for name in &expected {
            let data = cms.get_opt(name).await?.and_then(|c| c.data);
            let value = data.and_then(|d| d.get("round").cloned());
            if value.as_deref() != Some(round.to_string().as_str()) {
                lost += 1;
                eprintln!("round {round}: ConfigMap {name} is {value:?}");
            }
        }
        if env.deployments().get_opt("web").await?.is_none() {
            lost += 1;
        }
        if prune_c {
            wait_until(TIMEOUT, "ConfigMap c pruned", || async {
                Ok(cms.get_opt("c").await?.is_none().then_some(()))
            })
            .await?;
        }
        // Each hook ran exactly once per sync, however often the controller died.
        let runs = round + 1;
        assert_eq!(
            recorder.created("Job", "migrate"),
            runs,
            "the PreSync hook ran once per sync (round {round}); log:\n{}",
            serve.log()
        );
        assert_eq!(
            recorder.created("Job", "notify"),
            runs,
            "the PostSync hook ran once per sync (round {round}); log:\n{}",
            serve.log()
        );
        // One history entry per deployed commit: the sync was not completed twice.
        let history = done["status"]["history"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let entries = history.iter().filter(|h| h["revision"] == commit).count();
        assert_eq!(entries, 1, "history: {history:?}");
        // The other app kept going.
        let greeting = format!("round-{round}");
        env.wait_app(&other, "the other app at this round", |a| {
            sync_of(a) == "Synced" && a["status"]["sync"]["revision"] == commit
        })
        .await?;
        let cm = cms.get_opt("settings").await?.and_then(|c| c.data);
        assert_eq!(cm.and_then(|d| d.get("greeting").cloned()), Some(greeting));
    }
    // Nothing but `c` (pruned in the last round) and finished hooks was ever deleted.
    let wrongly: Vec<(String, String)> = recorder
        .deleted()
        .into_iter()
        .filter(|(kind, name)| !(kind == "Job" || (kind == "ConfigMap" && name == "c")))
        .collect();
    lost += wrongly.len();
    assert!(wrongly.is_empty(), "deleted on the way: {wrongly:?}");
    report(
        "SIGKILL at random times in multi-wave syncs with hooks",
        kills,
        completed,
        lost,
    );
    assert_eq!(lost, 0);
    if long_run() {
        assert!(kills >= 20, "only {kills} kills landed mid-sync");
    }
    Ok(())
}
