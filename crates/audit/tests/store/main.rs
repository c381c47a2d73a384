//! The store suite: the same tests on SQLite (a temp file, always) and PostgreSQL (a fresh
//! database on `DRIFTLESS_TEST_POSTGRES_URL`; with `CI` or `DRIFTLESS_REQUIRE_POSTGRES` set a
//! missing URL fails instead of skipping, so CI cannot pass without PostgreSQL).
//!
//! Tampering goes straight to the tables with SQL, as a database administrator would.

#![allow(clippy::unwrap_used)]

mod backend;
mod basics;
mod tamper;

use backend::Backend;
use driftless_audit::{Kind, Record, Signer, Store};

/// A `#[test]` per backend for each suite function `fn(&mut Backend)`.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(&mut $crate::backend::Backend::sqlite()); })*
        }
        mod postgres {
            $(#[test] fn $name() {
                if let Some(mut b) = $crate::backend::Backend::postgres() { super::$name(&mut b); }
            })*
        }
    };
}

/// The i-th of a run of varied records: apps, users, objects and kinds take turns; one
/// second apart from 18:00:00.
pub fn record(i: u64) -> Record {
    let apps = ["shop/web", "shop/db", "ops/monitoring"];
    let users = ["alice", "bob"];
    let kinds = [Kind::ObjectApplied, Kind::ObjectPruned, Kind::SyncCompleted];
    Record {
        time: format!("2026-12-04T18:{:02}:{:02}.000Z", i / 60, i % 60),
        kind: Some(kinds[(i % 3) as usize]),
        app: Some(apps[(i % 3) as usize].to_string()),
        project: Some("default".to_string()),
        user: Some(users[(i % 2) as usize].to_string()),
        trigger: Some("commit".to_string()),
        revision: Some(format!("{i:040x}")),
        object: Some(format!("apps/Deployment shop/web-{}", i % 4)),
        result: Some("Succeeded".to_string()),
        message: Some(format!("change {i}")),
        duration_ms: Some(i * 10),
        ..Record::default()
    }
}

/// Appends records 1..=n (one per call of [`record`]).
pub fn fill(store: &mut dyn Store, n: u64) {
    let records: Vec<Record> = (1..=n).map(record).collect();
    store.append(&records).unwrap();
}

pub fn signer() -> Signer {
    Signer::from_seed(&[42; 32])
}

/// Signs the store's head and saves the checkpoint; returns it.
pub fn checkpoint(store: &mut dyn Store) -> driftless_audit::Checkpoint {
    let head = store.head().unwrap().unwrap();
    let cp = signer().sign_head(&head, "2026-12-04T19:00:00.000Z");
    store.save_checkpoint(&cp).unwrap();
    cp
}

/// Verifies what the store holds against the trusted test key.
pub fn verify(store: &mut dyn Store) -> Result<driftless_audit::Verified, driftless_audit::Broken> {
    let entries = store.all().unwrap();
    let anchor = store.anchor().unwrap();
    let checkpoints = store.checkpoints().unwrap();
    driftless_audit::verify(
        entries,
        anchor.as_ref(),
        &checkpoints,
        Some(&signer().public_key()),
    )
}

pub fn seqs(entries: &[driftless_audit::Entry]) -> Vec<u64> {
    entries.iter().map(|e| e.seq).collect()
}

impl Backend {
    pub fn store(&self) -> Box<dyn Store> {
        driftless_audit::open(&self.url).unwrap()
    }
}
