//! Reading desired and live objects: identity, pairing, and the concrete object a hook
//! is created from.

use crate::error::PlanError;
use crate::hooks::{Role, role};
use crate::step::Phase;
use driftless_model::ResourceKey;
use driftless_model::annotations::HOOK_OPERATION;
use serde_json::Value;
use std::collections::BTreeMap;

/// Live objects by key, with their position in the input.
pub struct LiveIndex<'a> {
    by_key: BTreeMap<ResourceKey, (usize, &'a Value)>,
}

impl<'a> LiveIndex<'a> {
    pub fn new(live: &'a [Value]) -> Result<Self, PlanError> {
        Self::of(live.iter().enumerate())
    }

    /// The index of some of the live objects, each with its position in the input.
    fn of(live: impl Iterator<Item = (usize, &'a Value)>) -> Result<Self, PlanError> {
        let mut by_key = BTreeMap::new();
        for (index, object) in live {
            let key = ResourceKey::of(object).map_err(|source| PlanError::InvalidObject {
                side: "live",
                index,
                source,
            })?;
            if by_key.insert(key.clone(), (index, object)).is_some() {
                return Err(PlanError::DuplicateObject {
                    side: "live",
                    key: key.to_string(),
                });
            }
        }
        Ok(Self { by_key })
    }

    /// The live counterpart of a desired key. A desired object without a namespace pairs
    /// with the live one in the destination namespace (render normally fills it in).
    pub fn pair(
        &self,
        desired: &ResourceKey,
        destination_namespace: &str,
    ) -> Option<(ResourceKey, &'a Value)> {
        if let Some((_, live)) = self.by_key.get(desired) {
            return Some((desired.clone(), live));
        }
        if desired.namespace.is_empty() && !destination_namespace.is_empty() {
            let in_destination = ResourceKey {
                namespace: destination_namespace.to_string(),
                ..desired.clone()
            };
            if let Some((_, live)) = self.by_key.get(&in_destination) {
                return Some((in_destination, live));
            }
        }
        None
    }

    pub fn iter(&self) -> impl Iterator<Item = (&ResourceKey, &'a Value)> {
        self.by_key.iter().map(|(key, (_, object))| (key, *object))
    }
}

/// A desired object and its live counterpart (either may be missing), under the key they share.
pub type Paired<'a> = BTreeMap<ResourceKey, (Option<&'a Value>, Option<&'a Value>)>;

/// Desired and live resources paired by the rule the plan applies by (see [`LiveIndex::pair`]),
/// hooks on either side left out: the one pairing that compare, preview and the plan share,
/// so an app never compares Synced by one rule and then plans by another. An object without a
/// name, or two objects under one key, is an error, not an object dropped.
pub fn pair_resources<'a>(
    desired: &'a [Value],
    live: &'a [Value],
    destination_namespace: &str,
) -> Result<Paired<'a>, PlanError> {
    let is_resource = |(_, object): &(usize, &Value)| matches!(role(object), Role::Resource);
    let index = LiveIndex::of(live.iter().enumerate().filter(is_resource))?;
    let mut pairs = Paired::new();
    for (position, object) in desired.iter().enumerate().filter(is_resource) {
        let key = desired_key(object, position)?;
        let (key, counterpart) = match index.pair(&key, destination_namespace) {
            Some((live_key, live)) => (live_key, Some(live)),
            None => (key, None),
        };
        let entry = pairs.entry(key.clone()).or_default();
        if entry.0.is_some() {
            return Err(PlanError::DuplicateObject {
                side: "desired",
                key: key.to_string(),
            });
        }
        *entry = (Some(object), counterpart);
    }
    for (key, live) in index.iter() {
        pairs.entry(key.clone()).or_insert((None, Some(live)));
    }
    Ok(pairs)
}

/// The key of desired object `index`; a hook with only `generateName` is keyed by that
/// prefix here (its real name is made per phase by [`hook_object`]).
pub fn desired_key(object: &Value, index: usize) -> Result<ResourceKey, PlanError> {
    let invalid = |source| PlanError::InvalidObject {
        side: "desired",
        index,
        source,
    };
    match generate_name(object) {
        Some(prefix) if name(object).is_none() => {
            let mut named = object.clone();
            set_name(&mut named, prefix.to_string());
            ResourceKey::of(&named).map_err(invalid)
        }
        _ => ResourceKey::of(object).map_err(invalid),
    }
}

/// The hook object created in `phase`. A `generateName` hook is named as Argo CD names it,
/// `<generateName><revision[:7]>-<phase>-<started_at>` in lower case, so a resumed sync
/// computes the same names. Every hook carries its operation's start ([`HOOK_OPERATION`]):
/// a resumed sync finds the hook it already created by that, and does not run it again.
pub fn hook_object(object: &Value, phase: Phase, revision: &str, started_at: i64) -> Value {
    let mut hook = object.clone();
    if let Some(metadata) = hook.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(HOOK_OPERATION.into(), Value::String(started_at.to_string()));
        }
    }
    if name(object).is_none()
        && let Some(prefix) = generate_name(object)
    {
        let short: String = revision.chars().take(7).collect();
        let suffix = format!("{short}-{phase}-{started_at}").to_lowercase();
        set_name(&mut hook, format!("{prefix}{suffix}"));
    }
    hook
}

/// Whether `live` is the hook `desired` stands for, created earlier by the same operation.
pub fn created_by_same_operation(live: &Value, desired: &Value) -> bool {
    let of = |o: &Value| {
        o.pointer("/metadata/annotations")
            .and_then(|a| a.get(HOOK_OPERATION))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    matches!((of(live), of(desired)), (Some(a), Some(b)) if a == b)
}

fn name(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn generate_name(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/generateName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn set_name(object: &mut Value, name: String) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("name".into(), Value::String(name));
    }
}

/// The destination namespace made by `CreateNamespace=true`: never pruned or deleted,
/// like Argo CD's managed namespace.
pub fn is_namespace_named(key: &ResourceKey, namespace: &str) -> bool {
    key.group.is_empty() && key.kind == "Namespace" && key.name == namespace
}

/// `group/kind` of the custom resources a CRD object defines.
pub fn crd_defines(object: &Value) -> Option<(String, String)> {
    let api_version = object.get("apiVersion")?.as_str()?;
    if object.get("kind")?.as_str()? != "CustomResourceDefinition"
        || !api_version.starts_with("apiextensions.k8s.io/")
    {
        return None;
    }
    let group = object.pointer("/spec/group")?.as_str()?;
    let kind = object.pointer("/spec/names/kind")?.as_str()?;
    Some((group.to_string(), kind.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generate_name_hooks_are_named_like_argo_cd() {
        let job = json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"generateName": "migrate-", "namespace": "shop"}});
        let named = hook_object(&job, Phase::PreSync, "0123456789abcdef", 1700000000);
        assert_eq!(
            named.pointer("/metadata/name"),
            Some(&json!("migrate-0123456-presync-1700000000"))
        );
        assert_eq!(desired_key(&job, 0).unwrap().name, "migrate-");
        let fixed = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "m", "generateName": "x-"}});
        let kept = hook_object(&fixed, Phase::PreSync, "r", 1);
        assert_eq!(kept.pointer("/metadata/name"), Some(&json!("m")));
    }

    #[test]
    fn a_hook_knows_the_operation_that_created_it() {
        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "m"}});
        let ours = hook_object(&job, Phase::PreSync, "r", 1700000000);
        let earlier = hook_object(&job, Phase::PreSync, "r", 1600000000);
        assert!(created_by_same_operation(&ours, &ours));
        assert!(!created_by_same_operation(&earlier, &ours));
        assert!(
            !created_by_same_operation(&job, &ours),
            "a hook created by hand"
        );
    }

    #[test]
    fn resources_pair_as_the_plan_pairs_them_and_hooks_stay_out() {
        let cm = |name: &str, namespace: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}});
        let bare = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bare"}});
        let hook = json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "shop", "annotations": {"argocd.argoproj.io/hook": "PreSync"}}});
        let desired = vec![bare.clone(), cm("new", "shop"), hook.clone()];
        let live = vec![cm("bare", "shop"), cm("gone", "shop"), hook];
        let pairs = pair_resources(&desired, &live, "shop").unwrap();
        let shown: Vec<(String, bool, bool)> = pairs
            .iter()
            .map(|(k, (d, l))| (k.to_string(), d.is_some(), l.is_some()))
            .collect();
        let key = |name: &str| ResourceKey::new("", "ConfigMap", "shop", name).to_string();
        assert_eq!(
            shown,
            vec![
                (key("bare"), true, true),
                (key("gone"), false, true),
                (key("new"), true, false)
            ]
        );
        assert_eq!(
            pairs[&ResourceKey::new("", "ConfigMap", "shop", "bare")].0,
            Some(&bare)
        );
    }

    #[test]
    fn two_desired_objects_for_one_live_object_are_an_error_not_one_dropped() {
        let explicit = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}});
        let bare = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let desired = vec![explicit.clone(), bare];
        assert!(matches!(
            pair_resources(&desired, std::slice::from_ref(&explicit), "shop"),
            Err(PlanError::DuplicateObject {
                side: "desired",
                ..
            })
        ));
        let nameless = vec![json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})];
        assert!(matches!(
            pair_resources(&nameless, &[], "shop"),
            Err(PlanError::InvalidObject {
                side: "desired",
                ..
            })
        ));
    }

    #[test]
    fn desired_without_namespace_pairs_with_live_in_destination() {
        let live = vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}}),
        ];
        let index = LiveIndex::new(&live).unwrap();
        let bare = ResourceKey::new("", "ConfigMap", "", "c");
        assert_eq!(
            index.pair(&bare, "shop").map(|(k, _)| k.namespace),
            Some("shop".to_string())
        );
        assert!(index.pair(&bare, "other").is_none());
    }

    #[test]
    fn live_duplicates_and_nameless_objects_are_errors() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert!(matches!(
            LiveIndex::new(&[cm.clone(), cm]),
            Err(PlanError::DuplicateObject { .. })
        ));
        let nameless = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
        assert!(matches!(
            LiveIndex::new(&[nameless]),
            Err(PlanError::InvalidObject { index: 0, .. })
        ));
    }

    #[test]
    fn crd_definitions_are_read() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "certificates.cert-manager.io"},
            "spec": {"group": "cert-manager.io", "names": {"kind": "Certificate"}}});
        assert_eq!(
            crd_defines(&crd),
            Some(("cert-manager.io".into(), "Certificate".into()))
        );
        assert_eq!(crd_defines(&json!({"kind": "ConfigMap"})), None);
    }
}
