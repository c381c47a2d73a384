//! What to do with the Applications an ApplicationSet owns, given the ones it generated:
//! create, update, delete or keep, as `syncPolicy.applicationsSync` allows.
//!
//! | policy          | create | update | delete |
//! |-----------------|--------|--------|--------|
//! | `create-only`   | yes    | no     | no     |
//! | `create-update` | yes    | yes    | no     |
//! | `create-delete` | yes    | no     | yes    |
//! | `sync` (default)| yes    | yes    | yes    |
//!
//! There is no plan without a successful generation: [`crate::reconcile`] returns the error
//! instead, so a generator failure (a flaky fetch included) never reads as "nothing is
//! generated any more" and deletes everything.

use std::collections::{BTreeMap, BTreeSet};

use driftless_model::ApplicationSetSpec;
use driftless_model::annotations::{DELETION_HOOKS, REFRESH, RESOURCES_FINALIZER};
use driftless_model::appset::{ApplicationSetIgnoreDifferences, ApplicationsSyncPolicy};
use serde_json::{Map, Value};

/// Annotations kept on a generated Application whatever the template says: Argo CD's, and
/// the one driftless' Application controller records at each sync (without it every
/// reconcile of the ApplicationSet would see the app as changed and write it again).
pub const ALWAYS_PRESERVED_ANNOTATIONS: &[&str] = &[
    "notified.notifications.argoproj.io",
    REFRESH,
    "argocd.argoproj.io/hydrate",
    DELETION_HOOKS,
];
/// Finalizers (prefixes) kept from the live Application: deletion hooks in progress.
pub const PRESERVED_FINALIZER_PREFIXES: &[&str] = &[
    "pre-delete-finalizer.argocd.argoproj.io",
    "post-delete-finalizer.argocd.argoproj.io",
];

/// The policy cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("failed to read syncPolicy.applicationsSync: unknown policy {0:?}")]
    UnknownPolicy(String),
}

/// The parts of an ApplicationSet that decide the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub applications_sync: ApplicationsSyncPolicy,
    pub preserve_resources_on_deletion: bool,
    pub preserved_annotations: Vec<String>,
    pub preserved_labels: Vec<String>,
    pub ignore_differences: Vec<ApplicationSetIgnoreDifferences>,
}

impl Policy {
    pub fn of(spec: &ApplicationSetSpec) -> Result<Policy, PlanError> {
        let sync = spec.sync_policy.as_ref();
        let applications_sync = sync
            .and_then(|s| s.applications_sync.clone())
            .unwrap_or(ApplicationsSyncPolicy::Sync);
        if let ApplicationsSyncPolicy::Other(other) = &applications_sync {
            return Err(PlanError::UnknownPolicy(other.clone()));
        }
        let preserved = spec.preserved_fields.as_ref();
        Ok(Policy {
            applications_sync,
            preserve_resources_on_deletion: sync
                .and_then(|s| s.preserve_resources_on_deletion)
                .unwrap_or(false),
            preserved_annotations: preserved
                .and_then(|p| p.annotations.clone())
                .unwrap_or_default(),
            preserved_labels: preserved.and_then(|p| p.labels.clone()).unwrap_or_default(),
            ignore_differences: spec
                .ignore_application_differences
                .clone()
                .unwrap_or_default(),
        })
    }

    pub fn allows_update(&self) -> bool {
        matches!(
            self.applications_sync,
            ApplicationsSyncPolicy::CreateUpdate | ApplicationsSyncPolicy::Sync
        )
    }

    pub fn allows_delete(&self) -> bool {
        matches!(
            self.applications_sync,
            ApplicationsSyncPolicy::CreateDelete | ApplicationsSyncPolicy::Sync
        )
    }
}

/// An Application to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    pub name: String,
    pub namespace: Option<String>,
    /// `preserveResourcesOnDeletion`: the caller must first remove the resources finalizer
    /// (`resources-finalizer.argocd.argoproj.io` and its `/…` variants) from the
    /// Application, then delete it, so its resources stay in the cluster. When false, the
    /// Application is deleted as it is (its finalizer, if any, deletes the resources).
    pub orphan_resources: bool,
}

/// What to do, each list sorted by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// New Applications to create, as generated.
    pub create: Vec<Value>,
    /// Applications to write: the live object with the generated labels, annotations,
    /// finalizers and spec (preserved fields kept), ready for an update.
    pub update: Vec<Value>,
    pub delete: Vec<Deletion>,
    /// Names left as they are: unchanged, or the policy does not allow the change.
    pub keep: Vec<String>,
}

/// The plan for `generated` (from [`crate::generate`]) against the Applications the
/// ApplicationSet owns now.
pub fn reconcile_plan(policy: &Policy, generated: &[Value], existing_owned: &[Value]) -> Plan {
    let existing: BTreeMap<&str, &Value> = existing_owned
        .iter()
        .map(|app| (name_of(app), app))
        .collect();
    let wanted: BTreeSet<&str> = generated.iter().map(name_of).collect();
    let mut plan = Plan::default();
    let mut sorted: Vec<&Value> = generated.iter().collect();
    sorted.sort_by_key(|app| name_of(app));
    for desired in sorted {
        let name = name_of(desired);
        match existing.get(name) {
            None => plan.create.push(desired.clone()),
            Some(live) if policy.allows_update() => {
                let merged = desired_over_live(policy, desired, live);
                if changed(&merged, live) {
                    plan.update.push(merged);
                } else {
                    plan.keep.push(name.to_string());
                }
            }
            Some(_) => plan.keep.push(name.to_string()),
        }
    }
    for (name, live) in &existing {
        if wanted.contains(name) {
            continue;
        }
        if policy.allows_delete() {
            plan.delete.push(Deletion {
                name: name.to_string(),
                namespace: live["metadata"]["namespace"].as_str().map(str::to_string),
                orphan_resources: policy.preserve_resources_on_deletion,
            });
        } else {
            plan.keep.push(name.to_string());
        }
    }
    plan.keep.sort();
    plan
}

impl Plan {
    /// Neither creates nor updates the Applications `names` lists; they count as kept.
    pub fn withhold<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        let names: BTreeSet<&str> = names.into_iter().collect();
        if names.is_empty() {
            return;
        }
        for list in [&mut self.create, &mut self.update] {
            list.retain(|app| {
                let name = name_of(app);
                let held = names.contains(name);
                if held {
                    self.keep.push(name.to_string());
                }
                !held
            });
        }
        self.keep.sort();
        self.keep.dedup();
    }
}

fn name_of(app: &Value) -> &str {
    app["metadata"]["name"].as_str().unwrap_or("")
}

/// Whether writing `desired` over `live` would change its spec (ignored differences kept),
/// judged as an update is.
pub fn spec_differs(policy: &Policy, desired: &Value, live: &Value) -> bool {
    desired_over_live(policy, desired, live)["spec"] != live["spec"]
}

/// The live Application with the generated parts written over it.
fn desired_over_live(policy: &Policy, desired: &Value, live: &Value) -> Value {
    let mut desired = object_shaped(desired);
    let live = &object_shaped(live);
    preserve_keys(&mut desired, live, "annotations", |k| {
        ALWAYS_PRESERVED_ANNOTATIONS.contains(&k)
            || policy.preserved_annotations.iter().any(|p| p == k)
    });
    preserve_keys(&mut desired, live, "labels", |k| {
        policy.preserved_labels.iter().any(|p| p == k)
    });
    keep_deletion_finalizers(&mut desired, live);
    ignore_differences(policy, &mut desired, live);

    let mut out = live.clone();
    for key in ["labels", "annotations", "finalizers", "ownerReferences"] {
        match desired["metadata"].get(key) {
            Some(v) => out["metadata"][key] = v.clone(),
            None => {
                if let Some(m) = out["metadata"].as_object_mut() {
                    m.remove(key);
                }
            }
        }
    }
    out["spec"] = desired["spec"].clone();
    if let Some(operation) = desired.get("operation") {
        out["operation"] = operation.clone();
    }
    out
}

/// The object with an object `metadata`, so that writing into it cannot fail.
fn object_shaped(app: &Value) -> Value {
    let mut app = match app {
        Value::Object(_) => app.clone(),
        _ => Value::Object(Map::new()),
    };
    if let Some(map) = app.as_object_mut()
        && !map.get("metadata").is_some_and(Value::is_object)
    {
        map.insert("metadata".into(), Value::Object(Map::new()));
    }
    app
}

/// Copies `metadata.<field>[key]` from the live object for the preserved keys.
fn preserve_keys(desired: &mut Value, live: &Value, field: &str, keep: impl Fn(&str) -> bool) {
    let Some(live_map) = live["metadata"][field].as_object() else {
        return;
    };
    for (key, value) in live_map {
        if keep(key) {
            let target = &mut desired["metadata"][field];
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            target[key] = value.clone();
        }
    }
}

fn keep_deletion_finalizers(desired: &mut Value, live: &Value) {
    let Some(live_finalizers) = live["metadata"]["finalizers"].as_array() else {
        return;
    };
    for finalizer in live_finalizers {
        let Some(f) = finalizer.as_str() else {
            continue;
        };
        if PRESERVED_FINALIZER_PREFIXES
            .iter()
            .any(|p| f.starts_with(p))
        {
            let target = &mut desired["metadata"]["finalizers"];
            if !target.is_array() {
                *target = Value::Array(Vec::new());
            }
            if let Some(list) = target.as_array_mut()
                && !list.contains(finalizer)
            {
                list.push(finalizer.clone());
            }
        }
    }
}

/// `ignoreApplicationDifferences` (JSON pointers): those fields keep their live value.
fn ignore_differences(policy: &Policy, desired: &mut Value, live: &Value) {
    let name = name_of(live).to_string();
    for rule in &policy.ignore_differences {
        if rule
            .name
            .as_deref()
            .is_some_and(|n| !n.is_empty() && n != name)
        {
            continue;
        }
        for pointer in rule.json_pointers.iter().flatten() {
            match live.pointer(pointer) {
                Some(value) => set_pointer(desired, pointer, value.clone()),
                None => remove_pointer(desired, pointer),
            }
        }
    }
}

fn split_pointer(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn set_pointer(target: &mut Value, pointer: &str, value: Value) {
    let parts = split_pointer(pointer);
    let Some((last, parents)) = parts.split_last() else {
        *target = value;
        return;
    };
    let mut current = target;
    for part in parents {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        current = &mut current[part.as_str()];
    }
    if !current.is_object() {
        *current = Value::Object(Map::new());
    }
    current[last.as_str()] = value;
}

fn remove_pointer(target: &mut Value, pointer: &str) {
    let parts = split_pointer(pointer);
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    let mut current = target;
    for part in parents {
        match current.get_mut(part.as_str()) {
            Some(next) => current = next,
            None => return,
        }
    }
    if let Some(map) = current.as_object_mut() {
        map.remove(last.as_str());
    }
}

/// Whether writing `merged` would change the live Application's managed parts.
fn changed(merged: &Value, live: &Value) -> bool {
    let managed = |app: &Value| {
        (
            app["metadata"]["labels"].clone(),
            app["metadata"]["annotations"].clone(),
            app["metadata"]["finalizers"].clone(),
            app["metadata"]["ownerReferences"].clone(),
            app["spec"].clone(),
            app.get("operation").cloned(),
        )
    };
    managed(merged) != managed(live)
}

/// Whether a finalizer is the resources finalizer (or one of its `/background` … forms).
pub fn is_resources_finalizer(finalizer: &str) -> bool {
    finalizer == RESOURCES_FINALIZER || finalizer.starts_with(&format!("{RESOURCES_FINALIZER}/"))
}
