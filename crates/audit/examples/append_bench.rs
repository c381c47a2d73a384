//! Figures for the audit store: appends 10,000 entries in batches of 100 (what the controller
//! may write in a busy minute), checkpoints, verifies. Prints times; never fails on them.
//!   cargo run --release -p driftless-audit --example append_bench [URL]
//! URL defaults to a SQLite file in a temp dir; give `postgres://…` to measure PostgreSQL.

use std::time::Instant;

use driftless_audit::{Kind, Record, Signer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("audit.db").display()));
    let mut store = driftless_audit::open(&url)?;
    let signer = Signer::generate();
    let start = Instant::now();
    for batch in 0..100 {
        let records: Vec<Record> = (0..100)
            .map(|i| Record {
                time: driftless_audit::now(),
                kind: Some(Kind::ObjectApplied),
                app: Some(format!("shop/app-{}", i % 20)),
                user: Some("bench".into()),
                trigger: Some("commit".into()),
                object: Some(format!("apps/Deployment shop/web-{batch}-{i}")),
                result: Some("Succeeded".into()),
                diff: Some("-replicas: 1\n+replicas: 3\n".into()),
                ..Record::default()
            })
            .collect();
        store.append(&records)?;
    }
    let appended = start.elapsed();
    let head = store.head()?.ok_or("no head after appending")?;
    store.save_checkpoint(&signer.sign_head(&head, &driftless_audit::now()))?;
    let start = Instant::now();
    let entries = store.all()?;
    let read = start.elapsed();
    let start = Instant::now();
    let verified = driftless_audit::verify(
        entries,
        store.anchor()?.as_ref(),
        &store.checkpoints()?,
        Some(&signer.public_key()),
    )?;
    println!(
        "audit: 10000 entries appended in {appended:?} (100 batches), read in {read:?}, verified in {:?}; head {}",
        start.elapsed(),
        verified.head.map_or(0, |h| h.seq)
    );
    Ok(())
}
