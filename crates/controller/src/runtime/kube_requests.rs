//! Every request the controller's Kubernetes clients make, counted by verb and resource as the
//! API server names them (`driftless_kubernetes_requests_total`): what a first sync or a quiet
//! hour costs the API server, seen from our side, whatever other clients do.

use http::{Method, Request};
use kube::client::{Body, ClientBuilder};
use prometheus::{IntCounterVec, Opts};
use std::sync::LazyLock;

/// Process-wide: the clients are made before any [`crate::runtime::metrics::Metrics`] is.
pub static KUBERNETES_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    IntCounterVec::new(
        Opts::new(
            "driftless_kubernetes_requests_total",
            "Requests of the controller's Kubernetes clients, by verb, resource (with its subresource) and dry run",
        ),
        &["verb", "resource", "dry_run"],
    )
    .expect("valid metric")
});

/// A client for `config` whose requests are counted.
pub fn counted_client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    let counting = tower::util::MapRequestLayer::new(|request: Request<Body>| {
        let asked = Asked::of(&request);
        KUBERNETES_REQUESTS
            .with_label_values(&[asked.verb, &asked.resource, bool_label(asked.dry_run)])
            .inc();
        request
    });
    Ok(ClientBuilder::try_from(config)?
        .with_layer(&counting)
        .build())
}

fn bool_label(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// What a request asks of the API server, in its own words.
#[derive(Debug, PartialEq, Eq)]
pub struct Asked {
    /// get, list, watch, create, update, patch, apply, delete, deletecollection; `other`.
    pub verb: &'static str,
    /// `deployments`, `applications/status`; `-` for what is no resource (`/version`).
    pub resource: String,
    pub dry_run: bool,
}

impl Asked {
    pub fn of<B>(request: &Request<B>) -> Self {
        let query = request.uri().query().unwrap_or_default();
        let asks = |key: &str, values: &[&str]| {
            query.split('&').any(|pair| {
                pair.split_once('=')
                    .is_some_and(|(k, v)| k == key && values.contains(&v))
            })
        };
        let (resource, named) = resource_of(request.uri().path());
        let applies = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"application/apply-patch"));
        let verb = match *request.method() {
            Method::GET if asks("watch", &["true", "1"]) => "watch",
            Method::GET if named => "get",
            Method::GET => "list",
            Method::POST => "create",
            Method::PUT => "update",
            Method::PATCH if applies => "apply",
            Method::PATCH => "patch",
            Method::DELETE if named => "delete",
            Method::DELETE => "deletecollection",
            _ => "other",
        };
        Self {
            verb,
            resource,
            dry_run: asks("dryRun", &["All"]),
        }
    }
}

/// The resource (with `/subresource`) a path names, and whether it names one object.
fn resource_of(path: &str) -> (String, bool) {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let rest = match parts.first() {
        Some(&"api") => parts.get(2..),
        Some(&"apis") => parts.get(3..),
        _ => None,
    };
    let Some(rest) = rest.filter(|r| !r.is_empty()) else {
        return ("-".to_string(), false);
    };
    // `namespaces/{ns}/{resource}/…` is a namespaced resource; `namespaces[/{name}[/sub]]`
    // is the Namespace itself.
    let rest = match rest {
        ["namespaces", _, resource, tail @ ..]
            if !matches!(*resource, "status" | "finalize") || !tail.is_empty() =>
        {
            &rest[2..]
        }
        _ => rest,
    };
    let resource = match rest {
        [resource, _, sub, ..] => format!("{resource}/{sub}"),
        [resource, ..] => resource.to_string(),
        [] => "-".to_string(),
    };
    (resource, rest.len() >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const APPLY: &str = "application/apply-patch+yaml";
    const MERGE: &str = "application/merge-patch+json";

    #[test]
    fn requests_are_named_as_the_api_server_names_them() {
        // method, URI, content type; verb, resource, dry run
        #[rustfmt::skip]
        let cases = [
            ("GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications?watch=true&resourceVersion=5", "", "watch", "applications", false),
            ("GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications", "", "list", "applications", false),
            ("GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/web", "", "get", "applications", false),
            ("PATCH", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/web/status", MERGE, "patch", "applications/status", false),
            ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=driftless&force=true", APPLY, "apply", "deployments", false),
            ("PATCH", "/api/v1/namespaces/shop/services/web?dryRun=All", APPLY, "apply", "services", true),
            ("POST", "/api/v1/namespaces/argocd/events", "", "create", "events", false),
            ("GET", "/api/v1/namespaces", "", "list", "namespaces", false),
            ("GET", "/api/v1/namespaces/shop", "", "get", "namespaces", false),
            ("PUT", "/api/v1/namespaces/shop/finalize", "", "update", "namespaces/finalize", false),
            ("GET", "/api/v1/nodes", "", "list", "nodes", false),
            ("DELETE", "/api/v1/namespaces/shop/configmaps/settings", "", "delete", "configmaps", false),
            ("DELETE", "/api/v1/namespaces/shop/configmaps?labelSelector=a", "", "deletecollection", "configmaps", false),
            ("GET", "/version", "", "list", "-", false),
            ("GET", "/apis/apps/v1", "", "list", "-", false),
        ];
        for (method, uri, content_type, verb, resource, dry_run) in cases {
            let mut request = Request::builder().method(method).uri(uri);
            if !content_type.is_empty() {
                request = request.header(http::header::CONTENT_TYPE, content_type);
            }
            let expected = Asked {
                verb,
                resource: resource.to_string(),
                dry_run,
            };
            assert_eq!(
                Asked::of(&request.body(()).unwrap()),
                expected,
                "{method} {uri}"
            );
        }
    }
}
