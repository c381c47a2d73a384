//! Desired against live for one Application (pure): pair objects by key, diff each pair, and
//! say per object whether it is in sync and how healthy it is; then the app's sync status,
//! health and the images it runs. Hooks take no part: they are run, not kept in sync.

use crate::app_health::{HealthEntry, app_health};
use driftless_diff::{Differ, IgnoreRule, SyncStatus, ignore_when_extraneous};
use driftless_health::{CustomChecks, health_of};
use driftless_model::annotations::SYNC_WAVE;
use driftless_model::status::{HealthStatus, ResourceStatus};
use driftless_model::{Application, HealthStatusCode, ResourceKey, SyncStatusCode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("failed to read the ignoreDifferences of app {app}: {message}")]
    Rules { app: String, message: String },
    #[error("failed to pair the desired and live objects of app {app}")]
    Pairing {
        app: String,
        #[source]
        source: driftless_plan::PlanError,
    },
    #[error("failed to compare {key} of app {app}: {message}")]
    Diff {
        app: String,
        key: String,
        message: String,
    },
}

/// What one comparison found.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub sync: SyncStatusCode,
    pub health: HealthStatusCode,
    /// One entry per desired or tracked object, sorted by key (`status.resources`).
    pub resources: Vec<ResourceStatus>,
    /// Keys whose live object differs from git (the plan updates these).
    pub out_of_sync: BTreeSet<ResourceKey>,
    /// For out-of-sync objects that exist: the JSON pointers that differ from git.
    pub changed_paths: BTreeMap<ResourceKey, Vec<String>>,
    /// Container images of the live objects, sorted, unique (`status.summary.images`).
    pub images: Vec<String>,
}

/// The differ of one app: its own ignoreDifferences, then the system-wide rules.
pub fn differ_for(
    app: &Application,
    judging: &Judging,
) -> Result<Differ, driftless_diff::DiffError> {
    let mut rules = ignore_rules(app);
    rules.extend(judging.ignore.iter().cloned());
    Differ::new(&rules, judging.salt.clone())
}

/// The Application's `spec.ignoreDifferences` as the differ takes them.
pub fn ignore_rules(app: &Application) -> Vec<IgnoreRule> {
    app.spec
        .ignore_differences
        .iter()
        .flatten()
        .map(|r| IgnoreRule {
            group: r.group.clone().unwrap_or_default(),
            kind: r.kind.clone(),
            name: r.name.clone().unwrap_or_default(),
            namespace: r.namespace.clone().unwrap_or_default(),
            json_pointers: r.json_pointers.clone().unwrap_or_default(),
            jq_path_expressions: r.jq_path_expressions.clone().unwrap_or_default(),
            managed_fields_managers: r.managed_fields_managers.clone().unwrap_or_default(),
        })
        .collect()
}

/// How objects are judged besides the app's own settings: health customizations and the
/// system-wide ignoreDifferences (both from `argocd-cm`), and the Secret mask salt.
#[derive(Debug, Clone, Default)]
pub struct Judging {
    pub checks: CustomChecks,
    pub ignore: Vec<IgnoreRule>,
    pub salt: Vec<u8>,
}

/// Desired and live objects of `app` paired as its sync plan pairs them.
pub fn pair<'a>(
    app: &Application,
    desired: &'a [Value],
    live: &'a [Value],
) -> Result<driftless_plan::Paired<'a>, driftless_plan::PlanError> {
    let namespace = app
        .spec
        .destination
        .namespace
        .as_deref()
        .unwrap_or_default();
    driftless_plan::pair_resources(desired, live, namespace)
}

/// Compares the rendered objects of `app` with the live objects it tracks.
pub fn compare(
    app: &Application,
    desired: &[Value],
    live: &[Value],
    judging: &Judging,
) -> Result<Comparison, CompareError> {
    let name = app.metadata.name.clone().unwrap_or_default();
    let checks = &judging.checks;
    let differ = differ_for(app, judging).map_err(|e| CompareError::Rules {
        app: name.clone(),
        message: e.to_string(),
    })?;
    let mut resources = Vec::new();
    let mut out_of_sync = BTreeSet::new();
    let mut changed_paths = BTreeMap::new();
    let mut counted_out_of_sync = false;
    let mut entries = Vec::new();
    let mut images = BTreeSet::new();
    let pairs = pair(app, desired, live).map_err(|source| CompareError::Pairing {
        app: name.clone(),
        source,
    })?;
    for (key, (want, have)) in pairs {
        let diff = differ.diff(want, have).map_err(|e| CompareError::Diff {
            app: name.clone(),
            key: key.to_string(),
            message: e.to_string(),
        })?;
        let in_sync = diff.status == SyncStatus::Synced;
        let ignored_extra =
            diff.status == SyncStatus::Extraneous && have.is_some_and(ignore_when_extraneous);
        if !in_sync {
            if have.is_some() && want.is_some() && !diff.changed_paths.is_empty() {
                changed_paths.insert(key.clone(), diff.changed_paths.clone());
            }
            out_of_sync.insert(key.clone());
            counted_out_of_sync |= !ignored_extra;
        }
        let health = match have {
            Some(obj) => {
                health_of(obj, checks).map(|h| model_health(h.status.as_str(), &h.message))
            }
            None => Some(model_health("Missing", "")),
        };
        // Whether the kind has a health check at all: a missing ConfigMap says nothing of health.
        let has_check = have
            .or(want)
            .is_some_and(|o| health_of(o, checks).is_some());
        let counts = have.is_none_or(driftless_health::counts_toward_app_health);
        if counts {
            entries.push(HealthEntry {
                key: key.clone(),
                health: health.as_ref().and_then(|h| h.status.clone()),
                has_check,
            });
        }
        if let Some(obj) = have {
            collect_images(obj, &mut images);
        }
        let shown = want.or(have);
        resources.push(ResourceStatus {
            group: Some(key.group.clone()).filter(|g| !g.is_empty()),
            version: shown.and_then(|o| o["apiVersion"].as_str()).map(version_of),
            kind: Some(key.kind.clone()),
            namespace: Some(key.namespace.clone()).filter(|n| !n.is_empty()),
            name: Some(key.name.clone()),
            status: Some(if in_sync {
                SyncStatusCode::Synced
            } else {
                SyncStatusCode::OutOfSync
            }),
            health,
            requires_pruning: (diff.status == SyncStatus::Extraneous).then_some(true),
            sync_wave: want.and_then(sync_wave),
            ..ResourceStatus::default()
        });
    }
    Ok(Comparison {
        sync: if counted_out_of_sync {
            SyncStatusCode::OutOfSync
        } else {
            SyncStatusCode::Synced
        },
        health: app_health(&entries),
        resources,
        out_of_sync,
        changed_paths,
        images: images.into_iter().collect(),
    })
}

/// Marks the objects `keys` names `Unknown` in `status.resources`, as Argo CD marks objects
/// its project does not permit.
pub fn mark_unknown<'a>(
    comparison: &mut Comparison,
    keys: impl IntoIterator<Item = &'a ResourceKey>,
) {
    let keys: BTreeSet<&ResourceKey> = keys.into_iter().collect();
    if keys.is_empty() {
        return;
    }
    for resource in &mut comparison.resources {
        let key = ResourceKey::new(
            resource.group.clone().unwrap_or_default(),
            resource.kind.clone().unwrap_or_default(),
            resource.namespace.clone().unwrap_or_default(),
            resource.name.clone().unwrap_or_default(),
        );
        if keys.contains(&key) {
            resource.status = Some(SyncStatusCode::Unknown);
        }
    }
}

fn model_health(code: &str, message: &str) -> HealthStatus {
    HealthStatus {
        status: Some(HealthStatusCode::from(code)),
        message: Some(message.to_string()).filter(|m| !m.is_empty()),
        ..HealthStatus::default()
    }
}

fn version_of(api_version: &str) -> String {
    api_version
        .rsplit('/')
        .next()
        .unwrap_or(api_version)
        .to_string()
}

fn sync_wave(obj: &Value) -> Option<i64> {
    obj["metadata"]["annotations"][SYNC_WAVE]
        .as_str()
        .and_then(|w| w.trim().parse().ok())
}

/// Images of every container and init container, wherever a pod spec sits in the object.
fn collect_images(value: &Value, images: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (field, child) in map {
                if matches!(field.as_str(), "containers" | "initContainers") {
                    for container in child.as_array().into_iter().flatten() {
                        if let Some(image) = container["image"].as_str() {
                            images.insert(image.to_string());
                        }
                    }
                } else if field != "status" && field != "metadata" {
                    collect_images(child, images);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_images(item, images)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn app() -> Application {
        serde_json::from_value(json!({
            "metadata": {"name": "shop"},
            "spec": {"project": "default", "destination": {"namespace": "shop"}, "source": {"repoURL": "r"}}
        }))
        .unwrap()
    }

    fn judging() -> Judging {
        Judging {
            salt: b"s".to_vec(),
            ..Judging::default()
        }
    }

    fn deployment(replicas: i64, ready: bool) -> Value {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "generation": 1},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}});
        if ready {
            d["status"] = json!({"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                "availableReplicas": replicas, "readyReplicas": replicas});
        }
        d
    }

    fn config_map(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "shop"}, "data": {"a": "1"}})
    }

    #[test]
    fn matching_objects_are_synced_and_healthy() {
        let desired = [deployment(2, false), config_map("cfg")];
        let live = [deployment(2, true), config_map("cfg")];
        let c = compare(&app(), &desired, &live, &judging()).unwrap();
        assert_eq!(c.sync, SyncStatusCode::Synced);
        assert_eq!(c.health, HealthStatusCode::Healthy);
        assert!(c.out_of_sync.is_empty());
        assert_eq!(c.images, vec!["nginx:1.27".to_string()]);
        let names: Vec<_> = c
            .resources
            .iter()
            .map(|r| (r.kind.clone().unwrap(), r.status.clone().unwrap()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("ConfigMap".to_string(), SyncStatusCode::Synced),
                ("Deployment".to_string(), SyncStatusCode::Synced)
            ]
        );
        assert_eq!(c.resources[1].group.as_deref(), Some("apps"));
        assert_eq!(c.resources[1].version.as_deref(), Some("v1"));
    }

    #[test]
    fn an_object_that_leaves_its_namespace_to_the_destination_compares_as_the_plan_applies_it() {
        let mut bare = config_map("cfg");
        bare["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("namespace");
        let c = compare(&app(), &[bare], &[config_map("cfg")], &judging()).unwrap();
        assert_eq!(c.sync, SyncStatusCode::Synced);
        assert_eq!(
            c.resources.len(),
            1,
            "one object, not a missing one and an extra one"
        );
        assert_eq!(c.resources[0].namespace.as_deref(), Some("shop"));
    }

    #[test]
    fn an_object_git_holds_twice_fails_the_comparison() {
        let c = compare(
            &app(),
            &[config_map("cfg"), config_map("cfg")],
            &[],
            &judging(),
        );
        assert!(matches!(c, Err(CompareError::Pairing { .. })), "{c:?}");
    }

    #[test]
    fn scaled_deployment_is_out_of_sync() {
        let c = compare(
            &app(),
            &[deployment(2, false)],
            &[deployment(5, true)],
            &judging(),
        )
        .unwrap();
        assert_eq!(c.sync, SyncStatusCode::OutOfSync);
        assert!(c.out_of_sync.iter().any(|k| k.name == "web"));
    }

    #[test]
    fn missing_objects_make_the_app_missing_but_missing_config_maps_do_not() {
        let c = compare(&app(), &[deployment(1, false)], &[], &judging()).unwrap();
        assert_eq!(c.sync, SyncStatusCode::OutOfSync);
        assert_eq!(c.health, HealthStatusCode::Missing);
        let only_cm = compare(&app(), &[config_map("c")], &[], &judging()).unwrap();
        assert_eq!(only_cm.health, HealthStatusCode::Healthy);
        assert_eq!(
            only_cm.resources[0]
                .health
                .as_ref()
                .and_then(|h| h.status.clone()),
            Some(HealthStatusCode::Missing)
        );
    }

    #[test]
    fn tracked_objects_gone_from_git_require_pruning() {
        let c = compare(&app(), &[], &[config_map("old")], &judging()).unwrap();
        assert_eq!(c.sync, SyncStatusCode::OutOfSync);
        assert_eq!(c.resources[0].requires_pruning, Some(true));
        let mut ignored = config_map("old");
        ignored["metadata"]["annotations"] =
            json!({"argocd.argoproj.io/compare-options": "IgnoreExtraneous"});
        let c = compare(&app(), &[], &[ignored], &judging()).unwrap();
        assert_eq!(c.sync, SyncStatusCode::Synced);
    }

    #[test]
    fn hooks_are_not_compared() {
        let hook = json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "shop", "annotations": {"argocd.argoproj.io/hook": "PreSync"}}});
        let c = compare(&app(), &[hook], &[], &judging()).unwrap();
        assert_eq!(c.sync, SyncStatusCode::Synced);
        assert!(c.resources.is_empty());
    }

    #[test]
    fn child_application_health_rolls_up_to_the_parent() {
        let child = |health: Option<&str>| {
            let mut a = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "metadata": {"name": "child", "namespace": "argocd"}, "spec": {"project": "default"}});
            if let Some(h) = health {
                a["status"] = json!({"health": {"status": h}});
            }
            a
        };
        let desired = [child(None)];
        let progressing =
            compare(&app(), &desired, &[child(Some("Progressing"))], &judging()).unwrap();
        assert_eq!(progressing.health, HealthStatusCode::Progressing);
        let degraded = compare(&app(), &desired, &[child(Some("Degraded"))], &judging()).unwrap();
        assert_eq!(degraded.health, HealthStatusCode::Degraded);
        let unreconciled = compare(&app(), &desired, &[child(None)], &judging()).unwrap();
        assert_eq!(unreconciled.health, HealthStatusCode::Progressing);
    }
}
