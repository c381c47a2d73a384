//! Making a sync plan: pair desired with live objects, choose each one's action, phase and
//! wave, add the namespace step, and put everything in execution order.
//!
//! The plan takes rendered objects, which means rendering succeeded: a caller must never
//! plan after a failed render (an empty or partial object list from a broken source would
//! read as "delete everything"). The one case that cannot be told apart here, an empty
//! render, is refused unless the app allows it.

use crate::error::PlanError;
use crate::hooks::{self, Role};
use crate::meta;
use crate::objects::{self, LiveIndex};
use crate::options::{self, ApplyOptions};
use crate::order;
use crate::selector::ResourceSelector;
use crate::step::{Action, Ignored, Phase, Plan, PlanKind, SkipReason, Step};
use driftless_model::sync_options::RemovalMode;
use driftless_model::sync_policy::ManagedNamespaceMetadata;
use driftless_model::{ResourceKey, SyncOptions};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Everything a sync plan is made from; all values, nothing fetched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanInput {
    pub app_name: String,
    /// The rendered objects (hooks included), namespaces already filled in by render.
    pub desired: Vec<Value>,
    /// The live objects this app tracks.
    pub live: Vec<Value>,
    /// Keys the diff found different. A desired object with a live counterpart whose key is
    /// not here counts as in sync.
    pub out_of_sync: BTreeSet<ResourceKey>,
    /// App-level sync options (`syncPolicy.syncOptions` and the operation's), e.g. `PruneLast=true`.
    pub sync_options: Vec<String>,
    /// Prune objects that are live but no longer desired.
    pub prune: bool,
    /// Someone confirmed the removal of `Prune=confirm` objects.
    pub prune_confirmed: bool,
    /// `syncPolicy.automated.allowEmpty`: an empty render may prune everything.
    pub allow_empty: bool,
    pub dry_run: bool,
    /// Apply strategy (`kubectl apply` only): no hooks run.
    pub skip_hooks: bool,
    /// Partial sync of these objects only; empty means all. Hooks do not run in a partial sync.
    pub resources: Vec<ResourceSelector>,
    pub destination_namespace: String,
    /// The destination namespace is known to exist: `CreateNamespace=true` without
    /// `managedNamespaceMetadata` then has nothing to do.
    pub destination_namespace_exists: bool,
    /// Labels and annotations for the namespace `CreateNamespace=true` makes.
    pub managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
    /// The revision being synced; part of the names of `generateName` hooks.
    pub revision: String,
    /// When the operation started (Unix seconds); part of the names of `generateName` hooks.
    pub started_at: i64,
}

/// Makes the sync plan. See the module documentation for when not to call it.
pub fn plan_sync(input: &PlanInput) -> Result<Plan, PlanError> {
    let app = options::app_options(input.sync_options.iter().map(String::as_str));
    let mut builder = Builder::new(input, &app)?;
    builder.warn_unrecognized(&app.unrecognized, "the app");
    builder.add_desired()?;
    builder.add_prunes();
    builder.add_namespace();
    builder.finish()
}

struct Builder<'a> {
    input: &'a PlanInput,
    app: &'a SyncOptions,
    live: LiveIndex<'a>,
    /// Live keys a desired object claimed.
    paired: BTreeSet<ResourceKey>,
    steps: Vec<Step>,
    /// Removal steps whose object asks for `PruneLast`.
    prune_last: BTreeSet<ResourceKey>,
    ignored: Vec<Ignored>,
    warnings: Vec<String>,
}

impl<'a> Builder<'a> {
    fn new(input: &'a PlanInput, app: &'a SyncOptions) -> Result<Self, PlanError> {
        Ok(Self {
            input,
            app,
            live: LiveIndex::new(&input.live)?,
            paired: BTreeSet::new(),
            steps: Vec::new(),
            prune_last: BTreeSet::new(),
            ignored: Vec::new(),
            warnings: Vec::new(),
        })
    }

    fn warn_unrecognized(&mut self, unrecognized: &[String], whose: &str) {
        for option in unrecognized {
            self.warnings.push(format!(
                "sync option {option:?} of {whose} is not understood; ignored"
            ));
        }
    }

    fn selected(&self, key: &ResourceKey) -> bool {
        self.input.resources.is_empty() || self.input.resources.iter().any(|s| s.matches(key))
    }

    fn add_desired(&mut self) -> Result<(), PlanError> {
        let mut seen = BTreeSet::new();
        for (index, object) in self.input.desired.iter().enumerate() {
            let key = objects::desired_key(object, index)?;
            if !seen.insert(key.clone()) {
                return Err(PlanError::DuplicateObject {
                    side: "desired",
                    key: key.to_string(),
                });
            }
            let paired = self.live.pair(&key, &self.input.destination_namespace);
            if let Some((live_key, _)) = &paired {
                // Hooks too: a live copy of a desired hook is the hook, never a prune candidate.
                self.paired.insert(live_key.clone());
            }
            let own = options::object_options(self.app, object);
            let unrecognized = options::unrecognized_in_object(object);
            self.warn_unrecognized(&unrecognized, &key.to_string());
            match hooks::role(object) {
                Role::Skip => self.ignore(key, "hook: Skip"),
                Role::Hook {
                    phases,
                    unsupported,
                } => self.add_hook(object, key, &phases, &unsupported, &own),
                Role::Resource => self.add_resource(object, key, paired.map(|(k, _)| k), &own),
            }
        }
        Ok(())
    }

    fn add_resource(
        &mut self,
        object: &Value,
        key: ResourceKey,
        live_key: Option<ResourceKey>,
        own: &SyncOptions,
    ) {
        let key = live_key.clone().unwrap_or(key);
        if !self.selected(&key) {
            return;
        }
        let action = match live_key {
            None => Action::Create,
            Some(_) if self.input.out_of_sync.contains(&key) => Action::Update,
            Some(_) if options::apply_out_of_sync_only(own) => Action::Unchanged,
            Some(_) => Action::Reapply,
        };
        let wave = self.wave_of(object, &key);
        let step = Step {
            phase: Phase::Sync,
            wave,
            key,
            action,
            object: Some(object.clone()),
            options: ApplyOptions::from_options(own),
        };
        self.steps.push(step);
    }

    fn add_hook(
        &mut self,
        object: &Value,
        key: ResourceKey,
        phases: &[Phase],
        unsupported: &[String],
        own: &SyncOptions,
    ) {
        if !unsupported.is_empty() {
            self.warnings.push(format!(
                "{key}: hook type {} is not supported; ignored",
                unsupported.join(",")
            ));
        }
        let sync_phases: Vec<Phase> = phases
            .iter()
            .copied()
            .filter(|p| *p <= Phase::SyncFail)
            .collect();
        if sync_phases.is_empty() {
            let reason = if phases.is_empty() {
                "hook of no supported type: never run"
            } else {
                "deletion hook: runs only when the app is deleted"
            };
            return self.ignore(key, reason);
        }
        if self.input.skip_hooks || !self.input.resources.is_empty() {
            return self.ignore(
                key,
                "hooks do not run in a partial sync or with the apply strategy",
            );
        }
        let wave = self.wave_of(object, &key);
        for phase in sync_phases {
            if let Some(step) = hook_step(self.input, &self.live, object, phase, wave, own) {
                self.steps.push(step);
            }
        }
    }

    fn add_prunes(&mut self) {
        let candidates: Vec<(ResourceKey, &Value)> = self
            .live
            .iter()
            .filter(|(key, _)| {
                !self.paired.contains(*key) && self.selected(key) && !self.is_managed_namespace(key)
            })
            .map(|(key, live)| (key.clone(), live))
            .collect();
        let mut removals = Vec::new();
        for (key, live) in candidates {
            if matches!(hooks::role(live), Role::Hook { .. }) {
                continue; // hooks are never pruned
            }
            let own = options::object_options(self.app, live);
            let action = match self.keep_reason(&own) {
                Some(reason) => Action::PruneSkipped { reason },
                None => Action::Prune,
            };
            if options::prune_last(&own) {
                self.prune_last.insert(key.clone());
            }
            let wave = self.wave_of(live, &key);
            removals.push(Step {
                phase: Phase::Sync,
                wave,
                key,
                action,
                object: None,
                options: ApplyOptions::from_options(&own),
            });
        }
        order::mirror_removal_waves(&mut removals);
        self.steps.extend(removals);
    }

    /// Why a prune candidate is kept, checked in Argo CD's order; `Delete=false` is
    /// honoured here too, so such an object is never deleted by any path.
    fn keep_reason(&self, own: &SyncOptions) -> Option<SkipReason> {
        if !self.input.prune {
            return Some(SkipReason::PruneDisabled);
        }
        match options::prune_mode(own) {
            RemovalMode::Disabled => return Some(SkipReason::PruneFalse),
            RemovalMode::RequiresConfirmation if !self.input.prune_confirmed => {
                return Some(SkipReason::NeedsConfirmation);
            }
            _ => {}
        }
        (options::delete_mode(own) == RemovalMode::Disabled).then_some(SkipReason::DeleteFalse)
    }

    fn is_managed_namespace(&self, key: &ResourceKey) -> bool {
        options::create_namespace(self.app)
            && objects::is_namespace_named(key, &self.input.destination_namespace)
    }

    /// `CreateNamespace=true`: a PreSync step for the destination namespace, unless the
    /// source has that Namespace itself, or it exists and has no metadata to be given.
    fn add_namespace(&mut self) {
        let namespace = &self.input.destination_namespace;
        if !options::create_namespace(self.app) || namespace.is_empty() {
            return;
        }
        if self.input.destination_namespace_exists
            && self.input.managed_namespace_metadata.is_none()
        {
            return;
        }
        let in_source = self.input.desired.iter().enumerate().any(|(i, object)| {
            objects::desired_key(object, i)
                .is_ok_and(|key| objects::is_namespace_named(&key, namespace))
        });
        if in_source {
            return;
        }
        self.steps.push(Step {
            phase: Phase::PreSync,
            wave: 0,
            key: ResourceKey::new("", "Namespace", "", namespace.clone()),
            action: Action::CreateNamespace,
            object: Some(namespace_object(
                namespace,
                self.input.managed_namespace_metadata.as_ref(),
            )),
            options: ApplyOptions::from_options(self.app),
        });
    }

    fn finish(mut self) -> Result<Plan, PlanError> {
        // Hooks aside, nothing rendered: what Argo CD calls "auto-sync will wipe out all resources".
        let renders_objects = self
            .input
            .desired
            .iter()
            .any(|o| !matches!(hooks::role(o), Role::Hook { .. }));
        let prunes = self
            .steps
            .iter()
            .filter(|s| s.action == Action::Prune)
            .count();
        if !renders_objects && prunes > 0 && !self.input.allow_empty {
            return Err(PlanError::EmptyRender { prunes });
        }
        let after_last = order::wave_after_last(&self.steps, Phase::Sync);
        let prune_last_app = options::prune_last(self.app);
        for step in self
            .steps
            .iter_mut()
            .filter(|s| s.action.is_removal() || s.action.is_kept_removal())
        {
            if prune_last_app || self.prune_last.contains(&step.key) {
                step.wave = after_last;
            }
        }
        skip_dry_run_for_planned_crds(&mut self.steps);
        order::pull_dependencies_forward(&mut self.steps);
        order::sort(&mut self.steps);
        Ok(Plan {
            app_name: self.input.app_name.clone(),
            kind: PlanKind::Sync,
            dry_run: self.input.dry_run,
            steps: self.steps,
            ignored: self.ignored,
            warnings: self.warnings,
        })
    }

    fn ignore(&mut self, key: ResourceKey, reason: &str) {
        self.ignored.push(Ignored {
            key,
            reason: reason.to_string(),
        });
    }

    fn wave_of(&mut self, object: &Value, key: &ResourceKey) -> i32 {
        let (wave, warning) = meta::wave(object);
        if let Some(warning) = warning {
            self.warnings.push(format!("{key}: {warning}"));
        }
        wave
    }
}

/// The step for one hook in one phase; `None` only if the named hook has no readable key.
pub(crate) fn hook_step(
    input: &PlanInput,
    live: &LiveIndex<'_>,
    object: &Value,
    phase: Phase,
    wave: i32,
    own: &SyncOptions,
) -> Option<Step> {
    let hook = objects::hook_object(object, phase, &input.revision, input.started_at);
    let key = ResourceKey::of(&hook).ok()?;
    let existing = live.pair(&key, &input.destination_namespace);
    let key = existing.as_ref().map(|(k, _)| k.clone()).unwrap_or(key);
    Some(Step {
        phase,
        wave,
        key,
        action: Action::Hook {
            delete_policies: hooks::delete_policies(object),
            existing: existing.is_some(),
        },
        object: Some(hook),
        options: ApplyOptions::from_options(own),
    })
}

/// A custom resource whose CRD is in the same plan cannot be dry-run before the CRD is
/// created; Argo CD skips the dry run for it on its own.
fn skip_dry_run_for_planned_crds(steps: &mut [Step]) {
    let defined: BTreeSet<(String, String)> = steps
        .iter()
        .filter(|s| !s.action.is_removal())
        .filter_map(|s| s.object.as_ref().and_then(objects::crd_defines))
        .collect();
    for step in steps.iter_mut() {
        if defined.contains(&(step.key.group.clone(), step.key.kind.clone())) {
            step.options.skip_dry_run_on_missing_resource = true;
        }
    }
}

fn namespace_object(name: &str, metadata: Option<&ManagedNamespaceMetadata>) -> Value {
    let mut meta = Map::new();
    meta.insert("name".into(), Value::String(name.to_string()));
    let as_object = |map: &BTreeMap<String, String>| {
        Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    if let Some(labels) = metadata
        .and_then(|m| m.labels.as_ref())
        .filter(|m| !m.is_empty())
    {
        meta.insert("labels".into(), as_object(labels));
    }
    if let Some(annotations) = metadata
        .and_then(|m| m.annotations.as_ref())
        .filter(|m| !m.is_empty())
    {
        meta.insert("annotations".into(), as_object(annotations));
    }
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
}
