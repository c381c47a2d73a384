//! ApplicationSet core, pure: generators with Argo CD's parameter names, the default
//! (`{{param}}`) and Go (`goTemplate: true`) templates, and the plan of Applications to
//! create, update and delete, with the status to report.
//!
//! - [`generate`]: the Applications an ApplicationSet wants (any generator error, duplicate
//!   or empty name fails the whole set).
//! - [`reconcile_plan`]: create/update/delete/keep under `syncPolicy.applicationsSync` and
//!   `preserveResourcesOnDeletion`.
//! - [`reconcile`]: both in one step; an error means "change nothing" (there is no plan),
//!   so a flaky git fetch never reads as "the files are gone".
//! - [`status`]: conditions and `status.resources` in Argo CD's shape.
//! - [`rolling`]: progressive syncs (`strategy.type: RollingSync`) and `deletionOrder`.
//! - Inputs: [`GitFiles`] (with [`RepoCacheFiles`] on driftless' git cache, and
//!   [`MemoryGit`] for tests) and the cluster Secrets, through [`Inputs`].

// Tests may unwrap: a panic there is a failed test, not a crash on user input.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod applications;
pub mod fasttemplate;
pub mod generators;
pub mod git_input;
pub mod gotemplate;
pub mod merge_json;
pub mod names;
pub mod params;
pub mod plan;
pub mod render;
pub mod rolling;
pub mod source_adapter;
pub mod status;

pub use applications::{AppSetError, generate, mode_of};
pub use generators::{GeneratorError, Inputs};
pub use git_input::{GitError, GitFiles, MemoryGit};
pub use params::Params;
pub use plan::{Deletion, Plan, PlanError, Policy, reconcile_plan};
pub use render::Mode;
pub use source_adapter::RepoCacheFiles;

use driftless_model::ApplicationSet;
use serde_json::Value;

/// Generates the ApplicationSet's Applications and plans the changes against the ones it
/// owns now. On any error there is no plan: the caller must change no Application and
/// report the error with [`status::error_conditions`].
///
/// `refuse` says why a generated Application may not be written (its project does not exist,
/// its destination names no cluster), as Argo CD validates them: such an app is neither
/// created nor updated, an existing one is not deleted either, and it is listed in
/// [`Reconciled::refused`] for the ApplicationSet's condition.
pub fn reconcile(
    appset: &ApplicationSet,
    inputs: Inputs<'_>,
    existing_owned: &[Value],
    refuse: &dyn Fn(&Value) -> Option<String>,
) -> Result<Reconciled, AppSetError> {
    let policy = Policy::of(&appset.spec).map_err(|e| AppSetError::Spec(e.to_string()))?;
    let generated = generate(appset, inputs)?;
    let refused: Vec<Refused> = generated
        .iter()
        .filter_map(|app| {
            let message = refuse(app)?;
            let name = app["metadata"]["name"].as_str().unwrap_or_default();
            Some(Refused {
                name: name.to_string(),
                message,
            })
        })
        .collect();
    // Under a RollingSync the apps are written with automated sync off (the rollout syncs them).
    let planned = rolling::without_automated_sync(&appset.spec, &generated);
    let mut plan = reconcile_plan(&policy, &planned, existing_owned);
    plan.withhold(refused.iter().map(|r| r.name.as_str()));
    Ok(Reconciled {
        generated,
        plan,
        refused,
    })
}

/// A generated Application that may not be written, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub name: String,
    pub message: String,
}

/// A successful generation and its plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciled {
    /// Every generated Application, in generator order, as generated (a RollingSync's plan
    /// writes them with automated sync off; see [`rolling::without_automated_sync`]).
    pub generated: Vec<Value>,
    pub plan: Plan,
    /// Generated Applications left unwritten, in generator order.
    pub refused: Vec<Refused>,
}
