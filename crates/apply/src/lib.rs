//! The edge that changes the cluster: server-side apply with one field manager, prune with a
//! propagation policy, hook lifecycle, and waiting for each wave to be healthy. It drives the
//! pure sync state machine of `driftless-plan`; the state it advances can be saved after every
//! step, so a killed process resumes where it stopped.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod catalog;
pub mod cluster;
pub mod engine;
pub mod tracking;

pub use catalog::{ApiCatalog, CatalogError};
pub use cluster::{ClusterClient, ClusterError};
pub use engine::{SyncContext, SyncEvent, dry_run_plan, run_sync, shared_resources};
pub use tracking::TrackingMethod;
