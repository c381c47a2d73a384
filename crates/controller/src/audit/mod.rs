//! The audit trail of what the controller changes or refuses: the records (pure:
//! [`records`], [`edits`], [`trigger`]) and the writer that chains them into the store and
//! checkpoints the chain ([`sink`]). The chain itself, its stores and its verification are
//! `driftless_audit`'s.

pub mod edits;
pub mod records;
pub mod sink;
pub mod steps;
pub mod trigger;
pub mod watched;

pub use sink::{AuditConfig, AuditLog, AuditStartError};
