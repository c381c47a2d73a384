//! Times `check` on a synthetic tree of 1,000 objects shaped like the reference platform:
//! per app a Namespace, default-deny NetworkPolicy, Deployment, Service, VirtualService with
//! several routes, Certificate, ConfigMap, Role, RoleBinding and ServiceAccount, behind one
//! shared Gateway and ClusterIssuer. Prints figures; it does not pass or fail on time.
//!
//! Run: `cargo run --release -p driftless-guard --example bench_check`

use driftless_guard::{Tree, check};
use serde_json::{Value, json};
use std::time::Instant;

const APPS: usize = 100;
const RUNS: usize = 20;

fn app_objects(i: usize) -> Vec<Value> {
    let ns = format!("app-{i}");
    let name = format!("svc-{i}");
    let container = json!({"name": "main", "image": format!("registry.example.com/{name}:1.{i}"),
        "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}});
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "default-deny", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": name}}, "spec": {
                "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                "initContainers": [container.clone()], "containers": [container]}}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"ports": [{"name": "http", "port": 80}, {"name": "grpc", "port": 9000}]}}),
        json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name, "namespace": ns},
            "spec": {"hosts": [format!("{name}.example.com")], "gateways": ["istio-system/public"], "http": [
                {"match": [{"uri": {"prefix": "/api/v1"}, "headers": {"x-canary": {"exact": "1"}}}], "route": [{"destination": {"host": name, "port": {"number": 80}}}]},
                {"match": [{"uri": {"prefix": "/api"}}], "route": [{"destination": {"host": name, "port": {"number": 80}}, "weight": 90},
                    {"destination": {"host": format!("{name}.{ns}.svc.cluster.local"), "port": {"number": 80}}, "weight": 10}]},
                {"match": [{"uri": {"regex": "/v[0-9]+/models"}}], "route": [{"destination": {"host": name, "port": {"number": 9000}}}]},
                {"match": [{"uri": {"exact": "/healthz"}}], "directResponse": {"status": 200}},
                {"route": [{"destination": {"host": name, "port": {"number": 80}}}]}]}}),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": name, "namespace": "istio-system"},
            "spec": {"secretName": format!("{name}-tls"), "dnsNames": [format!("{name}.example.com")], "issuerRef": {"name": "private-ca", "kind": "ClusterIssuer"}}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("{name}-config"), "namespace": ns}, "data": {"LOG_LEVEL": "info"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name, "namespace": ns},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": name, "namespace": ns},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}),
    ]
}

fn main() {
    let mut tree = Tree::new();
    tree.push("platform", json!({"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "public", "namespace": "istio-system"},
        "spec": {"selector": {"istio": "ingressgateway"}, "servers": [
            {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*.example.com"], "tls": {"httpsRedirect": true}},
            {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["*.example.com"], "tls": {"mode": "SIMPLE", "credentialName": "svc-0-tls"}}]}}));
    tree.push("platform", json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "private-ca"}, "spec": {"ca": {"secretName": "root-ca"}}}));
    for i in 0..APPS {
        for object in app_objects(i) {
            tree.push(format!("app-{i}"), object);
        }
    }
    let objects = tree.objects.len();
    let mut times = Vec::with_capacity(RUNS);
    let mut findings = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        findings = check(&tree).len();
        times.push(start.elapsed());
    }
    times.sort();
    let median = times[RUNS / 2];
    println!(
        "check: {objects} objects, {findings} findings; median {median:?}, fastest {:?}, slowest {:?} over {RUNS} runs",
        times[0],
        times[RUNS - 1]
    );
}
