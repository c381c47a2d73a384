//! driftless managing its own install from git (examples/self-managed), run the way the install
//! runs it: the binary in emulated pods (pod.rs) with the args, environment and ServiceAccount the
//! chart's Deployment gives its container. A values commit changes those args while another app
//! is in the middle of a sync; the test plays the kubelet's part of the rolling update the
//! commit causes (start a pod of the new template, wait until it is ready, SIGTERM the old one),
//! and the new replica finishes the running sync: nothing lost, no hook run twice.
//! (The Deployment's own pods are KWOK's fakes; the processes are the test's.)

use crate::faults::handover::{
    LEASE, deployed_once_per_sync, finished_at, wait_holder, wait_mid_sync, write_round,
};
use crate::faults::{Recorder, Serve, WAVE_KINDS};
use crate::gitops::*;
use crate::install::{copy_dir, install_chart, uninstall_chart};
use crate::pod::{Pod, free_port};
use driftless_source::testing::ScratchRepo;
use driftless_testkit::wait_until;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The chart's settings in this test, both at install and in the self-managed app's values:
/// plain HTTP for the API (no TLS Secret to make), a fast poll, no audit database.
const VALUES: &[&str] = &[
    "api.insecure=true",
    "pollInterval=1s",
    "audit.enabled=false",
];

/// How long the running sync's wave 0 lasts: long enough for a rollout to happen inside it.
const SLOW_WAVE_SECONDS: u32 = 30;

/// One running pod of the driftless Deployment: the process, where it answers /readyz, and
/// the template args it was started from.
struct Replica {
    serve: Serve,
    health: String,
    args: Vec<String>,
    _cache: tempfile::TempDir,
}

/// The container's args and literal env of the Deployment `driftless` as it stands.
async fn template(
    deployments: &Api<Deployment>,
) -> anyhow::Result<(Vec<String>, Vec<(String, String)>)> {
    let deployment = deployments.get("driftless").await?;
    let container = deployment
        .spec
        .and_then(|s| s.template.spec)
        .and_then(|p| p.containers.into_iter().next())
        .ok_or_else(|| anyhow::anyhow!("the Deployment has no container"))?;
    let env = container
        .env
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| Some((e.name, e.value?)))
        .collect();
    Ok((container.args.unwrap_or_default(), env))
}

/// Starts a pod of the template (`args`, `env`) as the kubelet would, named `name` (its
/// HOSTNAME, so its Lease identity). Each pod has a network and volumes of its own; on this one
/// machine that is loopback ports and a cache directory of its own.
fn start_replica(
    pod: &Pod,
    name: &str,
    args: &[String],
    env: &[(String, String)],
) -> anyhow::Result<Replica> {
    let cache = tempfile::tempdir()?;
    let health = format!("127.0.0.1:{}", free_port()?);
    let local: Vec<String> = args
        .iter()
        .map(|arg| match arg.split_once('=') {
            Some(("--api-listen", _)) => Ok(format!("--api-listen=127.0.0.1:{}", free_port()?)),
            Some(("--health-listen", _)) => Ok(format!("--health-listen={health}")),
            Some(("--metrics-listen", _)) => {
                Ok(format!("--metrics-listen=127.0.0.1:{}", free_port()?))
            }
            Some(("--cache-dir", _)) => Ok(format!("--cache-dir={}", cache.path().display())),
            _ => Ok(arg.clone()),
        })
        .collect::<anyhow::Result<_>>()?;
    let mut envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    envs.push(("HOSTNAME", name));
    let mut serve = pod.run(local, &envs)?;
    serve.start()?;
    Ok(Replica {
        serve,
        health,
        args: args.to_vec(),
        _cache: cache,
    })
}

/// Waits until the replica's /readyz answers 200, as the kubelet's readiness probe does.
async fn wait_ready(replica: &Replica) -> anyhow::Result<()> {
    let url = format!("http://{}/readyz", replica.health);
    let http = reqwest::Client::new();
    let ready = wait_until(Duration::from_secs(60), "the replica is ready", || async {
        let answer = http.get(&url).send().await;
        Ok(answer.is_ok_and(|a| a.status().is_success()).then_some(()))
    })
    .await;
    ready.map_err(|e| anyhow::anyhow!("{e}; log:\n{}", replica.serve.log()))
}

/// The self-managed example, aimed at the chart in `repo` and at the test's namespace, with
/// the test's values.
fn self_managed_app(ns: &str, repo: &str) -> anyhow::Result<Value> {
    let example =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/self-managed/driftless.yaml");
    let mut app: Value = serde_norway::from_str(&std::fs::read_to_string(example)?)?;
    app["metadata"]["namespace"] = json!(ns);
    app["spec"]["destination"]["namespace"] = json!(ns);
    app["spec"]["source"]["repoURL"] = json!(repo);
    app["spec"]["source"]["targetRevision"] = json!("HEAD");
    let helm = &mut app["spec"]["source"]["helm"];
    // The CRDs are the shared cluster's: this app leaves them alone.
    helm["skipCrds"] = json!(true);
    let values = &mut helm["valuesObject"];
    values["api"] = json!({"insecure": true});
    values["pollInterval"] = json!("1s");
    values["audit"] = json!({"enabled": false});
    Ok(app)
}

fn revision_of(app: &Value) -> &str {
    app["status"]["sync"]["revision"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_values_commit_rolls_driftless_itself_and_the_new_replica_finishes_the_running_sync()
-> anyhow::Result<()> {
    let env = Gitops::new("self-managed").await?;
    let ns = env.ns.name.clone();
    let chart = ScratchRepo::named("driftless.git");
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    copy_dir(
        &workspace.join("install/helm/driftless"),
        &chart.path().join("install/helm/driftless"),
    )?;
    let installed = chart.commit("driftless's chart");
    let token = install_chart(&env.ns, VALUES).await?;
    let result = async {
        let pod = Pod::new(&ns, &token)?;
        let deployments: Api<Deployment> = env.ns.api();
        let leases: Api<Lease> = env.ns.api();
        let (args, container_env) = template(&deployments).await?;
        let mut old = start_replica(&pod, "driftless-old", &args, &container_env)?;
        wait_ready(&old).await?;
        wait_holder(&leases, "driftless-old").await?;

        let recorder = Recorder::watch(&env, WAVE_KINDS).await?;
        write_round(&env, 0, 0);
        env.repo.commit("round 0");
        let slow = env.name("slow");
        env.apply_app(&self_managed_app(&ns, &chart.file_url())?.to_string())
            .await?;
        env.apply_app(&application(
            &slow,
            &ns,
            &env.repo.file_url(),
            "slow",
            AUTOMATED,
            "",
        ))
        .await?;
        env.wait_app("driftless", "managing its install", |a| {
            sync_of(a) == "Synced" && health_of(a) == "Healthy" && revision_of(a) == installed
        })
        .await?;
        env.wait_synced_healthy(&slow).await?;

        // A sync that takes a while, and in the middle of it a commit of one more flag.
        write_round(&env, 1, SLOW_WAVE_SECONDS);
        let round = env.repo.commit("round 1");
        wait_mid_sync(&env, &slow, &round).await?;
        let values = chart.path().join("install/helm/driftless/values.yaml");
        let text = std::fs::read_to_string(&values)?;
        anyhow::ensure!(
            text.contains("extraArgs: []"),
            "values.yaml has no empty extraArgs"
        );
        std::fs::write(
            &values,
            text.replace("extraArgs: []", "extraArgs: [--resync=5m]"),
        )?;
        let flagged = chart.commit("resync every 5 minutes");
        let committed = Instant::now();
        let template_changed = wait_until(
            Duration::from_secs(60),
            "the Deployment's template carries the new flag",
            || async {
                let now = template(&deployments).await?;
                Ok(now.0.contains(&"--resync=5m".to_string()).then_some(now))
            },
        )
        .await;
        let (args, container_env) = match template_changed {
            Ok(template) => template,
            Err(e) => {
                let app = env.app("driftless").await?.unwrap_or_default();
                anyhow::bail!(
                    "{e}; app status: {}\nlog:\n{}",
                    app["status"],
                    old.serve.log()
                )
            }
        };
        println!(
            "self-managed: the commit reached the Deployment in {:?}",
            committed.elapsed()
        );
        assert_ne!(args, old.args, "the template changed");

        // The rolling update: the new pod first, then the old one stopped once it is ready.
        let new = start_replica(&pod, "driftless-new", &args, &container_env)?;
        wait_ready(&new).await?;
        let during = env.app(&slow).await?.unwrap_or_default();
        assert_eq!(
            during["status"]["operationState"]["phase"], "Running",
            "the old replica is stopped while the sync runs"
        );
        let (status, took) = old.serve.terminate(Duration::from_secs(25))?;
        println!("self-managed: the old replica exited {took:?} after SIGTERM ({status})");
        let log = old.serve.log();
        assert!(status.success(), "exit status {status}; log:\n{log}");
        assert!(log.contains("released the leader lease"), "log:\n{log}");
        wait_holder(&leases, "driftless-new").await?;

        env.wait_app(&slow, "finished by the new replica", |a| {
            finished_at(a, &round)
        })
        .await?;
        env.wait_app("driftless", "at the flag's commit", |a| {
            sync_of(a) == "Synced" && health_of(a) == "Healthy" && revision_of(a) == flagged
        })
        .await?;
        println!(
            "self-managed: rolled and converged {:?} after the commit",
            committed.elapsed()
        );
        deployed_once_per_sync(&env, &recorder, 2, 1).await?;
        let wrongly: Vec<(String, String)> = recorder
            .deleted()
            .into_iter()
            .filter(|(kind, _)| kind != "Job")
            .collect();
        assert!(wrongly.is_empty(), "deleted on the way: {wrongly:?}");
        let lease = leases.get(LEASE).await?;
        let holder = lease
            .spec
            .and_then(|s| s.holder_identity)
            .unwrap_or_default();
        assert!(
            holder.starts_with("driftless-new"),
            "the Lease is held by {holder}"
        );
        anyhow::Ok(())
    }
    .await;
    uninstall_chart(&env.ns).await;
    result
}
