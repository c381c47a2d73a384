//! The audit log: an append-only, hash-chained record of every change driftless makes or
//! refuses.
//!
//! Each [`Entry`] carries the hash of the one before it ([`entry_hash`]); the head is now and
//! then signed with ed25519 ([`Signer::sign_head`]) and retention leaves a signed [`Anchor`] for
//! the first kept entry, so [`verify`] tells whether anyone with write access to the database
//! edited, deleted, inserted, reordered or truncated entries. The pure parts (entries,
//! checkpoints, verification) are values in, values out; [`Store`] is the I/O edge, SQLite or
//! PostgreSQL chosen by [`open`]'s URL.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod checkpoint;
pub mod entry;
pub mod filter;
pub mod store;
pub mod verify;

mod postgres_store;
mod sqlite_store;

pub use checkpoint::{Anchor, Checkpoint, Signer, SignerError};
pub use entry::{
    BadTime, Entry, GENESIS, Head, Kind, Record, UnknownKind, canonical_json, content_hash,
    entry_hash, format_time, normalize_time, now,
};
pub use filter::Filter;
pub use store::{AuditError, Store, default_database_url, open, open_existing};
pub use verify::{Broken, Verified, verify};
