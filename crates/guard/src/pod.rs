//! Where pod specs live in workload objects, and the containers in them.

use crate::pointer;
use serde_json::Value;

/// The places a pod spec is found, tried in order. Matching on shape rather than on a list
/// of kinds also covers Argo Rollouts, Knative and other CRDs that embed a pod template.
const TEMPLATE_POINTERS: [&str; 3] = [
    "/spec/template/spec",
    "/spec/jobTemplate/spec/template/spec",
    "/template/spec",
];

/// A pod spec inside an object, with the JSON pointer to it.
pub(crate) struct PodSpec<'a> {
    pub pointer: &'static str,
    pub spec: &'a Value,
}

impl<'a> PodSpec<'a> {
    /// The pod-level `securityContext` field `field`, e.g. `runAsNonRoot`.
    pub fn security(&self, field: &str) -> Option<&'a Value> {
        self.spec.get("securityContext")?.get(field)
    }

    /// Containers, init containers and ephemeral containers, each with its pointer.
    pub fn containers(&self) -> Vec<Container<'a>> {
        let mut out = Vec::new();
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            let Some(items) = self.spec.get(list).and_then(Value::as_array) else {
                continue;
            };
            for (i, item) in items.iter().enumerate() {
                out.push(Container {
                    pointer: pointer::index(&pointer::key(self.pointer, list), i),
                    name: item
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("(unnamed)"),
                    value: item,
                });
            }
        }
        out
    }
}

/// One container of a pod spec.
pub(crate) struct Container<'a> {
    pub pointer: String,
    pub name: &'a str,
    pub value: &'a Value,
}

impl<'a> Container<'a> {
    /// The container-level `securityContext` field `field`.
    pub fn security(&self, field: &str) -> Option<&'a Value> {
        self.value.get("securityContext")?.get(field)
    }

    /// The pointer of a field of this container's `securityContext`.
    pub fn security_pointer(&self, field: &str) -> String {
        format!("{}/securityContext/{field}", self.pointer)
    }
}

/// The pod spec of a Pod or of any object embedding a pod template; `None` for other objects.
pub(crate) fn pod_spec<'a>(group: &str, kind: &str, object: &'a Value) -> Option<PodSpec<'a>> {
    let has_containers = |spec: &Value| spec.get("containers").is_some_and(Value::is_array);
    if group.is_empty() && kind == "Pod" {
        let spec = object.get("spec").filter(|s| has_containers(s))?;
        return Some(PodSpec {
            pointer: "/spec",
            spec,
        });
    }
    TEMPLATE_POINTERS.iter().find_map(|&pointer| {
        let spec = object.pointer(pointer).filter(|s| has_containers(s))?;
        Some(PodSpec { pointer, spec })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pod_specs_are_found_in_pods_templates_and_cronjobs() {
        let pod = json!({"spec": {"containers": [{"name": "a"}]}});
        assert_eq!(pod_spec("", "Pod", &pod).map(|p| p.pointer), Some("/spec"));
        let deploy = json!({"spec": {"template": {"spec": {"containers": [], "initContainers": [{"name": "i"}]}}}});
        let spec = pod_spec("apps", "Deployment", &deploy);
        assert_eq!(
            spec.as_ref().map(|p| p.pointer),
            Some("/spec/template/spec")
        );
        let names: Vec<String> = spec
            .map(|s| s.containers().iter().map(|c| c.pointer.clone()).collect())
            .unwrap_or_default();
        assert_eq!(names, ["/spec/template/spec/initContainers/0"]);
        let cron =
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}});
        assert_eq!(
            pod_spec("batch", "CronJob", &cron).map(|p| p.pointer),
            Some("/spec/jobTemplate/spec/template/spec")
        );
        let config = json!({"data": {"template": "x"}});
        assert!(pod_spec("", "ConfigMap", &config).is_none());
    }
}
