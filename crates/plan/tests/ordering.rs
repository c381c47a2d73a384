//! Laws of plan ordering, checked on generated apps (proptest):
//!
//! - every desired object appears in the plan exactly once (hooks of one phase here);
//! - steps run in (phase, wave) order: PreSync < Sync < PostSync, waves ascending in a phase;
//! - hooks keep their phase, and other objects their wave, unless they are Namespaces or CRDs
//!   pulled forward for what needs them;
//! - a Namespace comes before every object in it, and a CRD before its custom resources:
//!   anywhere in the plan for regular objects, within a wave for hooks too.

#![allow(clippy::unwrap_used)]

use driftless_model::ResourceKey;
use driftless_plan::{Phase, PlanInput, Step, plan_sync};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const CASES: u32 = 1024;
const NAMESPACES: &[&str] = &["a", "b", "c"];
/// Custom resources, by (apiVersion, kind); their CRDs are generated too. Kind names that are
/// not built-in ones: the install order ranks kinds by name only, as Argo CD does.
const CUSTOM: &[(&str, &str, &str)] = &[
    ("example.com/v1", "example.com", "Widget"),
    ("other.io/v2", "other.io", "Gadget"),
];

/// What an object is, before it is written as JSON.
#[derive(Debug, Clone)]
struct Spec {
    kind: usize,
    name: String,
    namespace: usize,
    wave: i32,
    hook: Option<Phase>,
}

const KINDS: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Service",
    "Deployment",
    "Job",
    "Pod",
    "Widget",
    "Gadget",
];

fn spec() -> impl Strategy<Value = Spec> {
    (
        0..KINDS.len(),
        "[a-c]{1,2}",
        0..NAMESPACES.len(),
        -3i32..4,
        prop::option::weighted(
            0.25,
            prop::sample::select(vec![Phase::PreSync, Phase::Sync, Phase::PostSync]),
        ),
    )
        .prop_map(|(kind, name, namespace, wave, hook)| Spec {
            kind,
            name,
            namespace,
            wave,
            hook,
        })
}

fn object(spec: &Spec) -> Value {
    let kind = KINDS[spec.kind];
    let mut annotations = json!({"argocd.argoproj.io/sync-wave": spec.wave.to_string()});
    let hookable = matches!(kind, "Job" | "Pod" | "ConfigMap");
    if let (Some(phase), true) = (spec.hook, hookable) {
        annotations["argocd.argoproj.io/hook"] = json!(phase.as_str());
    }
    match kind {
        "Namespace" => json!({"apiVersion": "v1", "kind": kind,
            "metadata": {"name": NAMESPACES[spec.namespace], "annotations": annotations}}),
        "CustomResourceDefinition" => {
            let (_, group, crd_kind) = CUSTOM[spec.namespace % CUSTOM.len()];
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": kind,
                "metadata": {"name": format!("{}s.{group}", crd_kind.to_lowercase()), "annotations": annotations},
                "spec": {"group": group, "names": {"kind": crd_kind, "plural": format!("{}s", crd_kind.to_lowercase())}}})
        }
        _ => {
            let api = match kind {
                "Deployment" => "apps/v1",
                "Job" => "batch/v1",
                "Widget" | "Gadget" => CUSTOM.iter().find(|c| c.2 == kind).map_or("v1", |c| c.0),
                _ => "v1",
            };
            json!({"apiVersion": api, "kind": kind,
                "metadata": {"name": spec.name, "namespace": NAMESPACES[spec.namespace], "annotations": annotations}})
        }
    }
}

/// Desired objects with distinct keys, some of them live already, plus live-only objects.
fn app() -> impl Strategy<Value = (Vec<Value>, Vec<Value>, bool)> {
    (
        prop::collection::vec(spec(), 0..14),
        prop::collection::vec(any::<bool>(), 14),
        prop::collection::vec(spec(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(specs, live_flags, extra, prune)| {
            let mut seen = BTreeMap::new();
            for spec in specs {
                let obj = object(&spec);
                seen.entry(ResourceKey::of(&obj).unwrap()).or_insert(obj);
            }
            let desired: Vec<Value> = seen.values().cloned().collect();
            let mut live: Vec<Value> = desired
                .iter()
                .zip(&live_flags)
                .filter(|(_, l)| **l)
                .map(|(d, _)| d.clone())
                .collect();
            for spec in extra {
                let mut obj = object(&spec);
                obj["metadata"]["name"] = json!(format!("old-{}", spec.name));
                obj["metadata"]["annotations"] = json!({});
                let key = ResourceKey::of(&obj).unwrap();
                if seen.insert(key, obj.clone()).is_none() {
                    live.push(obj);
                }
            }
            (desired, live, prune)
        })
}

fn is_hook(step: &Step) -> bool {
    step.action.is_hook()
}

fn is_removal(step: &Step) -> bool {
    step.action.is_removal() || step.action.is_kept_removal()
}

/// What `step` needs created first: its namespace, and the CRD of its kind.
fn needs(dependency: &Step, step: &Step) -> bool {
    let key = &dependency.key;
    if key.group.is_empty() && key.kind == "Namespace" {
        return step.key.namespace == key.name;
    }
    if key.kind == "CustomResourceDefinition" {
        let defines = dependency.object.as_ref().and_then(|o| {
            Some((
                o.pointer("/spec/group")?.as_str()?,
                o.pointer("/spec/names/kind")?.as_str()?,
            ))
        });
        return defines == Some((step.key.group.as_str(), step.key.kind.as_str()));
    }
    false
}

/// The plan of a whole-app sync (an empty render may prune: that refusal is tested elsewhere).
fn plan_of(desired: Vec<Value>, live: Vec<Value>, prune: bool) -> driftless_plan::Plan {
    let input = PlanInput {
        desired,
        live,
        prune,
        allow_empty: true,
        destination_namespace: "a".into(),
        ..PlanInput::default()
    };
    plan_sync(&input).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn every_desired_object_appears_exactly_once((desired, live, prune) in app()) {
        let plan = plan_of(desired.clone(), live, prune);
        for object in &desired {
            let key = ResourceKey::of(object).unwrap();
            let count = plan.steps.iter().filter(|s| !is_removal(s) && s.key == key).count();
            prop_assert_eq!(count, 1, "{} in {:#?}", key, plan.summaries());
        }
        let applies = plan.steps.iter().filter(|s| !is_removal(s)).count();
        prop_assert_eq!(applies, desired.len(), "{:#?}", plan.summaries());
    }

    #[test]
    fn phases_then_waves_ascend((desired, live, prune) in app()) {
        let plan = plan_of(desired.clone(), live, prune);
        let order: Vec<(Phase, i32)> = plan.steps.iter().map(|s| (s.phase, s.wave)).collect();
        prop_assert!(order.windows(2).all(|w| w[0] <= w[1]), "{:#?}", plan.summaries());
        for object in &desired {
            let key = ResourceKey::of(object).unwrap();
            let step = plan.steps.iter().find(|s| !is_removal(s) && s.key == key).unwrap();
            let hook = object.pointer("/metadata/annotations/argocd.argoproj.io~1hook").and_then(Value::as_str);
            let wave: i32 = object.pointer("/metadata/annotations/argocd.argoproj.io~1sync-wave").and_then(Value::as_str).unwrap().parse().unwrap();
            let pulled_forward = matches!(key.kind.as_str(), "Namespace" | "CustomResourceDefinition");
            match hook {
                Some(phase) => prop_assert_eq!((step.phase.as_str(), step.wave), (phase, wave)),
                None if pulled_forward => prop_assert!((step.phase, step.wave) <= (Phase::Sync, wave)),
                None => prop_assert_eq!((step.phase, step.wave), (Phase::Sync, wave)),
            }
        }
    }

    #[test]
    fn namespaces_and_crds_come_before_what_needs_them((desired, live, prune) in app()) {
        let plan = plan_of(desired, live, prune);
        let steps = &plan.steps;
        for (i, dependency) in steps.iter().enumerate().filter(|(_, s)| !is_removal(s) && !is_hook(s)) {
            for (j, step) in steps.iter().enumerate().filter(|(_, s)| !is_removal(s)) {
                let same_wave = step.wave_id() == dependency.wave_id();
                if needs(dependency, step) && (!is_hook(step) || same_wave) {
                    prop_assert!(i < j, "{} after {}:\n{:#?}", dependency.key, step.key, plan.summaries());
                }
            }
        }
    }
}
