//! The sync as an explicit state machine the caller drives:
//!
//! ```text
//! let mut state = SyncState::new();          // or the one saved in Application.status
//! let mut observed = Observed::default();
//! loop {
//!     let next = next(&plan, &mut state, &observed);
//!     save(&state);                          // before acting, so a restart resumes here
//!     match next { Next::Done(_) => break, other => observed = act_and_watch(other) }
//! }
//! ```
//!
//! Each wave runs as Argo CD runs it: prunes first, then applies, then hooks, then a wait
//! for hooks to complete and, when more waves follow, for the wave's objects to be healthy
//! and its pruned objects gone. After the last wave hooks are deleted by their policies.
//! On failure the SyncFail hooks run (once, together), then failed hooks are deleted by
//! their policies. Timeouts are the caller's: this module has no clock.

use crate::hooks::HookDeletePolicy;
use crate::state::{Cursor, Next, Observed, RunPhase, Stage, StepResult, SyncState};
use crate::step::{Action, Plan, PlanKind, Step, WaveId};
use driftless_model::ResourceKey;
use driftless_model::status::{HealthStatusCode, OperationPhase, ResultCode};

/// Takes in what the caller observed for the stage it was last asked to do, and returns
/// what to do now. Calling it again with nothing observed asks for the same thing again
/// (less whatever was already reported), which is how a restarted caller resumes.
pub fn next(plan: &Plan, state: &mut SyncState, observed: &Observed) -> Next {
    if state.phase != RunPhase::Running {
        return Next::Done(state.phase);
    }
    let start = match state.current {
        None => 0,
        Some(cursor) => {
            match absorb(plan, state, cursor, observed) {
                Absorbed::Again(next) => return next,
                Absorbed::Failed(message) => {
                    state.failure = Some(message);
                    state.current = None;
                    return proceed(plan, state, 0);
                }
                Absorbed::Finished => {}
            }
            if cursor.stage == Stage::Wait {
                mark_completed(state, cursor.wave);
            }
            match flow(plan, state.failure.is_some())
                .iter()
                .position(|c| *c == cursor)
            {
                Some(position) => position + 1,
                None => {
                    state.phase = RunPhase::Failed;
                    state.message =
                        "failed to resume: the saved sync state does not match the plan".into();
                    state.stale_resume = true;
                    state.current = None;
                    return Next::Done(RunPhase::Failed);
                }
            }
        }
    };
    proceed(plan, state, start)
}

enum Absorbed {
    /// Not done yet: ask again.
    Again(Next),
    Finished,
    Failed(String),
}

/// Every stage of the flow in order; a stage that has nothing to do is passed over.
fn flow(plan: &Plan, failed: bool) -> Vec<Cursor> {
    if failed {
        return [Stage::SyncFailHooks, Stage::SyncFailWait, Stage::Cleanup]
            .into_iter()
            .map(|stage| Cursor { stage, wave: None })
            .collect();
    }
    let mut cursors: Vec<Cursor> = plan
        .waves()
        .iter()
        .flat_map(|w| {
            [Stage::Prune, Stage::Apply, Stage::RunHooks, Stage::Wait]
                .into_iter()
                .map(move |stage| Cursor {
                    stage,
                    wave: Some(w.id),
                })
        })
        .collect();
    cursors.push(Cursor {
        stage: Stage::Cleanup,
        wave: None,
    });
    cursors
}

fn proceed(plan: &Plan, state: &mut SyncState, start: usize) -> Next {
    let cursors = flow(plan, state.failure.is_some());
    for cursor in cursors.iter().skip(start) {
        if cursor.stage == Stage::Prune
            && let Some(wave) = cursor.wave
        {
            record_noops(plan, state, wave);
        }
        if let Some(next) = enter(plan, state, *cursor) {
            state.current = Some(*cursor);
            return next;
        }
        if cursor.stage == Stage::Wait {
            mark_completed(state, cursor.wave);
        }
    }
    state.current = None;
    finish(plan, state)
}

fn finish(plan: &Plan, state: &mut SyncState) -> Next {
    match state.failure.clone() {
        Some(message) => {
            state.phase = RunPhase::Failed;
            state.message = message;
        }
        None => {
            state.phase = RunPhase::Succeeded;
            state.message = match plan.kind {
                PlanKind::Sync => "successfully synced (all tasks run)".into(),
                PlanKind::Deletion => "app objects deleted".into(),
            };
        }
    }
    Next::Done(state.phase)
}

fn mark_completed(state: &mut SyncState, wave: Option<WaveId>) {
    if let Some(wave) = wave
        && !state.completed.contains(&wave)
    {
        state.completed.push(wave);
    }
}

/// The steps a stage acts on, whether or not they were done already.
fn stage_steps(plan: &Plan, cursor: Cursor) -> Vec<&Step> {
    let in_wave = |s: &&Step| Some(s.wave_id()) == cursor.wave;
    match cursor.stage {
        Stage::Prune => plan
            .steps
            .iter()
            .filter(in_wave)
            .filter(|s| s.action.is_removal())
            .collect(),
        Stage::Apply => plan
            .steps
            .iter()
            .filter(in_wave)
            .filter(|s| s.action.is_apply())
            .collect(),
        Stage::RunHooks => plan
            .steps
            .iter()
            .filter(in_wave)
            .filter(|s| s.action.is_hook())
            .collect(),
        Stage::SyncFailHooks => plan.sync_fail_steps(),
        Stage::Wait | Stage::SyncFailWait | Stage::Cleanup => Vec::new(),
    }
}

/// What a wait stage waits for, less what has settled already.
struct WaitFor<'a> {
    healthy: Vec<&'a Step>,
    hooks: Vec<&'a Step>,
    deleted: Vec<&'a Step>,
}

impl WaitFor<'_> {
    fn is_empty(&self) -> bool {
        self.healthy.is_empty() && self.hooks.is_empty() && self.deleted.is_empty()
    }

    fn to_next(&self) -> Next {
        let keys = |steps: &[&Step]| steps.iter().map(|s| s.key.clone()).collect();
        Next::Wait {
            healthy: keys(&self.healthy),
            hooks: keys(&self.hooks),
            deleted: keys(&self.deleted),
        }
    }

    fn message(&self) -> String {
        let (what, steps, noun) = if !self.hooks.is_empty() {
            ("completion of hook", &self.hooks, "hooks")
        } else if !self.healthy.is_empty() {
            ("healthy state of", &self.healthy, "resources")
        } else {
            ("deletion of", &self.deleted, "resources")
        };
        let first = steps.first().map(|s| s.key.to_string()).unwrap_or_default();
        let total = self.healthy.len() + self.hooks.len() + self.deleted.len();
        let noun = if total > steps.len() { "objects" } else { noun };
        let more = total.saturating_sub(1);
        if more > 0 {
            format!("waiting for {what} {first} and {more} more {noun}")
        } else {
            format!("waiting for {what} {first}")
        }
    }
}

fn wait_for<'a>(plan: &'a Plan, state: &SyncState, cursor: Cursor) -> WaitFor<'a> {
    let unsettled = |s: &&Step| state.result(s).is_some_and(|r| r.ok() && !r.settled);
    if plan.dry_run {
        return WaitFor {
            healthy: vec![],
            hooks: vec![],
            deleted: vec![],
        };
    }
    if cursor.stage == Stage::SyncFailWait {
        let hooks = plan
            .sync_fail_steps()
            .into_iter()
            .filter(unsettled)
            .collect();
        return WaitFor {
            healthy: vec![],
            hooks,
            deleted: vec![],
        };
    }
    let Some(wave) = cursor.wave else {
        return WaitFor {
            healthy: vec![],
            hooks: vec![],
            deleted: vec![],
        };
    };
    let waves = plan.waves();
    let is_last = waves.last().map(|w| w.id) == Some(wave);
    let steps: Vec<&Step> = plan.steps.iter().filter(|s| s.wave_id() == wave).collect();
    let has_hooks = steps.iter().any(|s| s.action.is_hook());
    // As in Argo CD: the last wave's objects are not waited for (a sync of plain objects
    // succeeds once applied), unless its hooks are and the sync has several waves.
    let wait_objects = !is_last || (has_hooks && waves.len() > 1);
    let pick = |f: fn(&Action) -> bool| {
        steps
            .iter()
            .copied()
            .filter(|s| f(&s.action))
            .filter(unsettled)
            .collect()
    };
    WaitFor {
        // A namespace is usable once created: reading it back would only cost a request.
        healthy: if wait_objects {
            pick(|a| a.is_apply() && *a != Action::CreateNamespace)
        } else {
            vec![]
        },
        hooks: pick(Action::is_hook),
        deleted: if wait_objects {
            pick(Action::is_removal)
        } else {
            vec![]
        },
    }
}

/// Hooks this operation created that their policies want deleted now.
fn hooks_to_delete<'a>(plan: &'a Plan, state: &SyncState) -> Vec<&'a Step> {
    let policy = if state.failure.is_some() {
        HookDeletePolicy::HookFailed
    } else {
        HookDeletePolicy::HookSucceeded
    };
    let mut seen: Vec<&ResourceKey> = Vec::new();
    let mut steps = Vec::new();
    for step in &plan.steps {
        let Action::Hook {
            delete_policies, ..
        } = &step.action
        else {
            continue;
        };
        let created = state.result(step).is_some_and(|r| {
            r.status == ResultCode::Synced && r.hook_phase.is_some() && r.hook_deleted.is_none()
        });
        if created && delete_policies.contains(&policy) && !seen.contains(&&step.key) {
            seen.push(&step.key);
            steps.push(step);
        }
    }
    steps
}

fn enter(plan: &Plan, state: &mut SyncState, cursor: Cursor) -> Option<Next> {
    match cursor.stage {
        Stage::Prune | Stage::Apply | Stage::RunHooks | Stage::SyncFailHooks => {
            let steps: Vec<Step> = stage_steps(plan, cursor).into_iter().cloned().collect();
            if steps.is_empty() {
                return None;
            }
            state.message = format!("running {} {}", steps.len(), stage_noun(cursor.stage));
            Some(match cursor.stage {
                Stage::Prune => Next::Prune { steps },
                Stage::Apply => Next::Apply { steps },
                _ => Next::RunHooks { steps },
            })
        }
        Stage::Wait | Stage::SyncFailWait => {
            let wait = wait_for(plan, state, cursor);
            if wait.is_empty() {
                return None;
            }
            state.message = wait.message();
            Some(wait.to_next())
        }
        Stage::Cleanup => {
            let steps: Vec<Step> = hooks_to_delete(plan, state).into_iter().cloned().collect();
            if plan.dry_run || steps.is_empty() {
                return None;
            }
            state.message = format!("deleting {} finished hooks", steps.len());
            Some(Next::DeleteHooks { steps })
        }
    }
}

fn stage_noun(stage: Stage) -> &'static str {
    match stage {
        Stage::Prune => "removals",
        Stage::Apply => "applies",
        _ => "hooks",
    }
}

fn absorb(plan: &Plan, state: &mut SyncState, cursor: Cursor, observed: &Observed) -> Absorbed {
    match cursor.stage {
        Stage::Prune | Stage::Apply | Stage::RunHooks | Stage::SyncFailHooks => {
            absorb_actions(plan, state, cursor, observed)
        }
        Stage::Wait | Stage::SyncFailWait => absorb_wait(plan, state, cursor, observed),
        Stage::Cleanup => absorb_cleanup(plan, state, observed),
    }
}

fn absorb_actions(
    plan: &Plan,
    state: &mut SyncState,
    cursor: Cursor,
    observed: &Observed,
) -> Absorbed {
    let mut unreported = Vec::new();
    let mut failures = Vec::new();
    for step in stage_steps(plan, cursor) {
        if state.result(step).is_some() {
            continue;
        }
        let Some(report) = observed.report(step) else {
            unreported.push(step.clone());
            continue;
        };
        let result = action_result(step, report.ok, &report.message, plan.dry_run);
        if !report.ok {
            failures.push(format!("{}: {}", step.key, report.message));
        }
        state.step_results.insert(step.id(), result);
    }
    if cursor.stage == Stage::SyncFailHooks {
        // A failing SyncFail hook cannot fail the sync twice: it is noted and the flow goes on.
        if !failures.is_empty() {
            note_failure(state, "one or more SyncFail hooks failed", &failures);
        }
    } else if !failures.is_empty() {
        let what = if cursor.stage == Stage::Prune {
            "one or more objects failed to delete"
        } else {
            "one or more objects failed to apply"
        };
        return Absorbed::Failed(format!("{what}: {}", failures.join("; ")));
    }
    if unreported.is_empty() {
        return Absorbed::Finished;
    }
    Absorbed::Again(match cursor.stage {
        Stage::Prune => Next::Prune { steps: unreported },
        Stage::Apply => Next::Apply { steps: unreported },
        _ => Next::RunHooks { steps: unreported },
    })
}

fn action_result(step: &Step, ok: bool, message: &str, dry_run: bool) -> StepResult {
    let status = match (ok, step.action.is_removal()) {
        (false, _) => ResultCode::SyncFailed,
        (true, true) => ResultCode::Pruned,
        (true, false) => ResultCode::Synced,
    };
    let hook_phase = step.action.is_hook().then_some(match (ok, dry_run) {
        (false, _) => OperationPhase::Failed,
        (true, true) => OperationPhase::Succeeded,
        (true, false) => OperationPhase::Running,
    });
    StepResult {
        phase: step.phase,
        key: step.key.clone(),
        action: step.action.name().to_string(),
        status,
        hook_phase,
        message: message.to_string(),
        settled: dry_run,
        hook_deleted: None,
    }
}

fn absorb_wait(
    plan: &Plan,
    state: &mut SyncState,
    cursor: Cursor,
    observed: &Observed,
) -> Absorbed {
    let wait = wait_for(plan, state, cursor);
    let mut failures = Vec::new();
    for step in &wait.hooks {
        match observed.hook(&step.key) {
            Some(OperationPhase::Succeeded) => {
                settle(state, step, Some(OperationPhase::Succeeded), None)
            }
            Some(OperationPhase::Failed | OperationPhase::Error) => {
                settle(
                    state,
                    step,
                    Some(OperationPhase::Failed),
                    Some("hook failed"),
                );
                failures.push(format!("{}: hook failed", step.key));
            }
            _ => {}
        }
    }
    for step in &wait.healthy {
        match observed.health(&step.key) {
            Some(HealthStatusCode::Healthy) => settle(state, step, None, None),
            Some(HealthStatusCode::Degraded) => failures.push(format!("{}: Degraded", step.key)),
            _ => {}
        }
    }
    for step in &wait.deleted {
        if observed.deleted.contains(&step.key) {
            settle(state, step, None, None);
        }
    }
    if !failures.is_empty() {
        if cursor.stage == Stage::SyncFailWait {
            note_failure(state, "one or more SyncFail hooks failed", &failures);
            return Absorbed::Finished;
        }
        return Absorbed::Failed(format!(
            "one or more synchronization tasks completed unsuccessfully: {}",
            failures.join("; ")
        ));
    }
    let remaining = wait_for(plan, state, cursor);
    if remaining.is_empty() {
        return Absorbed::Finished;
    }
    state.message = remaining.message();
    Absorbed::Again(remaining.to_next())
}

fn settle(
    state: &mut SyncState,
    step: &Step,
    hook_phase: Option<OperationPhase>,
    message: Option<&str>,
) {
    if let Some(result) = state.step_results.get_mut(&step.id()) {
        result.settled = true;
        if hook_phase.is_some() {
            result.hook_phase = hook_phase;
        }
        if let Some(message) = message {
            result.message = message.to_string();
        }
    }
}

fn absorb_cleanup(plan: &Plan, state: &mut SyncState, observed: &Observed) -> Absorbed {
    let mut unreported = Vec::new();
    let mut failures = Vec::new();
    for step in hooks_to_delete(plan, state) {
        let Some(report) = observed.report(step) else {
            unreported.push(step.clone());
            continue;
        };
        if !report.ok {
            failures.push(format!("{}: {}", step.key, report.message));
        }
        // Every phase's result for this hook object: one delete removed it.
        for result in state
            .step_results
            .values_mut()
            .filter(|r| r.key == step.key && r.hook_phase.is_some())
        {
            result.hook_deleted = Some(report.ok);
        }
    }
    if !failures.is_empty() {
        // Left-over hooks do not change the sync's outcome; they are noted.
        let note = format!("failed to delete hooks: {}", failures.join("; "));
        match &mut state.failure {
            Some(failure) => failure.push_str(&format!("\n{note}")),
            None => state.message = note,
        }
    }
    if unreported.is_empty() {
        Absorbed::Finished
    } else {
        Absorbed::Again(Next::DeleteHooks { steps: unreported })
    }
}

fn note_failure(state: &mut SyncState, what: &str, failures: &[String]) {
    let note = format!("{what}: {}", failures.join("; "));
    match &mut state.failure {
        Some(failure) => failure.push_str(&format!("\n{note}")),
        None => state.failure = Some(note),
    }
}

/// Unchanged and kept objects need nothing from the caller; their results are written
/// when their wave starts so the sync result lists every object.
fn record_noops(plan: &Plan, state: &mut SyncState, wave: WaveId) {
    for step in plan
        .steps
        .iter()
        .filter(|s| s.wave_id() == wave && s.action.is_noop())
    {
        let (status, message) = match &step.action {
            Action::PruneSkipped { reason } | Action::DeleteSkipped { reason } => {
                (ResultCode::PruneSkipped, reason.message().to_string())
            }
            _ => (
                ResultCode::Synced,
                "skipped: in sync (ApplyOutOfSyncOnly)".to_string(),
            ),
        };
        state
            .step_results
            .entry(step.id())
            .or_insert_with(|| StepResult {
                phase: step.phase,
                key: step.key.clone(),
                action: step.action.name().to_string(),
                status,
                hook_phase: None,
                message,
                settled: true,
                hook_deleted: None,
            });
    }
}
