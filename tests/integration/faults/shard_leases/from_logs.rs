//! What the replicas' logs say of their tenures of each shard and of their writes of objects
//! (which no Event records): each tenure runs from "claimed shard i" to the line written once
//! that shard's work has stopped ("releasing shard i", "lost shard i") or the replica's death,
//! and each write of an object ("sync step") names an app.

use driftless_decisions::shard::shard_of;
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

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
pub(super) fn tenures_and_writes(
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
                let shard = shard_of(ns, &app, super::SHARDS);
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

/// Checks that no two tenures of one shard in the logs overlap (a Lease taken before its
/// holder stopped, or a release written before the work stopped).
pub(super) fn check_no_overlap(tenures: &[(u32, String, Timestamp, Timestamp)]) {
    for (i, (shard, one, from, until)) in tenures.iter().enumerate() {
        for (other_shard, other, other_from, other_until) in &tenures[i + 1..] {
            let overlap = shard == other_shard && from < other_until && other_from < until;
            assert!(
                !overlap,
                "shard {shard} held by {one} ({from} to {until}) and by {other} ({other_from} to {other_until}) at once"
            );
        }
    }
}
