//! The audit records of one sync's steps: what was live before each step, and the masked
//! diff to what was applied (Secrets masked by the app's differ, as in every diff shown).

use super::records::{AppRef, StepOutcome, of_step};
use super::sink::AuditLog;
use driftless_decisions::compare::Judging;
use driftless_diff::Differ;
use driftless_model::{Application, OperationState, ResourceKey};
use driftless_plan::{Action, Step};
use serde_json::Value;
use std::collections::HashMap;

pub struct StepAudit<'a> {
    log: AuditLog,
    key: String,
    project: String,
    user: String,
    trigger: String,
    revision: String,
    differ: Option<Differ>,
    live: HashMap<ResourceKey, &'a Value>,
}

impl<'a> StepAudit<'a> {
    /// None when the log is disabled (then nothing is prepared). `live`: the objects as
    /// compared before the sync.
    pub fn new(
        log: &AuditLog,
        app: &Application,
        judging: &Judging,
        op: &OperationState,
        live: &'a [Value],
    ) -> Option<Self> {
        if !log.is_enabled() {
            return None;
        }
        let live = live
            .iter()
            .filter_map(|o| ResourceKey::of(o).ok().map(|k| (k, o)))
            .collect();
        Some(Self {
            log: log.clone(),
            key: super::records::app_name(app),
            project: driftless_decisions::validate::project_name(app).to_string(),
            user: driftless_decisions::events::user_of(op)
                .unwrap_or_else(|| driftless_decisions::events::COMPONENT.to_string()),
            trigger: super::trigger::of_operation(&op.operation),
            revision: driftless_decisions::events::revision_of(op),
            // Without a differ (its rules do not compile) steps are recorded without diffs.
            differ: driftless_decisions::compare::differ_for(app, judging).ok(),
            live,
        })
    }

    /// Records what `step` did.
    pub fn step_done(&self, step: &Step, ok: bool, message: &str) {
        let before = self.live.get(&step.key).copied();
        let changes = matches!(step.action, Action::Create | Action::Update);
        let diff = match (&self.differ, &step.object) {
            (Some(differ), Some(desired)) if changes => {
                differ.diff(Some(desired), before).ok().and_then(|d| d.text)
            }
            _ => None,
        };
        let outcome = StepOutcome {
            step,
            ok,
            message,
            before,
            diff,
            revision: &self.revision,
            user: &self.user,
            trigger: &self.trigger,
        };
        let app = AppRef {
            key: &self.key,
            project: &self.project,
        };
        self.log
            .record(of_step(app, outcome, &driftless_audit::now()));
    }
}
