//! `check_with`: options a caller may tune, and findings counted exactly where a fixture's
//! `# path:` headers cannot say "only this one".

use driftless_guard::{Finding, Options, Severity, Tree, check, check_with};
use serde_json::{Value, json};

fn pod(add: &[&str]) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"containers": [{
            "name": "web",
            "image": "web:1",
            "securityContext": {"capabilities": {"drop": ["ALL"], "add": add}},
        }]},
    })
}

fn of_rule<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

#[test]
fn default_options_allow_only_net_bind_service() {
    assert_eq!(
        Options::default().allowed_capabilities,
        ["NET_BIND_SERVICE"]
    );
    let tree = Tree::of_app("shop", [pod(&["NET_BIND_SERVICE", "NET_ADMIN"])]);
    let findings = check(&tree);
    let caps = of_rule(&findings, "drop-all-capabilities");
    assert_eq!(caps.len(), 1, "{caps:#?}");
    assert_eq!(caps[0].severity, Severity::Error);
    assert_eq!(
        caps[0].path,
        "/spec/containers/0/securityContext/capabilities/add/1"
    );
    assert!(caps[0].message.contains("\"web\""), "{}", caps[0].message);
    assert!(caps[0].message.contains("NET_ADMIN"), "{}", caps[0].message);
    assert!(
        caps[0].message.contains("remove it from capabilities.add"),
        "{}",
        caps[0].message
    );
}

#[test]
fn allowed_capabilities_are_configurable() {
    let tree = Tree::of_app("shop", [pod(&["NET_BIND_SERVICE", "NET_ADMIN"])]);
    let more = Options::allowing_capabilities(["NET_ADMIN"]);
    assert_eq!(more.allowed_capabilities, ["NET_BIND_SERVICE", "NET_ADMIN"]);
    assert!(of_rule(&check_with(&tree, &more), "drop-all-capabilities").is_empty());

    let none = Options {
        allowed_capabilities: Vec::new(),
    };
    let findings = check_with(&tree, &none);
    let caps = of_rule(&findings, "drop-all-capabilities");
    assert_eq!(caps.len(), 1, "one finding per object and rule: {caps:#?}");
    assert_eq!(
        caps[0].path,
        "/spec/containers/0/securityContext/capabilities/add/0"
    );
    assert!(
        caps[0]
            .message
            .contains("; /spec/containers/0/securityContext/capabilities/add/1: "),
        "{}",
        caps[0].message
    );
}

#[test]
fn unreachable_route_is_one_error_per_route_and_partly_shadowed_is_a_warning_per_match() {
    let vs = json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "hosts": ["shop.example.com"],
            "http": [
                {"match": [{"uri": {"prefix": "/api"}}], "route": [{"destination": {"host": "api"}}]},
                {"match": [{"uri": {"prefix": "/api/v1"}}, {"uri": {"exact": "/api/x"}}],
                 "route": [{"destination": {"host": "v1"}}]},
                {"match": [{"uri": {"prefix": "/api/v2"}}, {"uri": {"prefix": "/v2"}}],
                 "route": [{"destination": {"host": "v2"}}]},
            ],
        },
    });
    let findings = check(&Tree::of_app("shop", [vs]));
    let findings: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.rule.contains("shadowed") || f.rule.contains("unreachable"))
        .collect();
    let got: Vec<(&str, Severity, &str)> = findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity, f.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "virtualservice-shadowed-match",
                Severity::Warning,
                "/spec/http/2/match/0"
            ),
            (
                "virtualservice-unreachable-route",
                Severity::Error,
                "/spec/http/1"
            ),
        ]
    );
    let unreachable = &findings[1].message;
    assert!(
        unreachable.contains("http[0].match[0] (uri prefix \"/api\")")
            && !unreachable.contains(", http[0]"),
        "the covering match is named once: {unreachable}"
    );
}
