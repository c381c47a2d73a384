//! The plan as a value: phases, waves, and one step per object and phase.

use crate::hooks::HookDeletePolicy;
use crate::options::ApplyOptions;
use driftless_model::ResourceKey;
use driftless_model::status::SyncPhase;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// When a step runs. Declared in execution order: a sync plan uses the first four, an
/// app-deletion plan the last three (which never mix with the sync phases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Phase {
    PreSync,
    Sync,
    PostSync,
    /// Runs only when the sync fails; never part of the normal flow.
    SyncFail,
    PreDelete,
    /// driftless' own name for "the app's objects are deleted" between PreDelete and
    /// PostDelete hooks; Argo CD has no hook phase for it.
    Delete,
    PostDelete,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreSync => "PreSync",
            Self::Sync => "Sync",
            Self::PostSync => "PostSync",
            Self::SyncFail => "SyncFail",
            Self::PreDelete => "PreDelete",
            Self::Delete => "Delete",
            Self::PostDelete => "PostDelete",
        }
    }

    /// The phase as written in `status.operationState.syncResult` (none for `Delete`).
    pub fn to_model(self) -> Option<SyncPhase> {
        match self {
            Self::PreSync => Some(SyncPhase::PreSync),
            Self::Sync => Some(SyncPhase::Sync),
            Self::PostSync => Some(SyncPhase::PostSync),
            Self::SyncFail => Some(SyncPhase::SyncFail),
            Self::PreDelete => Some(SyncPhase::PreDelete),
            Self::Delete => None,
            Self::PostDelete => Some(SyncPhase::PostDelete),
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One wave of one phase: the unit the sync runs, and waits on, before going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WaveId {
    pub phase: Phase,
    pub wave: i32,
}

impl fmt::Display for WaveId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} wave {}", self.phase, self.wave)
    }
}

/// Why an object that would be removed is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SkipReason {
    /// The sync was not asked to prune.
    PruneDisabled,
    /// `Prune=false` on the object or the app.
    PruneFalse,
    /// `Delete=false` (or Helm's `resource-policy: keep`): never deleted.
    DeleteFalse,
    /// `Prune=confirm` / `Delete=confirm` and nobody has confirmed yet.
    NeedsConfirmation,
}

impl SkipReason {
    /// The message Argo CD shows for the same case, where it has one.
    pub fn message(self) -> &'static str {
        match self {
            Self::PruneDisabled => "ignored (requires pruning)",
            Self::PruneFalse => "ignored (no prune)",
            Self::DeleteFalse => "ignored (Delete=false)",
            Self::NeedsConfirmation => "ignored (waiting for confirmation)",
        }
    }
}

/// What a step does to its object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Make sure the destination namespace exists, with the managed labels and annotations.
    CreateNamespace,
    /// No live object: create it.
    Create,
    /// The live object differs: apply the desired one.
    Update,
    /// The live object matches, applied anyway (Argo CD applies every object by default).
    Reapply,
    /// The live object matches and `ApplyOutOfSyncOnly=true`: nothing to do.
    Unchanged,
    /// A hook: created in its phase and waited for until it completes.
    Hook {
        delete_policies: Vec<HookDeletePolicy>,
        /// A live object of that name exists already (from an earlier sync).
        existing: bool,
    },
    /// Live only: delete it.
    Prune,
    /// Live only, but kept.
    PruneSkipped { reason: SkipReason },
    /// App deletion: delete the object.
    Delete,
    /// App deletion: the object is kept.
    DeleteSkipped { reason: SkipReason },
}

impl Action {
    /// Short name used in printed plans and test fixtures.
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateNamespace => "create-namespace",
            Self::Create => "create",
            Self::Update => "update",
            Self::Reapply => "apply",
            Self::Unchanged => "unchanged",
            Self::Hook { .. } => "hook",
            Self::Prune => "prune",
            Self::PruneSkipped { .. } => "prune-skipped",
            Self::Delete => "delete",
            Self::DeleteSkipped { .. } => "delete-skipped",
        }
    }

    /// Deletes its object (prune, or delete on app deletion).
    pub fn is_removal(&self) -> bool {
        matches!(self, Self::Prune | Self::Delete)
    }

    /// Would delete its object but is kept; removal steps and these are ordered alike.
    pub fn is_kept_removal(&self) -> bool {
        matches!(self, Self::PruneSkipped { .. } | Self::DeleteSkipped { .. })
    }

    /// Applies its object to the cluster (not a hook).
    pub fn is_apply(&self) -> bool {
        matches!(
            self,
            Self::CreateNamespace | Self::Create | Self::Update | Self::Reapply
        )
    }

    pub fn is_hook(&self) -> bool {
        matches!(self, Self::Hook { .. })
    }

    /// Needs nothing from the cluster.
    pub fn is_noop(&self) -> bool {
        matches!(self, Self::Unchanged) || self.is_kept_removal()
    }
}

/// One object in one phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub phase: Phase,
    pub wave: i32,
    pub key: ResourceKey,
    pub action: Action,
    /// The object to apply (desired, with a generated name for `generateName` hooks);
    /// `None` for removals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Value>,
    pub options: ApplyOptions,
}

impl Step {
    pub fn wave_id(&self) -> WaveId {
        WaveId {
            phase: self.phase,
            wave: self.wave,
        }
    }

    /// Unique within a plan: a hook may run in several phases, but once per phase.
    pub fn id(&self) -> String {
        step_id(self.phase, &self.key)
    }

    /// One line: `phase wave action key [options]`, the form test fixtures expect.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} {} {} {}",
            self.phase,
            self.wave,
            self.action.name(),
            self.key
        );
        let mut notes = self.option_notes();
        match &self.action {
            Action::Hook {
                delete_policies,
                existing,
            } => {
                notes.extend(delete_policies.iter().map(|p| p.as_str().to_string()));
                if *existing {
                    notes.push("existing".into());
                }
            }
            Action::PruneSkipped { reason } | Action::DeleteSkipped { reason } => {
                notes.push(format!("{reason:?}"));
            }
            _ => {}
        }
        if !notes.is_empty() {
            line.push_str(&format!(" [{}]", notes.join(",")));
        }
        line
    }
}

impl Step {
    /// The apply options that differ from the defaults and matter for this action
    /// (the propagation policy only for removals).
    pub fn option_notes(&self) -> Vec<String> {
        let mut notes = self.options.non_default();
        if !self.action.is_removal() && !self.action.is_kept_removal() {
            notes.retain(|n| !n.starts_with("Propagation="));
        }
        notes
    }
}

pub(crate) fn step_id(phase: Phase, key: &ResourceKey) -> String {
    format!("{phase}:{key}")
}

/// A sync plan, or an app-deletion plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanKind {
    Sync,
    Deletion,
}

/// A desired object that gets no step, and why; shown in printed plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ignored {
    pub key: ResourceKey,
    pub reason: String,
}

/// Every step of a sync in execution order, grouped by [`Plan::waves`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub app_name: String,
    pub kind: PlanKind,
    /// The caller applies and prunes with the API server's dry run; nothing is waited for.
    pub dry_run: bool,
    pub steps: Vec<Step>,
    #[serde(default)]
    pub ignored: Vec<Ignored>,
    /// Things the plan worked around (an unreadable sync-wave, an unknown option …).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The steps of one wave, in the order they run.
#[derive(Debug, Clone, PartialEq)]
pub struct Wave<'a> {
    pub id: WaveId,
    pub steps: Vec<&'a Step>,
}

impl Plan {
    /// The waves of the normal flow in execution order (SyncFail excluded).
    pub fn waves(&self) -> Vec<Wave<'_>> {
        group(self.steps.iter().filter(|s| s.phase != Phase::SyncFail))
    }

    /// Whether a dry run of every object before the sync can keep something from happening
    /// that a rejected object would leave half done: a hook run, a prune, or an earlier wave
    /// applied (the namespace `CreateNamespace=true` makes aside, which is harmless). A plan of
    /// plain objects in one wave needs none: its applies are the test, and the first one the
    /// API server rejects fails the sync as its dry run would have, with nothing deleted or run.
    pub fn dry_run_guards_anything(&self) -> bool {
        let mut apply_waves = std::collections::BTreeSet::new();
        for step in &self.steps {
            match &step.action {
                Action::Hook { .. } | Action::Prune | Action::Delete => return true,
                Action::Create | Action::Update | Action::Reapply => {
                    apply_waves.insert(step.wave_id());
                }
                _ => {}
            }
        }
        apply_waves.len() > 1
    }

    /// Whether the state between steps is worth saving: with hooks (a resumed sync must not run
    /// one twice) or several waves (resumed at the wave it stopped in, and followed wave by
    /// wave). A sync of one wave of plain objects resumed from the start applies the same
    /// objects again, which changes nothing. The wave of the namespace `CreateNamespace=true`
    /// makes does not count.
    pub fn progress_worth_saving(&self) -> bool {
        let waves = self.waves();
        let real = waves
            .iter()
            .filter(|w| w.steps.iter().any(|s| s.action != Action::CreateNamespace));
        real.count() > 1 || self.steps.iter().any(|s| s.action.is_hook())
    }

    /// The SyncFail hooks, run together only when the sync fails.
    pub fn sync_fail_steps(&self) -> Vec<&Step> {
        self.steps
            .iter()
            .filter(|s| s.phase == Phase::SyncFail)
            .collect()
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id() == id)
    }

    /// One [`Step::summary`] line per step, in order.
    pub fn summaries(&self) -> Vec<String> {
        self.steps.iter().map(Step::summary).collect()
    }
}

fn group<'a>(steps: impl Iterator<Item = &'a Step>) -> Vec<Wave<'a>> {
    let mut waves: Vec<Wave<'a>> = Vec::new();
    for step in steps {
        match waves.last_mut() {
            Some(last) if last.id == step.wave_id() => last.steps.push(step),
            _ => waves.push(Wave {
                id: step.wave_id(),
                steps: vec![step],
            }),
        }
    }
    waves
}
