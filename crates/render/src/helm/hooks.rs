//! Helm hook annotations turned into Argo CD sync-hook annotations, the way Argo CD reads
//! them: `pre-install`/`pre-upgrade` → `PreSync`, `post-install`/`post-upgrade` →
//! `PostSync`; a Helm hook with none of these (`test`, `pre-delete`, `post-delete`,
//! rollback hooks) is never applied by Argo CD, so it becomes `Skip`; `crd-install` is
//! not a hook. An object that already has `argocd.argoproj.io/hook` keeps it (Argo CD
//! then ignores the Helm hook). Delete policies are added to Argo CD's, and
//! `helm.sh/hook-weight` stands for the sync wave when no wave is set. Pure.

use driftless_model::annotations::{
    HELM_HOOK, HELM_HOOK_DELETE_POLICY, HELM_HOOK_WEIGHT, HOOK, HOOK_DELETE_POLICY, SYNC_WAVE,
};
use serde_json::{Map, Value};

pub fn map_helm_hooks(object: &mut Value) {
    let Some(annotations) = object
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let text =
        |a: &Map<String, Value>, key: &str| a.get(key).and_then(Value::as_str).map(str::to_string);

    if let Some(helm_hook) = text(annotations, HELM_HOOK)
        && !annotations.contains_key(HOOK)
        && helm_hook.trim() != "crd-install"
    {
        let mut phases: Vec<&str> = Vec::new();
        for value in csv(&helm_hook) {
            let phase = match value {
                "pre-install" | "pre-upgrade" => "PreSync",
                "post-install" | "post-upgrade" => "PostSync",
                _ => continue,
            };
            if !phases.contains(&phase) {
                phases.push(phase);
            }
        }
        let phases = if phases.is_empty() {
            "Skip".to_string()
        } else {
            phases.join(",")
        };
        annotations.insert(HOOK.into(), Value::String(phases));
    }

    if let Some(helm_policies) = text(annotations, HELM_HOOK_DELETE_POLICY) {
        let mut policies: Vec<String> = text(annotations, HOOK_DELETE_POLICY)
            .map(|p| csv(&p).map(str::to_string).collect())
            .unwrap_or_default();
        for value in csv(&helm_policies) {
            let policy = match value {
                "before-hook-creation" => "BeforeHookCreation",
                "hook-succeeded" => "HookSucceeded",
                "hook-failed" => "HookFailed",
                _ => continue,
            };
            if !policies.iter().any(|p| p == policy) {
                policies.push(policy.to_string());
            }
        }
        if !policies.is_empty() {
            annotations.insert(HOOK_DELETE_POLICY.into(), Value::String(policies.join(",")));
        }
    }

    if !annotations.contains_key(SYNC_WAVE)
        && let Some(weight) = text(annotations, HELM_HOOK_WEIGHT)
        && weight.trim().parse::<i64>().is_ok()
    {
        annotations.insert(SYNC_WAVE.into(), Value::String(weight.trim().to_string()));
    }
}

fn csv(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn annotated(annotations: Value) -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "annotations": annotations}})
    }

    #[test]
    fn helm_hooks_become_sync_hooks() {
        let cases = [
            (
                json!({"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": "-5",
                       "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"}),
                json!({"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": "-5",
                       "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded",
                       "argocd.argoproj.io/hook": "PreSync",
                       "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation,HookSucceeded",
                       "argocd.argoproj.io/sync-wave": "-5"}),
            ),
            (
                json!({"helm.sh/hook": "post-install, pre-upgrade"}),
                json!({"helm.sh/hook": "post-install, pre-upgrade", "argocd.argoproj.io/hook": "PostSync,PreSync"}),
            ),
            (
                json!({"helm.sh/hook": "test"}),
                json!({"helm.sh/hook": "test", "argocd.argoproj.io/hook": "Skip"}),
            ),
            (
                json!({"helm.sh/hook": "crd-install"}),
                json!({"helm.sh/hook": "crd-install"}),
            ),
            // an Argo CD hook wins; its own wave stays
            (
                json!({"helm.sh/hook": "post-install", "argocd.argoproj.io/hook": "Sync",
                       "helm.sh/hook-weight": "3", "argocd.argoproj.io/sync-wave": "1"}),
                json!({"helm.sh/hook": "post-install", "argocd.argoproj.io/hook": "Sync",
                       "helm.sh/hook-weight": "3", "argocd.argoproj.io/sync-wave": "1"}),
            ),
            (
                json!({"helm.sh/hook-weight": "x"}),
                json!({"helm.sh/hook-weight": "x"}),
            ),
        ];
        for (input, expected) in cases {
            let mut object = annotated(input.clone());
            map_helm_hooks(&mut object);
            assert_eq!(object, annotated(expected), "{input}");
        }
    }

    #[test]
    fn objects_without_annotations_are_untouched() {
        let mut object =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let before = object.clone();
        map_helm_hooks(&mut object);
        assert_eq!(object, before);
    }
}
