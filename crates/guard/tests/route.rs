//! `route` over `testdata/route/tree.yaml`: which VirtualService, route and destinations a
//! request reaches, checked case by case against the routing rules written in that file.

use driftless_guard::{Request, RouteAction, RouteResult, Tree, route, route_request};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

fn tree() -> Tree {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/route/tree.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()));
    let docs = serde_norway::Deserializer::from_str(&text)
        .map(|d| {
            Value::deserialize(d)
                .unwrap_or_else(|e| panic!("failed to parse {}: {e}", path.display()))
        })
        .filter(|v| !v.is_null());
    Tree::of_app("platform", docs)
}

/// (host, weight, resolved object) of each destination; empty when not forwarded.
fn destinations(result: &RouteResult) -> Vec<(String, u64, Option<String>)> {
    match &result.action {
        RouteAction::Forward { destinations } => destinations
            .iter()
            .map(|d| (d.host.clone(), d.weight, d.resolves_to.clone()))
            .collect(),
        _ => Vec::new(),
    }
}

fn at(result: &RouteResult) -> (Option<&str>, Option<usize>, Option<usize>) {
    (
        result.virtual_service.as_deref(),
        result.http_index,
        result.match_index,
    )
}

const PLATFORM: &str = "networking.istio.io/VirtualService/ai/platform";

#[test]
fn prefix_route_splits_by_weight_and_resolves_services() {
    let tree = tree();
    let result = route(&tree, "ai.example.com", "/api/v1/chat");
    assert_eq!(
        at(&result),
        (Some(PLATFORM), Some(1), Some(0)),
        "{:#?}",
        result.explanation
    );
    assert_eq!(
        destinations(&result),
        [
            (
                "litellm".to_string(),
                90,
                Some("/Service/ai/litellm".to_string())
            ),
            (
                "litellm-canary".to_string(),
                10,
                Some("/Service/ai/litellm-canary".to_string())
            ),
        ]
    );
    // The header-only canary route was considered first and skipped, and the reason is given.
    assert!(
        result
            .explanation
            .iter()
            .any(|l| l.contains("http[0]") && l.contains("no header x-canary")),
        "{:#?}",
        result.explanation
    );
    // Istio prefixes are string prefixes: /apiary is under /api too.
    assert_eq!(at(&route(&tree, "ai.example.com", "/apiary")).1, Some(1));
}

#[test]
fn header_condition_is_evaluated_against_the_request() {
    let mut request = Request::new("ai.example.com", "/api/v1/chat/completions");
    request.headers.insert("X-Canary".into(), "1".into());
    let result = route_request(&tree(), &request);
    assert_eq!(at(&result), (Some(PLATFORM), Some(0), Some(0)));
    assert_eq!(
        destinations(&result),
        [(
            "litellm-canary".to_string(),
            100,
            Some("/Service/ai/litellm-canary".to_string())
        )]
    );
}

#[test]
fn direct_response_redirect_and_regex_routes() {
    let tree = tree();
    let health = route(&tree, "ai.example.com", "/healthz");
    assert_eq!(
        (health.http_index, &health.action),
        (Some(2), &RouteAction::DirectResponse { status: 200 })
    );
    // Exact means exact: /healthz/ falls through to the catch-all.
    assert_eq!(
        route(&tree, "ai.example.com", "/healthz/").http_index,
        Some(5)
    );
    let models = route(&tree, "ai.example.com", "/v2/models");
    assert_eq!(
        destinations(&models),
        [(
            "models.ai.svc.cluster.local".to_string(),
            100,
            Some("/Service/ai/models".to_string())
        )]
    );
    // A regex must match the whole path.
    assert_eq!(
        route(&tree, "ai.example.com", "/v2/models/x").http_index,
        Some(5)
    );
    let old = route(&tree, "ai.example.com", "/old/page?x=1");
    assert_eq!(
        old.action,
        RouteAction::Redirect {
            uri: Some("/new".into()),
            authority: None,
            status: 301
        }
    );
}

#[test]
fn catch_all_route_has_no_match_index() {
    let result = route(&tree(), "AI.example.com:443", "/chat");
    assert_eq!(at(&result), (Some(PLATFORM), Some(5), None));
    assert_eq!(destinations(&result)[0].0, "dify");
}

#[test]
fn most_specific_host_wins_over_wildcard() {
    let tree = tree();
    let grafana = route(&tree, "grafana.example.com", "/");
    assert_eq!(
        grafana.virtual_service.as_deref(),
        Some("networking.istio.io/VirtualService/istio-system/grafana")
    );
    assert_eq!(
        destinations(&grafana),
        [(
            "grafana.monitoring.svc.cluster.local".to_string(),
            100,
            Some("/Service/monitoring/grafana".to_string())
        )]
    );
    let other = route(&tree, "dify.example.com", "/");
    assert_eq!(
        other.virtual_service.as_deref(),
        Some("networking.istio.io/VirtualService/ai/fallback")
    );
    assert_eq!(
        destinations(&other)[0].2.as_deref(),
        Some("/Service/ai/default-backend")
    );
}

#[test]
fn mesh_request_skips_gateway_only_matches() {
    let result = route(&tree(), "qdrant.vector", "/collections/docs");
    assert_eq!(
        at(&result),
        (
            Some("networking.istio.io/VirtualService/vector/qdrant"),
            Some(1),
            None
        ),
        "{:#?}",
        result.explanation
    );
    assert_eq!(
        destinations(&result)[0].2.as_deref(),
        Some("/Service/vector/qdrant")
    );
}

#[test]
fn unknown_host_gets_no_route_and_says_why() {
    let result = route(&tree(), "example.com", "/");
    assert_eq!(result.action, RouteAction::NoRoute);
    assert_eq!(result.virtual_service, None);
    assert!(result.explanation.iter().any(|l| l.contains("404")));
}
