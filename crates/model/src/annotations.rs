//! Annotation and label names read or written by driftless. Argo CD's names are kept
//! so existing manifests work unchanged; driftless' own live under `driftless.dev/`.

/// Tracking annotation written on every applied object: `<app>:<group>/<Kind>:<ns>/<name>`.
pub const TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
/// Tracking label used by the `label` and `annotation+label` tracking methods.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// Sync wave of an object (an integer, default 0).
pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// Hook phase(s) of an object: PreSync, Sync, PostSync, SyncFail, Skip, PreDelete, PostDelete.
pub const HOOK: &str = "argocd.argoproj.io/hook";
/// When a hook is deleted: HookSucceeded, HookFailed, BeforeHookCreation.
pub const HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
/// Per-object sync options, comma separated (`Prune=false`, `Delete=false`, `Replace=true` …).
pub const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
/// Per-object compare options (`IgnoreExtraneous`, `ServerSideDiff=true` …).
pub const COMPARE_OPTIONS: &str = "argocd.argoproj.io/compare-options";
/// Refresh request on an Application: `normal` or `hard`.
pub const REFRESH: &str = "argocd.argoproj.io/refresh";
/// Helm's hook annotations, mapped to sync hooks the way Argo CD maps them.
pub const HELM_HOOK: &str = "helm.sh/hook";
pub const HELM_HOOK_WEIGHT: &str = "helm.sh/hook-weight";
pub const HELM_HOOK_DELETE_POLICY: &str = "helm.sh/hook-delete-policy";
/// Finalizer that makes deleting an Application delete its resources first.
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";
/// Applications this one waits for (comma separated names), until they are Synced and Healthy.
pub const DEPENDS_ON: &str = "driftless.dev/depends-on";
/// Guard rules waived on this object: `<rule>[,<rule>] # reason`.
pub const WAIVE: &str = "driftless.dev/waive";
/// Guard mode of an AppProject: `warn` (default) or `enforce`.
pub const GUARD_MODE: &str = "driftless.dev/guard";
/// Secret label marking repository credentials, and its values.
pub const SECRET_TYPE: &str = "argocd.argoproj.io/secret-type";
pub const SECRET_TYPE_REPOSITORY: &str = "repository";
pub const SECRET_TYPE_REPO_CREDS: &str = "repo-creds";
pub const SECRET_TYPE_CLUSTER: &str = "cluster";
/// The field manager driftless applies with.
pub const FIELD_MANAGER: &str = "driftless";
/// Written by the controller on an Application after each successful sync: the deletion hook
/// phases its deployed revision has (`PreDelete`, `PostDelete`, comma-separated) or `none`, so
/// that deleting the app needs no render when it has none (its repository may be gone).
pub const DELETION_HOOKS: &str = "driftless.dev/deletion-hooks";

/// On a hook, which sync operation created it (the operation's start, in seconds since the
/// epoch): a resumed sync finds the hook it already created by this and never runs it twice.
pub const HOOK_OPERATION: &str = "driftless.dev/hook-operation";
