//! The plan for deleting an app together with its objects (the resources finalizer):
//! PreDelete hooks, then every tracked object in reverse wave order, then PostDelete hooks.
//! `Delete=false` objects (and Helm `resource-policy: keep`) stay; `Delete=confirm` ones
//! stay until confirmed.

use crate::build::{PlanInput, hook_step};
use crate::error::PlanError;
use crate::hooks::{self, Role};
use crate::meta;
use crate::objects::{self, LiveIndex};
use crate::options::{self, ApplyOptions};
use crate::order;
use crate::step::{Action, Ignored, Phase, Plan, PlanKind, SkipReason, Step};
use driftless_model::ResourceKey;
use driftless_model::sync_options::RemovalMode;
use serde_json::Value;
use std::collections::BTreeSet;

/// What an app-deletion plan is made from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeletionInput {
    pub app_name: String,
    /// The rendered objects, read for PreDelete and PostDelete hooks only; may be empty
    /// when the source cannot be rendered (then no deletion hooks run).
    pub desired: Vec<Value>,
    /// The live objects this app tracks; all of them are deleted unless kept.
    pub live: Vec<Value>,
    pub sync_options: Vec<String>,
    /// Someone confirmed the deletion of `Delete=confirm` objects.
    pub delete_confirmed: bool,
    pub destination_namespace: String,
    pub dry_run: bool,
    pub revision: String,
    pub started_at: i64,
}

pub fn plan_deletion(input: &DeletionInput) -> Result<Plan, PlanError> {
    let app = options::app_options(input.sync_options.iter().map(String::as_str));
    let live = LiveIndex::new(&input.live)?;
    // Hook steps are made the way a sync makes them.
    let as_sync = PlanInput {
        destination_namespace: input.destination_namespace.clone(),
        revision: input.revision.clone(),
        started_at: input.started_at,
        ..PlanInput::default()
    };
    let mut steps = Vec::new();
    let mut warnings = Vec::new();
    let mut hook_keys = BTreeSet::new();
    for (index, object) in input.desired.iter().enumerate() {
        objects::desired_key(object, index)?;
        let Role::Hook { phases, .. } = hooks::role(object) else {
            continue;
        };
        let (wave, warning) = meta::wave(object);
        warnings.extend(warning);
        let own = options::object_options(&app, object);
        for phase in phases
            .into_iter()
            .filter(|p| matches!(p, Phase::PreDelete | Phase::PostDelete))
        {
            if let Some(step) = hook_step(&as_sync, &live, object, phase, wave, &own) {
                hook_keys.insert(step.key.clone());
                steps.push(step);
            }
        }
    }
    let mut removals = Vec::new();
    let mut ignored = Vec::new();
    for (key, object) in live.iter() {
        if hook_keys.contains(key) {
            continue; // the deletion hooks' own objects are handled by their delete policies
        }
        if options::create_namespace(&app)
            && objects::is_namespace_named(key, &input.destination_namespace)
        {
            ignored.push(Ignored {
                key: key.clone(),
                reason: "namespace made by CreateNamespace=true is kept".into(),
            });
            continue;
        }
        let own = options::object_options(&app, object);
        let action = match options::delete_mode(&own) {
            RemovalMode::Disabled => Action::DeleteSkipped {
                reason: SkipReason::DeleteFalse,
            },
            RemovalMode::RequiresConfirmation if !input.delete_confirmed => Action::DeleteSkipped {
                reason: SkipReason::NeedsConfirmation,
            },
            _ => Action::Delete,
        };
        let (wave, warning) = meta::wave(object);
        warnings.extend(warning.map(|w| format!("{key}: {w}")));
        removals.push(removal(key, wave, action, &own));
    }
    order::mirror_removal_waves(&mut removals);
    steps.extend(removals);
    order::sort(&mut steps);
    Ok(Plan {
        app_name: input.app_name.clone(),
        kind: PlanKind::Deletion,
        dry_run: input.dry_run,
        steps,
        ignored,
        warnings,
    })
}

fn removal(
    key: &ResourceKey,
    wave: i32,
    action: Action,
    own: &driftless_model::SyncOptions,
) -> Step {
    Step {
        phase: Phase::Delete,
        wave,
        key: key.clone(),
        action,
        object: None,
        options: ApplyOptions::from_options(own),
    }
}
