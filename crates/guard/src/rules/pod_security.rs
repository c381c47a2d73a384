//! The security baseline of every pod template: non-root, read-only root filesystem, no
//! capabilities, RuntimeDefault seccomp, not privileged, no host namespaces, no hostPath.
//! A container-level setting overrides the pod-level one where Kubernetes has both
//! (`runAsNonRoot`, `runAsUser`, `seccompProfile`).

use crate::finding::{Finding, Rule, Severity};
use crate::options::Options;
use crate::pod::{Container, PodSpec, pod_spec};
use crate::pointer;
use crate::tree::{Context, Obj};
use serde_json::Value;

pub const RUN_AS_NON_ROOT: Rule = Rule {
    id: "run-as-non-root",
    severity: Severity::Error,
    description: "every container runs with runAsNonRoot: true (pod or container securityContext) and not as UID 0",
};
pub const READ_ONLY_ROOT_FILESYSTEM: Rule = Rule {
    id: "read-only-root-filesystem",
    severity: Severity::Error,
    description: "every container sets securityContext.readOnlyRootFilesystem: true",
};
pub const DROP_ALL_CAPABILITIES: Rule = Rule {
    id: "drop-all-capabilities",
    severity: Severity::Error,
    description: "every container drops all Linux capabilities (capabilities.drop: [ALL]) and adds back none but the allowed ones (default NET_BIND_SERVICE)",
};
pub const SECCOMP_RUNTIME_DEFAULT: Rule = Rule {
    id: "seccomp-runtime-default",
    severity: Severity::Error,
    description: "every container runs under seccomp RuntimeDefault (or a Localhost profile), set on the pod or the container",
};
pub const NO_PRIVILEGED: Rule = Rule {
    id: "no-privileged",
    severity: Severity::Error,
    description: "no container runs privileged",
};
pub const NO_HOST_NAMESPACES: Rule = Rule {
    id: "no-host-namespaces",
    severity: Severity::Error,
    description: "no pod shares the node's network, PID or IPC namespace (hostNetwork, hostPID, hostIPC)",
};
pub const NO_HOST_PATH: Rule = Rule {
    id: "no-host-path",
    severity: Severity::Error,
    description: "no pod mounts a hostPath volume",
};

pub(crate) fn check(ctx: &Context, options: &Options, out: &mut Vec<Finding>) {
    for obj in &ctx.objects {
        if let Some(pod) = pod_spec(&obj.key.group, &obj.key.kind, obj.value) {
            check_pod(obj, &pod, options, out);
        }
    }
}

fn check_pod(obj: &Obj, pod: &PodSpec, options: &Options, out: &mut Vec<Finding>) {
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if pod.spec.get(field).and_then(Value::as_bool) == Some(true) {
            let path = pointer::key(pod.pointer, field);
            out.push(NO_HOST_NAMESPACES.finding(obj.app, &obj.key, path, format!("pod sets {field}: true; it shares the node's namespace and bypasses network policy and process isolation")));
        }
    }
    let volumes = pod
        .spec
        .get("volumes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for (i, volume) in volumes.iter().enumerate() {
        if let Some(host_path) = volume.get("hostPath") {
            let name = volume
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("(unnamed)");
            let node_path = host_path.get("path").and_then(Value::as_str).unwrap_or("?");
            let path = pointer::key(
                &pointer::index(&pointer::key(pod.pointer, "volumes"), i),
                "hostPath",
            );
            out.push(NO_HOST_PATH.finding(obj.app, &obj.key, path, format!("volume \"{name}\" mounts the node's {node_path}; use a PersistentVolumeClaim, emptyDir, ConfigMap or Secret")));
        }
    }
    for container in pod.containers() {
        check_container(obj, pod, &container, options, out);
    }
}

fn check_container(
    obj: &Obj,
    pod: &PodSpec,
    c: &Container,
    options: &Options,
    out: &mut Vec<Finding>,
) {
    let name = c.name;
    let mut report = |rule: &Rule, field: &str, message: String| {
        out.push(rule.finding(obj.app, &obj.key, c.security_pointer(field), message));
    };

    // Container settings win over pod settings, field by field.
    let non_root = c
        .security("runAsNonRoot")
        .or_else(|| pod.security("runAsNonRoot"))
        .and_then(Value::as_bool);
    let uid = c
        .security("runAsUser")
        .or_else(|| pod.security("runAsUser"))
        .and_then(Value::as_i64);
    if uid == Some(0) {
        report(
            &RUN_AS_NON_ROOT,
            "runAsUser",
            format!("container \"{name}\" runs as UID 0 (root); set a non-zero runAsUser"),
        );
    } else if non_root != Some(true) {
        let why = if non_root == Some(false) {
            "sets runAsNonRoot: false"
        } else {
            "does not set runAsNonRoot: true (nor does the pod securityContext)"
        };
        report(
            &RUN_AS_NON_ROOT,
            "runAsNonRoot",
            format!("container \"{name}\" {why}"),
        );
    }

    if c.security("readOnlyRootFilesystem")
        .and_then(Value::as_bool)
        != Some(true)
    {
        report(
            &READ_ONLY_ROOT_FILESYSTEM,
            "readOnlyRootFilesystem",
            format!(
                "container \"{name}\" has a writable root filesystem; set readOnlyRootFilesystem: true and mount an emptyDir where it must write"
            ),
        );
    }

    // "ALL" is matched exactly, as the restricted Pod Security Standard does.
    let capabilities = c.security("capabilities");
    let drops_all = capabilities
        .and_then(|caps| caps.get("drop"))
        .and_then(Value::as_array)
        .is_some_and(|drop| drop.iter().any(|cap| cap.as_str() == Some("ALL")));
    if !drops_all {
        report(
            &DROP_ALL_CAPABILITIES,
            "capabilities",
            format!(
                "container \"{name}\" keeps the runtime's default capabilities; set capabilities.drop: [ALL]"
            ),
        );
    }
    // Adding a capability back undoes the drop for it, whatever `drop` says.
    let added = capabilities
        .and_then(|caps| caps.get("add"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for (i, cap) in added.iter().enumerate() {
        let cap_name = cap.as_str().map_or_else(|| cap.to_string(), str::to_string);
        if options.allows_capability(&cap_name) {
            continue;
        }
        let allowed = if options.allowed_capabilities.is_empty() {
            "none is allowed".to_string()
        } else {
            format!("allowed: {}", options.allowed_capabilities.join(", "))
        };
        report(
            &DROP_ALL_CAPABILITIES,
            &format!("capabilities/add/{i}"),
            format!(
                "container \"{name}\" adds capability {cap_name} back; remove it from capabilities.add ({allowed}); if the workload truly needs it, waive drop-all-capabilities with a reason (or allow it: driftless check --allow-capability {cap_name})"
            ),
        );
    }

    let profile_type = |sc: Option<&Value>| {
        sc.and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let seccomp = profile_type(c.security("seccompProfile"))
        .or_else(|| profile_type(pod.security("seccompProfile")));
    match seccomp.as_deref() {
        Some("RuntimeDefault" | "Localhost") => {}
        Some(other) => report(
            &SECCOMP_RUNTIME_DEFAULT,
            "seccompProfile",
            format!("container \"{name}\" runs with seccomp profile {other}; use RuntimeDefault"),
        ),
        None => report(
            &SECCOMP_RUNTIME_DEFAULT,
            "seccompProfile",
            format!(
                "container \"{name}\" has no seccomp profile (neither does the pod); set seccompProfile.type: RuntimeDefault on the pod securityContext"
            ),
        ),
    }

    if c.security("privileged").and_then(Value::as_bool) == Some(true) {
        report(
            &NO_PRIVILEGED,
            "privileged",
            format!(
                "container \"{name}\" is privileged: it has every capability and full access to the node's devices"
            ),
        );
    }
}
