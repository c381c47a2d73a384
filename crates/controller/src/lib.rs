//! The Application controller (`driftless serve`): watches the Applications of one namespace,
//! keeps each one's objects equal to its git source, and reports status on the Application,
//! as Argo CD's application controller does.
//!
//! Pure parts, values in and values out:
//! - [`compare`]: desired against live objects → per-object sync and health, app sync status;
//! - [`app_health`]: an app's health from its objects' (child Applications included);
//! - [`status`]: the next `status`, and the merge patch to write it (timestamps alone never
//!   make a write, so the controller does not loop on its own writes);
//! - [`decide`]: resume, start a requested sync, auto-sync, self-heal with backoff, or nothing;
//! - [`operation`]: `operationState` with the resumable sync state, and history;
//! - [`depends`]: `driftless.dev/depends-on` readiness; [`validate`]: spec and project checks;
//!   [`clusters`]: destination clusters from Argo CD cluster Secrets; [`orphans`]: objects
//!   in an app's namespace that no app tracks;
//!   [`shard`]: which replica owns an app; [`conditions`];
//! - [`sync_loop`]: the sync-loop breaker; [`guard`]: the AppProject's guard mode (warn/enforce).
//!
//! Edges: [`git`] (one ref check per repository per poll, one fetch per move, and at once on a
//! verified webhook, which the API server receives), [`live`] (one watch per kind in use, objects indexed by owning app),
//! [`destinations`] (a connection and live cache per destination cluster), [`inventory`]
//! (namespace listings for orphans), [`render`], [`writer`], and the loop
//! in [`controller`] with [`reconcile`], [`sync_run`], [`delete`] and [`leader`].

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod app_health;
pub mod app_key;
pub mod appsets;
pub mod audit;
pub mod charts;
pub mod clusters;
pub mod compare;
pub mod conditions;
pub mod config;
mod context;
pub mod controller;
pub mod decide;
pub mod delete;
pub mod depends;
pub mod destinations;
pub mod events;
pub mod git;
pub mod guard;
pub mod installation;
pub mod inventory;
pub mod leader;
pub mod live;
pub mod metrics;
pub mod operation;
pub mod orphans;
pub mod preview;
pub mod project_resources;
pub mod project_scope;
pub mod reconcile;
pub mod render;
pub mod shard;
pub mod status;
pub mod stores;
pub mod sync_loop;
pub mod sync_run;
pub mod sync_windows;
pub mod telemetry;
pub mod time;
pub mod validate;
pub mod volatile;
pub mod watch_backoff;
pub mod work_queue;
pub mod writer;

pub use config::{ControllerConfig, LeaderElection, RenderLimits};
pub use controller::{Controller, ControllerError, Handle};
pub use shard::Shard;
