//! The Application controller's decisions, values in and values out: no cluster, no async
//! runtime, no clock (time comes in as whole seconds). `driftless-controller` reads the
//! cluster and git, asks these functions what to do, and writes their answers.
//!
//! - [`compare`]: desired against live objects → per-object sync and health, app sync status;
//! - [`app_health`]: an app's health from its objects' (child Applications included);
//! - [`status`]: the next `status`, and the merge patch to write it (timestamps alone never
//!   make a write, so the controller does not loop on its own writes);
//! - [`conditions`]: the conditions an app carries, merged with the ones it had;
//! - [`decide`]: resume, start a requested sync, auto-sync, self-heal with backoff, or nothing;
//! - [`operation`]: `operationState` with the resumable sync state, and history;
//! - [`depends`]: `driftless.dev/depends-on` readiness;
//! - [`validate`], [`project_scope`], [`project_resources`]: spec and AppProject checks;
//! - [`sync_loop`]: the sync-loop breaker; [`guard`]: the AppProject's guard mode;
//! - [`orphans`]: objects in an app's namespace that no app tracks;
//! - [`cluster_lookup`]: destination clusters from Argo CD cluster Secrets;
//! - [`service_account`]: which ServiceAccount a sync impersonates;
//! - [`shard`]: which replica owns an app; [`sync_windows`]: whether a window allows a sync;
//! - [`volatile`]: values that differ between two renders of one revision;
//! - [`events`]: which Kubernetes Events a status change means; [`event_fields`]: what they say;
//! - [`installation`], [`app_key`], [`time`]: tracking ids, app keys, timestamps.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod app_health;
pub mod app_key;
pub mod cluster_lookup;
pub mod compare;
pub mod conditions;
pub mod decide;
pub mod depends;
pub mod event_fields;
pub mod events;
pub mod guard;
pub mod installation;
pub mod operation;
pub mod orphans;
pub mod owner_tree;
pub mod project_resources;
pub mod project_scope;
pub mod service_account;
pub mod shard;
pub mod shard_leases;
pub mod status;
pub mod sync_loop;
pub mod sync_windows;
pub mod time;
pub mod validate;
pub mod volatile;
