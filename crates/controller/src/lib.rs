//! The Application controller (`driftless serve`): watches the Applications of one namespace,
//! keeps each one's objects equal to its git source, and reports status on the Application,
//! as Argo CD's application controller does. What to do is decided by `driftless-decisions`
//! (pure); this crate holds the edges, in folders named for what they touch:
//!
//! - [`app_loop`]: the loop over Applications ([`app_loop::run`]), one reconcile
//!   ([`app_loop::reconcile`]) over the comparison it shares with sync and delete
//!   ([`app_loop::comparison`]), the sync run, deletion, rendering and the status writer;
//! - [`clusters`]: a connection and live cache per destination cluster, namespace inventories;
//! - [`git`]: one ref check per repository per poll (and at once on a verified webhook),
//!   chart versions of Helm repositories;
//! - [`runtime`]: configuration, the shared context, the work queue, watch backoff, the leader
//!   lease, the stores of AppProjects and Secrets, metrics, traces and the clock;
//! - [`appsets`]: the ApplicationSet controller; [`audit`]: the audit log's records and writer;
//!   [`preview`]: manifests, diffs and tree diffs at another revision, never synced.
//!
//! docs/commit-to-cluster.md tells what happens when a commit lands, file by file.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod app_loop;
pub mod appsets;
pub mod audit;
pub mod clusters;
pub mod git;
pub mod preview;
pub mod runtime;

pub use app_loop::run::{Controller, ControllerError, Handle};
pub use driftless_decisions::shard::Shard;
pub use runtime::config::{ControllerConfig, LeaderElection, RenderLimits, Replica, ShardLeases};
pub use runtime::shutdown::Shutdown;
