//! Which objects are hooks, in which phases they run and when they are deleted, read
//! from `argocd.argoproj.io/hook*` and, when no Argo CD hook is given, Helm's `helm.sh/hook*`
//! annotations, mapped the way Argo CD maps them.

use crate::meta::{annotation, annotation_list};
use crate::step::Phase;
use driftless_model::annotations::{HELM_HOOK, HELM_HOOK_DELETE_POLICY, HOOK, HOOK_DELETE_POLICY};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// When a hook object is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HookDeletePolicy {
    /// After the sync succeeded.
    HookSucceeded,
    /// After the sync failed.
    HookFailed,
    /// Before the hook is created again (Argo CD's default when none is given).
    BeforeHookCreation,
}

impl HookDeletePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HookSucceeded => "HookSucceeded",
            Self::HookFailed => "HookFailed",
            Self::BeforeHookCreation => "BeforeHookCreation",
        }
    }

    fn from_argo(text: &str) -> Option<Self> {
        match text {
            "HookSucceeded" => Some(Self::HookSucceeded),
            "HookFailed" => Some(Self::HookFailed),
            "BeforeHookCreation" => Some(Self::BeforeHookCreation),
            _ => None,
        }
    }

    fn from_helm(text: &str) -> Option<Self> {
        match text {
            "hook-succeeded" => Some(Self::HookSucceeded),
            "hook-failed" => Some(Self::HookFailed),
            "before-hook-creation" => Some(Self::BeforeHookCreation),
            _ => None,
        }
    }
}

/// What part an object plays in a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A regular object: applied in the Sync phase, pruned when gone from the source.
    Resource,
    /// `argocd.argoproj.io/hook: Skip`: never applied.
    Skip,
    /// A hook, run in these phases; none when all its hook types are unsupported
    /// (e.g. Helm test hooks), in which case it never runs. Hooks are never pruned.
    Hook {
        phases: Vec<Phase>,
        unsupported: Vec<String>,
    },
}

/// Reads an object's role. Helm's annotations count only when no Argo CD hook type is
/// given; `helm.sh/hook: crd-install` is not a hook (Argo CD applies such CRDs normally).
pub fn role(object: &Value) -> Role {
    let argo = annotation_list(object, HOOK);
    let argo_types: Vec<ArgoType> = argo.iter().filter_map(|t| ArgoType::parse(t)).collect();
    if argo_types == [ArgoType::Skip] {
        return Role::Skip;
    }
    let helm_value = annotation(object, HELM_HOOK).map(str::trim);
    let is_hook =
        annotation(object, HOOK).is_some() || helm_value.is_some_and(|v| v != "crd-install");
    if !is_hook {
        return Role::Resource;
    }
    let mut phases = Vec::new();
    let mut unsupported: Vec<String> = argo
        .iter()
        .filter(|t| ArgoType::parse(t).is_none())
        .cloned()
        .collect();
    if argo_types.is_empty() {
        for text in annotation_list(object, HELM_HOOK) {
            match helm_phase(&text) {
                Some(phase) => phases.push(phase),
                None => unsupported.push(text),
            }
        }
    } else {
        phases.extend(argo_types.iter().filter_map(|t| t.phase()));
    }
    phases.sort();
    phases.dedup();
    Role::Hook {
        phases,
        unsupported,
    }
}

/// The hook's delete policies from both annotations; BeforeHookCreation when none is given.
pub fn delete_policies(object: &Value) -> Vec<HookDeletePolicy> {
    let argo = annotation_list(object, HOOK_DELETE_POLICY);
    let helm = annotation_list(object, HELM_HOOK_DELETE_POLICY);
    let mut policies: Vec<HookDeletePolicy> = argo
        .iter()
        .filter_map(|t| HookDeletePolicy::from_argo(t))
        .chain(helm.iter().filter_map(|t| HookDeletePolicy::from_helm(t)))
        .collect();
    if policies.is_empty() {
        policies.push(HookDeletePolicy::BeforeHookCreation);
    }
    let mut seen = Vec::new();
    policies.retain(|p| {
        let new = !seen.contains(p);
        seen.push(*p);
        new
    });
    policies
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArgoType {
    Phase(Phase),
    Skip,
}

impl ArgoType {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "PreSync" => Self::Phase(Phase::PreSync),
            "Sync" => Self::Phase(Phase::Sync),
            "PostSync" => Self::Phase(Phase::PostSync),
            "SyncFail" => Self::Phase(Phase::SyncFail),
            "PreDelete" => Self::Phase(Phase::PreDelete),
            "PostDelete" => Self::Phase(Phase::PostDelete),
            "Skip" => Self::Skip,
            _ => return None,
        })
    }

    fn phase(self) -> Option<Phase> {
        match self {
            Self::Phase(phase) => Some(phase),
            Self::Skip => None,
        }
    }
}

/// Helm hook types Argo CD supports; install and upgrade are the same thing to a sync.
fn helm_phase(text: &str) -> Option<Phase> {
    match text {
        "pre-install" | "pre-upgrade" => Some(Phase::PreSync),
        "post-install" | "post-upgrade" => Some(Phase::PostSync),
        "pre-delete" => Some(Phase::PreDelete),
        "post-delete" => Some(Phase::PostDelete),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(annotations: Value) -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "annotations": annotations}})
    }

    fn hook(phases: &[Phase]) -> Role {
        Role::Hook {
            phases: phases.to_vec(),
            unsupported: vec![],
        }
    }

    #[test]
    fn argo_hook_types() {
        assert_eq!(role(&obj(json!({}))), Role::Resource);
        assert_eq!(
            role(&obj(json!({HOOK: "PostSync, PreSync"}))),
            hook(&[Phase::PreSync, Phase::PostSync])
        );
        assert_eq!(role(&obj(json!({HOOK: "Skip"}))), Role::Skip);
        // Skip among other types is ignored, as Argo CD does
        assert_eq!(role(&obj(json!({HOOK: "Skip,Sync"}))), hook(&[Phase::Sync]));
        assert_eq!(
            role(&obj(json!({HOOK: "SyncFail"}))),
            hook(&[Phase::SyncFail])
        );
    }

    #[test]
    fn helm_hooks_map_to_argo_phases() {
        let pre = obj(json!({HELM_HOOK: "pre-install,pre-upgrade"}));
        assert_eq!(role(&pre), hook(&[Phase::PreSync]));
        assert_eq!(
            role(&obj(json!({HELM_HOOK: "post-upgrade"}))),
            hook(&[Phase::PostSync])
        );
        assert_eq!(
            role(&obj(json!({HELM_HOOK: "pre-delete,post-delete"}))),
            hook(&[Phase::PreDelete, Phase::PostDelete])
        );
        assert_eq!(
            role(&obj(json!({HELM_HOOK: "test"}))),
            Role::Hook {
                phases: vec![],
                unsupported: vec!["test".into()]
            }
        );
        assert_eq!(
            role(&obj(json!({HELM_HOOK: "crd-install"}))),
            Role::Resource
        );
    }

    #[test]
    fn argo_hook_annotation_hides_helm_hooks() {
        let both = obj(json!({HOOK: "PostSync", HELM_HOOK: "pre-install"}));
        assert_eq!(role(&both), hook(&[Phase::PostSync]));
        // an Argo CD value this version does not know falls back to Helm's, like Argo CD
        let unknown = obj(json!({HOOK: "Later", HELM_HOOK: "pre-install"}));
        assert_eq!(
            role(&unknown),
            Role::Hook {
                phases: vec![Phase::PreSync],
                unsupported: vec!["Later".into()]
            }
        );
    }

    #[test]
    fn delete_policies_default_and_mapping() {
        assert_eq!(
            delete_policies(&obj(json!({}))),
            [HookDeletePolicy::BeforeHookCreation]
        );
        assert_eq!(
            delete_policies(&obj(json!({HOOK_DELETE_POLICY: "HookSucceeded",
                HELM_HOOK_DELETE_POLICY: "hook-failed,hook-succeeded"}))),
            [
                HookDeletePolicy::HookSucceeded,
                HookDeletePolicy::HookFailed
            ]
        );
        assert_eq!(
            delete_policies(&obj(
                json!({HELM_HOOK_DELETE_POLICY: "before-hook-creation"})
            )),
            [HookDeletePolicy::BeforeHookCreation]
        );
    }
}
