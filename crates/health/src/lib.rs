//! Health of Kubernetes objects: built-in checks per kind, Lua overrides, aggregation (pure).
//!
//! `health_of` answers for one live object, the way Argo CD does:
//! 1. an object being deleted is Progressing ("Pending deletion"), unless only a hook
//!    finalizer holds it;
//! 2. a custom Lua check configured for its group and kind wins over the built-in one;
//! 3. else the built-in check for its kind (see `kinds`), or for a custom resource without
//!    one, health by convention from its status (see `kinds::convention`);
//! 4. else `None`: kinds such as ConfigMap or Secret, and custom resources whose status
//!    says nothing, have no health and do not count towards an app's health.
//!
//! `aggregate` rolls children up into an app's health: the worst child.
//! Nothing here reads a clock, a file or the cluster.

mod custom;
mod fields;
mod kinds;
mod lua;
mod lua_time;
mod status;

pub use custom::{CUSTOMIZATIONS_KEY, CustomChecks, CustomChecksError, HEALTH_KEY_PREFIX};
pub use lua::{LuaCheckError, LuaLimits};
pub use status::{HealthCode, HealthStatus, UnknownHealthCode, aggregate};

use driftless_model::GroupKind;
use serde_json::Value;

/// The finalizer Argo CD puts on hooks; a hook held only by it is still being run, not deleted.
pub const HOOK_FINALIZER: &str = "argocd.argoproj.io/hook-finalizer";

/// Annotation that takes an object out of its app's health (Argo CD's name and meaning).
// TODO(lead): move to driftless_model::annotations with the other annotation names.
pub const IGNORE_HEALTHCHECK: &str = "argocd.argoproj.io/ignore-healthcheck";

/// The health of one live object, or `None` when its kind has no health check.
pub fn health_of(obj: &Value, custom: &CustomChecks) -> Option<HealthStatus> {
    let kind = fields::str_at(obj, &["kind"]).filter(|k| !k.is_empty())?;
    let group = GroupKind::group_of_api_version(fields::text(obj, &["apiVersion"]));
    if is_being_deleted(obj) {
        return Some(HealthStatus::progressing("Pending deletion"));
    }
    if let Some(status) = custom.evaluate(obj, group, kind) {
        return Some(status);
    }
    kinds::health(group, kind, obj)
}

/// Whether the object's health should count towards its app's health: not when it carries
/// `argocd.argoproj.io/ignore-healthcheck: "true"`.
pub fn counts_toward_app_health(obj: &Value) -> bool {
    fields::str_at(obj, &["metadata", "annotations", IGNORE_HEALTHCHECK]) != Some("true")
}

fn is_being_deleted(obj: &Value) -> bool {
    let deleting =
        fields::at(obj, &["metadata", "deletionTimestamp"]).is_some_and(|t| !t.is_null());
    let held_by_hook = fields::list(obj, &["metadata", "finalizers"])
        .iter()
        .any(|f| f.as_str() == Some(HOOK_FINALIZER));
    deleting && !held_by_hook
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn custom_check_overrides_the_builtin_one() {
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "generation": 2}, "status": {"observedGeneration": 1}});
        assert_eq!(
            health_of(&deployment, &CustomChecks::new()).map(|h| h.status),
            Some(HealthCode::Progressing)
        );
        let custom = CustomChecks::new().with_script(
            "apps",
            "Deployment",
            r#"return {status = "Healthy", message = "trust me"}"#,
        );
        assert_eq!(
            health_of(&deployment, &custom),
            Some(HealthStatus::healthy("trust me"))
        );
    }

    #[test]
    fn deletion_comes_before_custom_checks() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "deletionTimestamp": "2025-01-01T00:00:00Z"}});
        let custom = CustomChecks::new().with_script("", "Pod", r#"return {status = "Healthy"}"#);
        assert_eq!(
            health_of(&pod, &custom),
            Some(HealthStatus::progressing("Pending deletion"))
        );
    }

    #[test]
    fn object_without_kind_has_no_health() {
        assert_eq!(
            health_of(&json!({"apiVersion": "v1"}), &CustomChecks::new()),
            None
        );
        assert_eq!(
            health_of(&json!("not an object"), &CustomChecks::new()),
            None
        );
        assert_eq!(health_of(&json!(null), &CustomChecks::new()), None);
    }

    #[test]
    fn ignore_healthcheck_annotation() {
        let ignored = json!({"metadata": {"annotations": {IGNORE_HEALTHCHECK: "true"}}});
        assert!(!counts_toward_app_health(&ignored));
        let counted = json!({"metadata": {"annotations": {IGNORE_HEALTHCHECK: "false"}}});
        assert!(counts_toward_app_health(&counted));
        assert!(counts_toward_app_health(&json!({"metadata": {}})));
    }
}
