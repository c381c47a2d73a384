//! The values a running sync is made of: its persisted state, what the caller observed,
//! and what it should do next. All serde, so the state can live in `Application.status`
//! and a restarted controller picks up where the last one stopped.

use crate::step::{Phase, Step, WaveId};
use driftless_model::ResourceKey;
use driftless_model::status::{HealthStatusCode, OperationPhase, ResultCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether the sync is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunPhase {
    Running,
    Succeeded,
    Failed,
}

impl RunPhase {
    pub fn to_model(self) -> OperationPhase {
        match self {
            Self::Running => OperationPhase::Running,
            Self::Succeeded => OperationPhase::Succeeded,
            Self::Failed => OperationPhase::Failed,
        }
    }
}

/// A part of a wave (or of the failure and clean-up flow) the caller is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Stage {
    Prune,
    Apply,
    RunHooks,
    Wait,
    SyncFailHooks,
    SyncFailWait,
    Cleanup,
}

/// Where the sync is: the stage last asked of the caller and not yet reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cursor {
    pub stage: Stage,
    /// The wave, for the stages of the normal flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<WaveId>,
}

/// What happened to one step, in the terms of Argo CD's sync result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    pub phase: Phase,
    pub key: ResourceKey,
    /// The step's action name (`create`, `prune`, `hook` …).
    pub action: String,
    pub status: ResultCode,
    /// Hooks only: Running until complete, then Succeeded or Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_phase: Option<OperationPhase>,
    pub message: String,
    /// Nothing left to wait for: healthy, hook complete, or object gone.
    #[serde(default)]
    pub settled: bool,
    /// Hooks only: deleted by its delete policy after the sync (`Some(false)`: the delete failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_deleted: Option<bool>,
}

impl StepResult {
    pub fn ok(&self) -> bool {
        self.status != ResultCode::SyncFailed && self.hook_phase != Some(OperationPhase::Failed)
    }
}

/// The state of one sync operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    pub phase: RunPhase,
    pub message: String,
    /// Waves done, in order.
    pub completed: Vec<WaveId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Cursor>,
    /// By step id (`Phase:group/Kind/namespace/name`).
    pub step_results: BTreeMap<String, StepResult>,
    /// Why the normal flow failed; set while SyncFail hooks and clean-up run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Set when a saved state was handed back that the plan has no place for (objects pruned
    /// since, a changed plan): the caller starts the sync over. Never saved.
    #[serde(skip)]
    pub stale_resume: bool,
}

impl Default for SyncState {
    fn default() -> Self {
        Self::new()
    }
}

impl SyncState {
    pub fn new() -> Self {
        Self {
            phase: RunPhase::Running,
            message: String::new(),
            completed: Vec::new(),
            current: None,
            step_results: BTreeMap::new(),
            failure: None,
            stale_resume: false,
        }
    }

    pub fn result(&self, step: &Step) -> Option<&StepResult> {
        self.step_results.get(&step.id())
    }
}

/// The outcome of one action the caller was asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub phase: Phase,
    pub key: ResourceKey,
    pub ok: bool,
    pub message: String,
}

impl Report {
    pub fn ok(step: &Step, message: impl Into<String>) -> Self {
        Self {
            phase: step.phase,
            key: step.key.clone(),
            ok: true,
            message: message.into(),
        }
    }

    pub fn failed(step: &Step, message: impl Into<String>) -> Self {
        Self {
            phase: step.phase,
            key: step.key.clone(),
            ok: false,
            message: message.into(),
        }
    }
}

/// What the caller saw since the last [`Next`]: outcomes of the actions it was asked to do,
/// and the state of the objects it was asked to wait for. Anything not reported counts as
/// "not yet": the action is asked again, the wait goes on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    #[serde(default)]
    pub results: Vec<Report>,
    /// Health of waited-for objects (an object with no health check counts as Healthy).
    #[serde(default)]
    pub health: Vec<(ResourceKey, HealthStatusCode)>,
    /// State of waited-for hooks: Running, Succeeded, or Failed/Error.
    #[serde(default)]
    pub hooks: Vec<(ResourceKey, OperationPhase)>,
    /// Removed objects confirmed gone from the cluster.
    #[serde(default)]
    pub deleted: Vec<ResourceKey>,
}

impl Observed {
    pub(crate) fn report(&self, step: &Step) -> Option<&Report> {
        self.results
            .iter()
            .find(|r| r.phase == step.phase && r.key == step.key)
    }

    pub(crate) fn health(&self, key: &ResourceKey) -> Option<&HealthStatusCode> {
        self.health.iter().find(|(k, _)| k == key).map(|(_, h)| h)
    }

    pub(crate) fn hook(&self, key: &ResourceKey) -> Option<&OperationPhase> {
        self.hooks.iter().find(|(k, _)| k == key).map(|(_, h)| h)
    }
}

/// What the caller does next; afterwards it calls `next` again with what it observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Next {
    /// Delete these objects (prunes, or an app's objects on app deletion), with each
    /// step's propagation policy. Deleting an object that is already gone is success.
    Prune { steps: Vec<Step> },
    /// Apply these objects in this order (create namespace, create, update).
    Apply { steps: Vec<Step> },
    /// Create these hooks, first deleting a live copy when its policy says
    /// BeforeHookCreation. After a restart the same hooks can be asked again: a runner
    /// must not re-create a hook this operation already created (names are stable).
    RunHooks { steps: Vec<Step> },
    /// Report back when these are healthy, complete, or gone.
    Wait {
        healthy: Vec<ResourceKey>,
        hooks: Vec<ResourceKey>,
        deleted: Vec<ResourceKey>,
    },
    /// Delete these finished hooks, as their delete policies ask.
    DeleteHooks { steps: Vec<Step> },
    /// The sync is over.
    Done(RunPhase),
}
