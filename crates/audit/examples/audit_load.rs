//! Appends audit entries at a steady rate to a log another process also writes (the
//! controller), and prints what it managed: a load for `hack/bench-audit`.
//!   cargo run --release -p driftless-audit --example audit_load -- URL PER_MINUTE SECONDS [STOP_FILE]
//! It stops after SECONDS, or as soon as STOP_FILE exists.

use driftless_audit::{Kind, Record};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(per_minute), Some(seconds)) = (args.get(1), args.get(2), args.get(3))
    else {
        return Err("usage: audit_load URL PER_MINUTE SECONDS".into());
    };
    let per_minute: u64 = per_minute.parse()?;
    let seconds: u64 = seconds.parse()?;
    let stop = args.get(4).map(std::path::PathBuf::from);
    let mut store = driftless_audit::open(url)?;
    // Ten batches a second, as a busy controller's writer would append them.
    let tick = Duration::from_millis(100);
    let per_tick = (per_minute as f64 / 600.0).ceil() as usize;
    let start = Instant::now();
    let mut appended = 0u64;
    let mut latencies = Vec::new();
    let mut next = start;
    while start.elapsed() < Duration::from_secs(seconds)
        && !stop.as_ref().is_some_and(|f| f.exists())
    {
        let records: Vec<Record> = (0..per_tick)
            .map(|i| Record {
                time: driftless_audit::now(),
                kind: Some(Kind::ObjectApplied),
                app: Some(format!("bench/load-{}", i % 100)),
                project: Some("default".into()),
                user: Some("bench".into()),
                trigger: Some("commit".into()),
                object: Some(format!("/ConfigMap/bench/load-{i}")),
                before: Some(driftless_audit::content_hash(
                    &serde_json::json!({"v": appended}),
                )),
                after: Some(driftless_audit::content_hash(
                    &serde_json::json!({"v": appended + 1}),
                )),
                diff: Some("-  value: \"1\"\n+  value: \"2\"\n".into()),
                result: Some("Succeeded".into()),
                ..Record::default()
            })
            .collect();
        let began = Instant::now();
        store.append(&records)?;
        latencies.push(began.elapsed());
        appended += records.len() as u64;
        next += tick;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "audit load: {appended} entries in {elapsed:.1} s ({:.0}/min), batches of {per_tick}: append p50 {:?} p99 {:?} max {:?}",
        appended as f64 * 60.0 / elapsed,
        at(0.50),
        at(0.99),
        at(1.0)
    );
    let verify_start = Instant::now();
    let entries = store.all()?;
    let count = entries.len();
    let verified = driftless_audit::verify(
        entries,
        store.anchor()?.as_ref(),
        &store.checkpoints()?,
        None,
    );
    println!(
        "audit verify: {count} entries in {:?}: {}",
        verify_start.elapsed(),
        match verified {
            Ok(_) => "intact".to_string(),
            Err(broken) => broken.to_string(),
        }
    );
    Ok(())
}
