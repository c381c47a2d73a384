//! Sync options as the plan uses them: the app's list laid under each object's
//! `argocd.argoproj.io/sync-options` annotation, and the apply-time flags a step carries.
//! Parsing itself is `driftless_model::SyncOptions`; everything the plan reads from it
//! goes through this module, so a change there touches only this file.

use crate::meta::annotation;
use driftless_model::SyncOptions;
use driftless_model::annotations::SYNC_OPTIONS;
use driftless_model::sync_options::{PropagationPolicy, RemovalMode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Helm's "do not delete this object" annotation, which Argo CD reads as `Delete=false`.
const HELM_RESOURCE_POLICY: &str = "helm.sh/resource-policy";

/// Parses the app-level list (`syncPolicy.syncOptions` plus the operation's own).
pub fn app_options<'a>(options: impl IntoIterator<Item = &'a str>) -> SyncOptions {
    SyncOptions::parse(options)
}

/// The options in force for one object: its annotation wins over the app's list.
pub fn object_options(app: &SyncOptions, object: &Value) -> SyncOptions {
    let own = annotation(object, SYNC_OPTIONS)
        .map(SyncOptions::from_annotation)
        .unwrap_or_default();
    let mut effective = app.overlay(&own);
    if own.delete.is_none() && annotation(object, HELM_RESOURCE_POLICY) == Some("keep") {
        effective.delete = Some(RemovalMode::Disabled);
    }
    effective
}

/// Options an object's own annotation gives that this version cannot read.
pub fn unrecognized_in_object(object: &Value) -> Vec<String> {
    annotation(object, SYNC_OPTIONS)
        .map(SyncOptions::from_annotation)
        .map(|o| o.unrecognized)
        .unwrap_or_default()
}

pub fn prune_mode(options: &SyncOptions) -> RemovalMode {
    options.prune.unwrap_or(RemovalMode::Allowed)
}

pub fn delete_mode(options: &SyncOptions) -> RemovalMode {
    options.delete.unwrap_or(RemovalMode::Allowed)
}

pub fn prune_last(options: &SyncOptions) -> bool {
    options.prune_last.unwrap_or(false)
}

pub fn apply_out_of_sync_only(options: &SyncOptions) -> bool {
    options.apply_out_of_sync_only.unwrap_or(false)
}

pub fn create_namespace(options: &SyncOptions) -> bool {
    options.create_namespace.unwrap_or(false)
}

/// `propagationPolicy` of the delete call that prunes an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum DeletePropagation {
    /// Argo CD's default for prunes.
    #[default]
    Foreground,
    Background,
    Orphan,
}

impl DeletePropagation {
    /// The value of `DeleteOptions.propagationPolicy` in the Kubernetes API.
    pub fn api_value(self) -> &'static str {
        match self {
            Self::Foreground => "Foreground",
            Self::Background => "Background",
            Self::Orphan => "Orphan",
        }
    }
}

/// How the caller applies (or deletes) one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyOptions {
    /// `ServerSideApply=true`.
    pub server_side_apply: bool,
    /// `Replace=true`: replace/create instead of apply; wins over server-side apply.
    pub replace: bool,
    /// `Force=true`: delete and re-create when apply or replace fails.
    pub force: bool,
    /// `Validate=false` turns schema validation off.
    pub validate: bool,
    /// `SkipDryRunOnMissingResource=true`, or a CRD for the object's kind is in this plan.
    pub skip_dry_run_on_missing_resource: bool,
    /// `PrunePropagationPolicy=`.
    pub propagation: DeletePropagation,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            server_side_apply: false,
            replace: false,
            force: false,
            validate: true,
            skip_dry_run_on_missing_resource: false,
            propagation: DeletePropagation::Foreground,
        }
    }
}

impl ApplyOptions {
    pub fn from_options(options: &SyncOptions) -> Self {
        Self {
            server_side_apply: options.server_side_apply.unwrap_or(false),
            replace: options.replace.unwrap_or(false),
            force: options.force.unwrap_or(false),
            validate: options.validate.unwrap_or(true),
            skip_dry_run_on_missing_resource: options
                .skip_dry_run_on_missing_resource
                .unwrap_or(false),
            propagation: match options.prune_propagation_policy {
                None | Some(PropagationPolicy::Foreground) => DeletePropagation::Foreground,
                Some(PropagationPolicy::Background) => DeletePropagation::Background,
                Some(PropagationPolicy::Orphan) => DeletePropagation::Orphan,
            },
        }
    }

    /// Short names of the options that differ from the defaults, for printed plans.
    pub fn non_default(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.server_side_apply {
            notes.push("ServerSideApply".to_string());
        }
        if self.replace {
            notes.push("Replace".to_string());
        }
        if self.force {
            notes.push("Force".to_string());
        }
        if !self.validate {
            notes.push("Validate=false".to_string());
        }
        if self.skip_dry_run_on_missing_resource {
            notes.push("SkipDryRun".to_string());
        }
        if self.propagation != DeletePropagation::Foreground {
            notes.push(format!("Propagation={}", self.propagation.api_value()));
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_annotations(annotations: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "c", "namespace": "n", "annotations": annotations}})
    }

    #[test]
    fn object_annotation_wins_over_app_options() {
        let app = app_options(["ServerSideApply=true", "Prune=confirm"]);
        let object = with_annotations(json!({SYNC_OPTIONS: "ServerSideApply=false, Prune=false"}));
        let effective = object_options(&app, &object);
        assert_eq!(effective.server_side_apply, Some(false));
        assert_eq!(prune_mode(&effective), RemovalMode::Disabled);
        let plain = object_options(&app, &with_annotations(json!({})));
        assert_eq!(prune_mode(&plain), RemovalMode::RequiresConfirmation);
        assert!(ApplyOptions::from_options(&plain).server_side_apply);
    }

    #[test]
    fn helm_keep_policy_means_never_delete_unless_the_object_says_otherwise() {
        let app = app_options([]);
        let keep = with_annotations(json!({HELM_RESOURCE_POLICY: "keep"}));
        assert_eq!(
            delete_mode(&object_options(&app, &keep)),
            RemovalMode::Disabled
        );
        let explicit =
            with_annotations(json!({HELM_RESOURCE_POLICY: "keep", SYNC_OPTIONS: "Delete=true"}));
        assert_eq!(
            delete_mode(&object_options(&app, &explicit)),
            RemovalMode::Allowed
        );
    }

    #[test]
    fn apply_options_default_and_flags() {
        assert_eq!(
            ApplyOptions::from_options(&app_options([])),
            ApplyOptions::default()
        );
        let flags = ApplyOptions::from_options(&app_options([
            "Replace=true",
            "Force=true",
            "Validate=false",
            "SkipDryRunOnMissingResource=true",
            "PrunePropagationPolicy=orphan",
        ]));
        assert_eq!(
            flags.non_default(),
            [
                "Replace",
                "Force",
                "Validate=false",
                "SkipDryRun",
                "Propagation=Orphan"
            ]
        );
    }

    #[test]
    fn unreadable_object_options_are_reported() {
        let object = with_annotations(json!({SYNC_OPTIONS: "Prune=maybe,Replace=true"}));
        assert_eq!(unrecognized_in_object(&object), ["Prune=maybe"]);
    }
}
