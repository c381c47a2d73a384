//! Scale-out with shard Leases: three `driftless serve --shard-leases 6` replicas share 60
//! apps; one is killed with SIGKILL and the other two take its shards once their Leases
//! expire; a fourth joins and gets a share, given back by the others; the last is stopped with
//! SIGTERM and hands its shards over at once. A commit after each change reaches every app.
//!
//! No two replicas write one app at once: from the replicas' logs, each replica's tenure of a
//! shard runs from "claimed shard i" to the line it writes once that shard's work has stopped
//! ("releasing shard i", "lost shard i", or its death), and each write of an object
//! ("sync step") names an app. The check fails if two tenures of one shard overlap (a Lease
//! taken before its holder stopped, or a release written before the work stopped) or if a
//! replica writes an app outside its tenure of the app's shard.

use super::Serve;
use crate::gitops::*;
use driftless_decisions::shard::shard_of;
use driftless_testkit::wait_until;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::ListParams;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const SHARDS: u32 = 6;
const APPS: usize = 60;
const LEASE_DURATION: Duration = Duration::from_secs(6);

fn config_map(index: usize, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{index}\ndata: {{value: \"{value}\"}}\n"
    )
}

fn write_all(env: &Gitops, value: &str) -> String {
    for index in 0..APPS {
        env.repo
            .write(&format!("apps/a{index}/cm.yaml"), config_map(index, value));
    }
    env.repo.commit(&format!("every app at {value}"))
}

fn replica(env: &Gitops, host: &str, cache: &std::path::Path) -> anyhow::Result<Serve> {
    let (shards, duration) = (SHARDS.to_string(), format!("{}s", LEASE_DURATION.as_secs()));
    let cache = cache.display().to_string();
    Serve::new(
        env,
        &[
            "--shard-leases",
            &shards,
            "--lease-duration",
            &duration,
            "--cache-dir",
            &cache,
            "--no-audit",
            "--log-format",
            "json",
        ],
        &[("HOSTNAME", host)],
    )
}

/// The holder of each shard Lease (by shard), as the API server has them now.
async fn holders(leases: &Api<Lease>) -> anyhow::Result<BTreeMap<u32, String>> {
    let listed = leases
        .list(&ListParams::default().labels("driftless.dev/lease=shard"))
        .await?;
    Ok(listed
        .items
        .into_iter()
        .filter_map(|lease| {
            let name = lease.metadata.name?;
            let shard = name.strip_prefix("driftless-shard-")?.parse().ok()?;
            let holder = lease.spec?.holder_identity.filter(|h| !h.is_empty())?;
            Some((shard, holder))
        })
        .collect())
}

/// Waits until every shard is held by one of `hosts`, each holding `at_least` shards.
async fn wait_spread(
    leases: &Api<Lease>,
    hosts: &[&str],
    at_least: usize,
    limit: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let what = format!("the {SHARDS} shards held by {hosts:?}, at least {at_least} each");
    wait_until(limit, &what, || async {
        let now = holders(leases).await?;
        let of = |host: &str| {
            now.values()
                .filter(|h| h.starts_with(&format!("{host}-")))
                .count()
        };
        let spread = now.len() == SHARDS as usize
            && hosts.iter().map(|h| of(h)).sum::<usize>() == SHARDS as usize
            && hosts.iter().all(|h| of(h) >= at_least);
        Ok(spread.then_some(()))
    })
    .await?;
    Ok(started.elapsed())
}

async fn wait_every_app_at(env: &Gitops, value: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let cms: Api<ConfigMap> = env.ns.api();
    wait_until(
        TIMEOUT,
        &format!("every app's ConfigMap at {value}"),
        || async {
            let at = cms
                .list(&ListParams::default())
                .await?
                .items
                .iter()
                .filter(|c| {
                    c.data
                        .as_ref()
                        .and_then(|d| d.get("value"))
                        .is_some_and(|v| v == value)
                })
                .count();
            Ok((at == APPS).then_some(()))
        },
    )
    .await?;
    wait_until(TIMEOUT, "every app Synced", || async {
        let apps = env.apps().list(&ListParams::default()).await?.items;
        let synced = apps
            .iter()
            .filter(|a| sync_of(&serde_json::to_value(a).unwrap_or_default()) == "Synced")
            .count();
        Ok((synced == APPS).then_some(()))
    })
    .await?;
    Ok(started.elapsed())
}

/// One line of a replica's JSON log that matters here.
enum Seen {
    Claimed(u32),
    /// The work on the shard has stopped (released, lost).
    Stopped(u32),
    Wrote(String),
}

fn read_log(log: &str) -> Vec<(Timestamp, Seen)> {
    log.lines()
        .filter_map(|line| {
            let line: Value = serde_json::from_str(line).ok()?;
            let at: Timestamp = line["timestamp"].as_str()?.parse().ok()?;
            let message = line["fields"]["message"].as_str()?;
            let shard = || line["fields"]["shard"].as_u64().map(|s| s as u32);
            let seen = if message.starts_with("claimed shard") {
                Seen::Claimed(shard()?)
            } else if message.starts_with("releasing shard") || message.starts_with("lost shard") {
                Seen::Stopped(shard()?)
            } else if line["fields"]["action"].is_string() && line["fields"]["step"].is_string() {
                // A "sync step" (its own `message` field is the step's outcome).
                Seen::Wrote(line["fields"]["app"].as_str()?.to_string())
            } else {
                return None;
            };
            Some((at, seen))
        })
        .collect()
}

/// Each replica's tenures of each shard, from its log: (shard, from, until), `until` being
/// `died` (or never) for a tenure its log never ends. Also checks that each write is inside a
/// tenure of the app's shard; returns the apps the replica wrote.
fn tenures_and_writes(
    replica: &str,
    log: &str,
    died: Option<Timestamp>,
    ns: &str,
    tenures: &mut Vec<(u32, String, Timestamp, Timestamp)>,
) -> BTreeSet<String> {
    let mut open: BTreeMap<u32, Timestamp> = BTreeMap::new();
    let mut wrote = BTreeSet::new();
    for (at, seen) in read_log(log) {
        match seen {
            Seen::Claimed(shard) => {
                open.entry(shard).or_insert(at);
            }
            Seen::Stopped(shard) => {
                if let Some(from) = open.remove(&shard) {
                    tenures.push((shard, replica.into(), from, at));
                }
            }
            Seen::Wrote(app) => {
                let shard = shard_of(ns, &app, SHARDS);
                assert!(
                    open.contains_key(&shard),
                    "{replica} wrote an object of {app} at {at} without holding its shard {shard}"
                );
                wrote.insert(app);
            }
        }
    }
    // A killed replica worked until its last sign of life (its last log line), not until
    // the kill: a replica starved of CPU stops renewing and writing at once.
    let last_line = log.lines().rev().find_map(|line| {
        let line: Value = serde_json::from_str(line).ok()?;
        line["timestamp"].as_str()?.parse::<Timestamp>().ok()
    });
    let end = died.map_or(Timestamp::MAX, |died| last_line.unwrap_or(died).min(died));
    for (shard, from) in open {
        tenures.push((shard, replica.into(), from, end));
    }
    wrote
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_apps_through_shard_leases_and_take_over_a_killed_one()
-> anyhow::Result<()> {
    let env = Gitops::new("shardlease").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    write_all(&env, "v0");
    for index in 0..APPS {
        let name = env.name(&format!("a{index}"));
        let path = format!("apps/a{index}");
        env.apply_app(&application(&name, &ns, &url, &path, AUTOMATED, ""))
            .await?;
    }
    let caches: Vec<tempfile::TempDir> = (0..4)
        .map(|_| tempfile::tempdir())
        .collect::<Result<_, _>>()?;
    let hosts = ["r1", "r2", "r3", "r4"];
    let mut replicas: Vec<Serve> = hosts
        .iter()
        .zip(&caches)
        .map(|(host, cache)| replica(&env, host, cache.path()))
        .collect::<anyhow::Result<_>>()?;
    for replica in &mut replicas[..3] {
        replica.start()?;
    }
    let leases: Api<Lease> = env.ns.api();
    let spread = wait_spread(&leases, &hosts[..3], 2, TIMEOUT).await?;
    eprintln!("shard leases: 3 replicas hold 2 shards each {spread:?} after the start");
    let synced = wait_every_app_at(&env, "v0").await?;
    eprintln!("shard leases: {APPS} apps synced by 3 replicas (+{synced:?})");

    // SIGKILL: no release; the others take r2's shards once its Leases expire.
    replicas[1].kill();
    let (killed, died) = (Instant::now(), Timestamp::now());
    let taken = wait_spread(&leases, &[hosts[0], hosts[2]], 3, LEASE_DURATION * 4).await?;
    eprintln!(
        "shard leases: r2's shards taken over {taken:?} after its SIGKILL (lease duration {LEASE_DURATION:?})"
    );
    assert!(
        killed.elapsed() < LEASE_DURATION * 3,
        "the takeover took {:?}",
        killed.elapsed()
    );
    write_all(&env, "v1");
    let reached = wait_every_app_at(&env, "v1").await?;
    eprintln!("shard leases: a commit reached all {APPS} apps {reached:?} after it, on 2 replicas");

    // A fourth replica joins: r1 and r3 give one shard each back, and r4 takes them.
    replicas[3].start()?;
    let joined = wait_spread(&leases, &[hosts[0], hosts[2], hosts[3]], 2, TIMEOUT).await?;
    eprintln!("shard leases: r4 took its share {joined:?} after its start");
    write_all(&env, "v2");
    let reached = wait_every_app_at(&env, "v2").await?;
    eprintln!("shard leases: a commit reached all {APPS} apps {reached:?} after it, on 3 replicas");

    // SIGTERM: r1 stops its syncs, gives its Leases back, and the others take them at once.
    let (status, took) = replicas[0].terminate(Duration::from_secs(25))?;
    assert!(
        status.success(),
        "r1 exit {status}; log:\n{}",
        replicas[0].log()
    );
    let taken = wait_spread(&leases, &[hosts[2], hosts[3]], 3, TIMEOUT).await?;
    eprintln!("shard leases: r1 stopped in {took:?}; its shards taken {taken:?} after its exit");
    assert!(
        taken < LEASE_DURATION,
        "released shards were taken after {taken:?}, as if they had expired"
    );
    let members = leases
        .list(&ListParams::default().labels("driftless.dev/lease=member"))
        .await?;
    assert!(
        members.items.iter().all(|m| !m
            .metadata
            .name
            .as_deref()
            .unwrap_or_default()
            .contains("r1-")),
        "r1's membership Lease is deleted on SIGTERM"
    );

    let mut tenures = Vec::new();
    let mut wrote: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (index, host) in hosts.iter().enumerate() {
        let died = (index == 1).then_some(died);
        let log = replicas[index].log();
        wrote.insert(
            host,
            tenures_and_writes(host, &log, died, &ns, &mut tenures),
        );
    }
    for (i, (shard, one, from, until)) in tenures.iter().enumerate() {
        for (other_shard, other, other_from, other_until) in &tenures[i + 1..] {
            let overlap = shard == other_shard && from < other_until && other_from < until;
            assert!(
                !overlap,
                "shard {shard} held by {one} ({from} to {until}) and by {other} ({other_from} to {other_until}) at once"
            );
        }
    }
    let counts: Vec<(&str, usize)> = wrote.iter().map(|(h, apps)| (*h, apps.len())).collect();
    eprintln!(
        "shard leases: apps written per replica {counts:?}; {} tenures",
        tenures.len()
    );
    let r4_shards: BTreeSet<u32> = tenures
        .iter()
        .filter(|(_, host, _, _)| host == "r4")
        .map(|(shard, ..)| *shard)
        .collect();
    assert!(!r4_shards.is_empty(), "r4 claimed no shard");
    let r4_wrote = &wrote["r4"];
    assert!(
        r4_wrote
            .iter()
            .any(|app| r4_shards.contains(&shard_of(&ns, app, SHARDS))),
        "r4 synced none of the apps of its shards {r4_shards:?}"
    );
    Ok(())
}
