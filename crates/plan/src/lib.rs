//! Sync plan (pure): pair desired objects with live ones, choose what to do with each, and
//! order everything by phase → wave → kind → name, the way Argo CD syncs:
//!
//! - phases PreSync, Sync, PostSync (and SyncFail, only on failure); hooks from
//!   `argocd.argoproj.io/hook`, or Helm's `helm.sh/hook` when no Argo CD hook is given;
//! - waves from `argocd.argoproj.io/sync-wave`, else `helm.sh/hook-weight`, else 0;
//! - inside a wave, prunes first, then kinds in Helm's install order (Namespaces and CRDs
//!   before what needs them), then names;
//! - prunes in mirrored wave order (created first, deleted last), `PruneLast` after all
//!   waves, `Prune=false|confirm` and `Delete=false` honoured; hooks are never pruned.
//!
//! [`plan_sync`] makes a [`Plan`], a value that prints as a table (`driftless sync --dry-run`)
//! and serializes. [`next`] runs it as a state machine over a serializable [`SyncState`],
//! so a restarted controller resumes a sync where it stopped. [`plan_deletion`] plans the
//! deletion of an app with its objects (PreDelete hooks, deletes, PostDelete hooks).
//!
//! Never plan after a failed render: [`PlanInput::desired`] must be the complete output of
//! a successful render. An empty render that would prune is refused with
//! [`PlanError::EmptyRender`] unless `allow_empty` is set.

// Tests may unwrap: a panic there is a failed test, not a crash on user input.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod build;
mod deletion;
mod display;
mod error;
pub mod hooks;
mod kinds;
mod machine;
mod meta;
mod objects;
pub mod options;
mod order;
mod selector;
mod state;
mod step;

pub use build::{PlanInput, plan_sync};
pub use deletion::{DeletionInput, plan_deletion};
pub use error::PlanError;
pub use hooks::HookDeletePolicy;
pub use kinds::install_rank;
pub use machine::next;
pub use objects::{Paired, created_by_same_operation, pair_resources};
pub use options::{ApplyOptions, DeletePropagation};
pub use selector::{ResourceSelector, SelectorError};
pub use state::{Cursor, Next, Observed, Report, RunPhase, Stage, StepResult, SyncState};
pub use step::{Action, Ignored, Phase, Plan, PlanKind, SkipReason, Step, Wave, WaveId};
