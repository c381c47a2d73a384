//! Scale-out with shard Leases: three `driftless serve --shard-leases 6` replicas share 60
//! apps; one is killed with SIGKILL and the other two take its shards once their Leases
//! expire; a fourth joins and gets a share, given back by the others; the last is stopped with
//! SIGTERM and hands its shards over at once. A commit after each change reaches every app.
//!
//! No two replicas write one app at once, checked from what the cluster records
//! ([`from_cluster`]): a watch of the shard Leases gives each replica's tenures of each shard
//! (from its `acquireTime` to the next holder's, or to the Lease's release), and the Events on
//! the apps say which replica wrote each (`reportingInstance`) and when (`eventTime`). The
//! check fails if a Lease changed hands before its tenure ended, if a replica wrote an Event
//! on an app outside its tenure of the app's shard (so an app never goes back to a replica
//! while another still writes it, and a move back needs the Lease to have gone back), or if
//! the killed replica wrote one after its death; it cannot pass for want of Events, as every
//! app must have one of each commit's sync from a holder of its shard then.
//!
//! The writes of objects, which no Event records (their managedFields name the field manager,
//! not the replica), are checked from the replicas' logs ([`from_logs`]): each write lies in a
//! tenure the replica's log gives, and no two such tenures of one shard overlap.

mod from_cluster;
mod from_logs;

use super::Serve;
use crate::gitops::*;
use driftless_decisions::shard::shard_of;
use driftless_testkit::wait_until;
use from_cluster::{LeaseHistory, Tenure, Written};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Event};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::ListParams;
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

/// Every app's ConfigMap holds `value`, and every app says Synced at `revision` (its status
/// written: the sync's Events go out with it).
async fn wait_every_app_at(env: &Gitops, value: &str, revision: &str) -> anyhow::Result<Duration> {
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
    wait_until(TIMEOUT, &format!("every app Synced at {value}"), || async {
        let apps = env.apps().list(&ListParams::default()).await?.items;
        let synced = apps
            .iter()
            .map(|a| serde_json::to_value(a).unwrap_or_default())
            .filter(|a| sync_of(a) == "Synced" && a["status"]["sync"]["revision"] == revision)
            .count();
        Ok((synced == APPS).then_some(()))
    })
    .await?;
    Ok(started.elapsed())
}

/// The reasons of the Events a completed sync writes (at least one of them).
const SYNC_DONE: &[&str] = &["OperationCompleted", "ResourceUpdated"];

/// One commit's sync of every app: from the commit (or the start) to every app Synced at it.
struct Phase {
    name: &'static str,
    from: Timestamp,
    until: Timestamp,
}

/// Checks that every app has an Event of each phase's sync, written by a holder of its
/// shard during that phase (so that the checks of [`from_cluster::check_writers`] are not
/// vacuous); returns how many apps each replica wrote in each phase.
fn check_every_sync_written(
    written: &[Written],
    tenures: &[Tenure],
    phases: &[Phase],
    apps: &[String],
    ns: &str,
) -> Vec<(&'static str, BTreeMap<String, usize>)> {
    let mut counts = Vec::new();
    for phase in phases {
        let mut per_writer: BTreeMap<String, usize> = BTreeMap::new();
        for app in apps {
            let shard = shard_of(ns, app, SHARDS);
            let holders: BTreeSet<&str> = tenures
                .iter()
                .filter(|t| t.shard == shard && t.from < phase.until && phase.from < t.until)
                .map(|t| t.holder.as_str())
                .collect();
            let writers: BTreeSet<&str> = written
                .iter()
                .filter(|w| &w.app == app && SYNC_DONE.contains(&w.reason.as_str()))
                .filter(|w| phase.from <= w.at && w.at <= phase.until)
                .map(|w| w.writer.as_str())
                .filter(|w| holders.contains(w))
                .collect();
            assert!(
                !writers.is_empty(),
                "{app} has no Event of its {} sync ({} to {}) from a holder of its shard {shard} then ({holders:?})",
                phase.name,
                phase.from,
                phase.until
            );
            for writer in writers {
                *per_writer.entry(writer.to_string()).or_default() += 1;
            }
        }
        counts.push((phase.name, per_writer));
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_apps_through_shard_leases_and_take_over_a_killed_one()
-> anyhow::Result<()> {
    let env = Gitops::new("shardlease").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let started = Timestamp::now();
    let v0 = write_all(&env, "v0");
    let mut apps = Vec::new();
    for index in 0..APPS {
        let name = env.name(&format!("a{index}"));
        let path = format!("apps/a{index}");
        env.apply_app(&application(&name, &ns, &url, &path, AUTOMATED, ""))
            .await?;
        apps.push(name);
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
    let leases: Api<Lease> = env.ns.api();
    let history = LeaseHistory::watch(leases.clone()).await?;
    for replica in &mut replicas[..3] {
        replica.start()?;
    }
    let spread = wait_spread(&leases, &hosts[..3], 2, TIMEOUT).await?;
    eprintln!("shard leases: 3 replicas hold 2 shards each {spread:?} after the start");
    let synced = wait_every_app_at(&env, "v0", &v0).await?;
    eprintln!("shard leases: {APPS} apps synced by 3 replicas (+{synced:?})");
    let mut phases = vec![Phase {
        name: "v0",
        from: started,
        until: Timestamp::now(),
    }];

    // SIGKILL: no release; the others take r2's shards once their Leases expire.
    let r2 = holders(&leases)
        .await?
        .into_values()
        .find(|h| h.starts_with("r2-"))
        .ok_or_else(|| anyhow::anyhow!("r2 holds no shard"))?;
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
    let from = Timestamp::now();
    let v1 = write_all(&env, "v1");
    let reached = wait_every_app_at(&env, "v1", &v1).await?;
    eprintln!("shard leases: a commit reached all {APPS} apps {reached:?} after it, on 2 replicas");
    phases.push(Phase {
        name: "v1",
        from,
        until: Timestamp::now(),
    });

    // A fourth replica joins: r1 and r3 give one shard each back, and r4 takes them.
    replicas[3].start()?;
    let joined = wait_spread(&leases, &[hosts[0], hosts[2], hosts[3]], 2, TIMEOUT).await?;
    eprintln!("shard leases: r4 took its share {joined:?} after its start");
    let from = Timestamp::now();
    let v2 = write_all(&env, "v2");
    let reached = wait_every_app_at(&env, "v2", &v2).await?;
    eprintln!("shard leases: a commit reached all {APPS} apps {reached:?} after it, on 3 replicas");
    phases.push(Phase {
        name: "v2",
        from,
        until: Timestamp::now(),
    });

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

    // From the cluster: the Leases' tenures and the apps' Events.
    let tenures = history.tenures();
    let events: Api<Event> = env.ns.api();
    let written = from_cluster::app_events(&events).await?;
    let late: Vec<&Written> = written
        .iter()
        .filter(|w| w.writer == r2 && w.at > died)
        .collect();
    assert!(
        late.is_empty(),
        "{r2} wrote Events after its SIGKILL at {died}: {late:#?}"
    );
    let turns = from_cluster::check_writers(&written, &tenures, &ns, SHARDS);
    let per_phase = check_every_sync_written(&written, &tenures, &phases, &apps, &ns);
    let writers: BTreeSet<&str> = written
        .iter()
        .map(|w| w.writer.split('-').next().unwrap_or_default())
        .collect();
    // r2 may have got its shards only after the first replica had synced every app at v0; the
    // replicas that held shards through a commit's sync (v1 and v2) must each have written.
    let needed: BTreeSet<&str> = [hosts[0], hosts[2], hosts[3]].into();
    assert!(
        writers.is_superset(&needed),
        "every replica that synced a commit wrote Events: {writers:?}"
    );
    let moved = turns.values().filter(|t| t.len() > 1).count();
    let back = turns
        .values()
        .filter(|t| t.iter().collect::<BTreeSet<_>>().len() < t.len())
        .count();
    eprintln!(
        "shard leases: {} Events on {} apps; {} tenures; {moved} apps changed writer, {back} went back to one after a reassignment; writers per sync {per_phase:?}",
        written.len(),
        turns.len(),
        tenures.len()
    );

    // From the logs: the writes of objects.
    let mut log_tenures = Vec::new();
    let mut wrote: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (index, host) in hosts.iter().enumerate() {
        let died = (index == 1).then_some(died);
        let log = replicas[index].log();
        wrote.insert(
            host,
            from_logs::tenures_and_writes(host, &log, died, &ns, &mut log_tenures),
        );
    }
    from_logs::check_no_overlap(&log_tenures);
    let counts: Vec<(&str, usize)> = wrote.iter().map(|(h, apps)| (*h, apps.len())).collect();
    eprintln!(
        "shard leases: apps whose objects each replica wrote {counts:?}; {} tenures in the logs",
        log_tenures.len()
    );
    let r4_shards: BTreeSet<u32> = log_tenures
        .iter()
        .filter(|(_, host, _, _)| host == "r4")
        .map(|(shard, ..)| *shard)
        .collect();
    assert!(!r4_shards.is_empty(), "r4 claimed no shard");
    assert!(
        wrote["r4"]
            .iter()
            .any(|app| r4_shards.contains(&shard_of(&ns, app, SHARDS))),
        "r4 synced none of the apps of its shards {r4_shards:?}"
    );
    Ok(())
}
