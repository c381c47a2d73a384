//! Sync options, written as `Key=value` strings in `syncPolicy.syncOptions`, in
//! `operation.sync.syncOptions`, and comma separated in an object's
//! `argocd.argoproj.io/sync-options` annotation. Each field is `None` when not given, so a
//! per-object value can be laid over the Application's with [`SyncOptions::overlay`].

/// What may happen to an object that is pruned (`Prune=`) or deleted with its app (`Delete=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemovalMode {
    /// `=true`: the default.
    Allowed,
    /// `=false`: never removed.
    Disabled,
    /// `=confirm`: removed only after someone confirms.
    RequiresConfirmation,
}

/// `PrunePropagationPolicy=`: how dependents of a pruned object are deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropagationPolicy {
    Foreground,
    Background,
    Orphan,
}

impl PropagationPolicy {
    /// The value of `DeleteOptions.propagationPolicy` in the Kubernetes API.
    pub fn api_value(self) -> &'static str {
        match self {
            Self::Foreground => "Foreground",
            Self::Background => "Background",
            Self::Orphan => "Orphan",
        }
    }
}

/// Parsed sync options; `None` means "not said here" (Argo CD's default applies, noted per field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// `CreateNamespace=` (default false): create the destination namespace.
    pub create_namespace: Option<bool>,
    /// `ServerSideApply=` (default false for the app; `false` on an object opts it out).
    pub server_side_apply: Option<bool>,
    /// `PruneLast=` (default false): prune after all waves, at the end of the sync.
    pub prune_last: Option<bool>,
    /// `Prune=` (default allowed).
    pub prune: Option<RemovalMode>,
    /// `Delete=` (default allowed): whether deleting the app deletes the object.
    pub delete: Option<RemovalMode>,
    /// `Replace=` (default false): replace instead of apply.
    pub replace: Option<bool>,
    /// `Force=` (default false): delete and recreate when apply or replace fails.
    pub force: Option<bool>,
    /// `ApplyOutOfSyncOnly=` (default false): only apply objects that differ.
    pub apply_out_of_sync_only: Option<bool>,
    /// `Validate=` (default true): schema validation on apply.
    pub validate: Option<bool>,
    /// `PrunePropagationPolicy=` (default foreground).
    pub prune_propagation_policy: Option<PropagationPolicy>,
    /// `RespectIgnoreDifferences=` (default false): keep ignored fields' live values on sync.
    pub respect_ignore_differences: Option<bool>,
    /// `FailOnSharedResource=` (default false): fail if another app already tracks an object.
    pub fail_on_shared_resource: Option<bool>,
    /// `SkipDryRunOnMissingResource=` (default false): skip dry run when the CRD is missing.
    pub skip_dry_run_on_missing_resource: Option<bool>,
    /// Options this version does not know or whose value it cannot read, as written.
    pub unrecognized: Vec<String>,
}

impl SyncOptions {
    /// Parses option strings; later ones win, unknown ones land in `unrecognized`.
    pub fn parse<'a>(options: impl IntoIterator<Item = &'a str>) -> Self {
        let mut parsed = Self::default();
        for option in options {
            let option = option.trim();
            if option.is_empty() {
                continue;
            }
            if !parsed.set(option) {
                parsed.unrecognized.push(option.to_string());
            }
        }
        parsed
    }

    /// Parses the comma separated value of the `argocd.argoproj.io/sync-options` annotation.
    pub fn from_annotation(value: &str) -> Self {
        Self::parse(value.split(','))
    }

    /// These options with every option given in `more_specific` (e.g. an object's annotation)
    /// taking precedence.
    pub fn overlay(&self, more_specific: &SyncOptions) -> SyncOptions {
        let mut unrecognized = self.unrecognized.clone();
        unrecognized.extend(more_specific.unrecognized.iter().cloned());
        SyncOptions {
            create_namespace: more_specific.create_namespace.or(self.create_namespace),
            server_side_apply: more_specific.server_side_apply.or(self.server_side_apply),
            prune_last: more_specific.prune_last.or(self.prune_last),
            prune: more_specific.prune.or(self.prune),
            delete: more_specific.delete.or(self.delete),
            replace: more_specific.replace.or(self.replace),
            force: more_specific.force.or(self.force),
            apply_out_of_sync_only: more_specific
                .apply_out_of_sync_only
                .or(self.apply_out_of_sync_only),
            validate: more_specific.validate.or(self.validate),
            prune_propagation_policy: more_specific
                .prune_propagation_policy
                .or(self.prune_propagation_policy),
            respect_ignore_differences: more_specific
                .respect_ignore_differences
                .or(self.respect_ignore_differences),
            fail_on_shared_resource: more_specific
                .fail_on_shared_resource
                .or(self.fail_on_shared_resource),
            skip_dry_run_on_missing_resource: more_specific
                .skip_dry_run_on_missing_resource
                .or(self.skip_dry_run_on_missing_resource),
            unrecognized,
        }
    }

    /// Records one `Key=value`; false when the key or value is not understood.
    fn set(&mut self, option: &str) -> bool {
        let Some((key, value)) = option.split_once('=') else {
            return false;
        };
        let flag = match key {
            "CreateNamespace" => &mut self.create_namespace,
            "ServerSideApply" => &mut self.server_side_apply,
            "PruneLast" => &mut self.prune_last,
            "Replace" => &mut self.replace,
            "Force" => &mut self.force,
            "ApplyOutOfSyncOnly" => &mut self.apply_out_of_sync_only,
            "Validate" => &mut self.validate,
            "RespectIgnoreDifferences" => &mut self.respect_ignore_differences,
            "FailOnSharedResource" => &mut self.fail_on_shared_resource,
            "SkipDryRunOnMissingResource" => &mut self.skip_dry_run_on_missing_resource,
            "Prune" => return set_some(&mut self.prune, removal_mode(value)),
            "Delete" => return set_some(&mut self.delete, removal_mode(value)),
            "PrunePropagationPolicy" => {
                return set_some(
                    &mut self.prune_propagation_policy,
                    propagation_policy(value),
                );
            }
            _ => return false,
        };
        set_some(flag, boolean(value))
    }
}

fn set_some<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    match value {
        Some(value) => {
            *slot = Some(value);
            true
        }
        None => false,
    }
}

fn boolean(value: &str) -> Option<bool> {
    match value {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn removal_mode(value: &str) -> Option<RemovalMode> {
    match value {
        "true" => Some(RemovalMode::Allowed),
        "false" => Some(RemovalMode::Disabled),
        "confirm" => Some(RemovalMode::RequiresConfirmation),
        _ => None,
    }
}

fn propagation_policy(value: &str) -> Option<PropagationPolicy> {
    match value {
        "foreground" => Some(PropagationPolicy::Foreground),
        "background" => Some(PropagationPolicy::Background),
        "orphan" => Some(PropagationPolicy::Orphan),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_argo_cd_option_is_read() {
        let parsed = SyncOptions::parse([
            "CreateNamespace=true",
            "ServerSideApply=true",
            "PruneLast=true",
            "Prune=false",
            "Replace=true",
            "ApplyOutOfSyncOnly=true",
            "Validate=false",
            "PrunePropagationPolicy=foreground",
            "RespectIgnoreDifferences=true",
            "FailOnSharedResource=true",
            "SkipDryRunOnMissingResource=true",
            "Force=true",
            "Delete=false",
            "Prune=confirm",
        ]);
        assert_eq!(
            parsed,
            SyncOptions {
                create_namespace: Some(true),
                server_side_apply: Some(true),
                prune_last: Some(true),
                // the later Prune=confirm wins over Prune=false
                prune: Some(RemovalMode::RequiresConfirmation),
                delete: Some(RemovalMode::Disabled),
                replace: Some(true),
                force: Some(true),
                apply_out_of_sync_only: Some(true),
                validate: Some(false),
                prune_propagation_policy: Some(PropagationPolicy::Foreground),
                respect_ignore_differences: Some(true),
                fail_on_shared_resource: Some(true),
                skip_dry_run_on_missing_resource: Some(true),
                unrecognized: vec![],
            }
        );
    }

    #[test]
    fn annotation_is_comma_separated_and_trimmed() {
        let parsed =
            SyncOptions::from_annotation("Prune=false, ServerSideApply=false,,Delete=confirm");
        assert_eq!(parsed.prune, Some(RemovalMode::Disabled));
        assert_eq!(parsed.server_side_apply, Some(false));
        assert_eq!(parsed.delete, Some(RemovalMode::RequiresConfirmation));
        assert!(parsed.unrecognized.is_empty());
    }

    #[test]
    fn unknown_or_malformed_options_are_kept_aside() {
        let parsed = SyncOptions::parse([
            "CreateNamespace",
            "Validate=maybe",
            "Future=true",
            "createnamespace=true",
        ]);
        assert_eq!(parsed.create_namespace, None);
        assert_eq!(parsed.validate, None);
        assert_eq!(
            parsed.unrecognized,
            [
                "CreateNamespace",
                "Validate=maybe",
                "Future=true",
                "createnamespace=true"
            ]
        );
    }

    #[test]
    fn object_annotation_overrides_app_options() {
        let app = SyncOptions::parse([
            "ServerSideApply=true",
            "CreateNamespace=true",
            "Prune=confirm",
        ]);
        let object = SyncOptions::from_annotation("ServerSideApply=false,Replace=true");
        let effective = app.overlay(&object);
        assert_eq!(effective.server_side_apply, Some(false));
        assert_eq!(effective.replace, Some(true));
        assert_eq!(effective.create_namespace, Some(true));
        assert_eq!(effective.prune, Some(RemovalMode::RequiresConfirmation));
        assert_eq!(
            effective
                .prune_propagation_policy
                .map(PropagationPolicy::api_value),
            None
        );
        let orphan = SyncOptions::parse(["PrunePropagationPolicy=orphan"]);
        assert_eq!(
            orphan
                .prune_propagation_policy
                .map(PropagationPolicy::api_value),
            Some("Orphan")
        );
    }
}
