//! An Application's health from its objects' (pure), with Argo CD's exceptions: an object
//! missing from the cluster counts only when its kind has a health check, and a child
//! Application that is Missing or Unknown does not drag its parent down (App of Apps).

use driftless_model::{HealthStatusCode, ResourceKey};

/// One object's say in its app's health.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthEntry {
    pub key: ResourceKey,
    /// None: the kind has no health (ConfigMap, Secret …).
    pub health: Option<HealthStatusCode>,
    /// Whether the kind has a built-in or custom health check.
    pub has_check: bool,
}

/// The worst health that counts; Healthy when nothing counts.
pub fn app_health(entries: &[HealthEntry]) -> HealthStatusCode {
    let counted = entries.iter().filter_map(|entry| {
        let code = entry.health.as_ref()?;
        if *code == HealthStatusCode::Missing && !entry.has_check {
            return None;
        }
        let child_app =
            entry.key.group == driftless_model::GROUP && entry.key.kind == "Application";
        if child_app && matches!(code, HealthStatusCode::Missing | HealthStatusCode::Unknown) {
            return None;
        }
        Some(code)
    });
    HealthStatusCode::worst(counted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use HealthStatusCode::*;

    fn entry(
        group: &str,
        kind: &str,
        health: Option<HealthStatusCode>,
        has_check: bool,
    ) -> HealthEntry {
        HealthEntry {
            key: ResourceKey::new(group, kind, "ns", "x"),
            health,
            has_check,
        }
    }

    #[test]
    fn worst_counted_health_wins() {
        let entries = [
            entry("apps", "Deployment", Some(Healthy), true),
            entry("apps", "StatefulSet", Some(Progressing), true),
            entry("", "ConfigMap", None, false),
        ];
        assert_eq!(app_health(&entries), Progressing);
        assert_eq!(app_health(&[]), Healthy);
    }

    #[test]
    fn missing_objects_without_health_checks_do_not_count() {
        assert_eq!(
            app_health(&[entry("", "ConfigMap", Some(Missing), false)]),
            Healthy
        );
        assert_eq!(
            app_health(&[entry("apps", "Deployment", Some(Missing), true)]),
            Missing
        );
    }

    #[test]
    fn missing_or_unknown_child_apps_do_not_count_but_degraded_ones_do() {
        let app = |h| entry("argoproj.io", "Application", Some(h), true);
        assert_eq!(
            app_health(&[app(Missing), app(Unknown), app(Healthy)]),
            Healthy
        );
        assert_eq!(app_health(&[app(Degraded), app(Healthy)]), Degraded);
        assert_eq!(app_health(&[app(Progressing), app(Suspended)]), Progressing);
    }
}
