//! Which destination a request reaches, and why, following Istio: the VirtualService with the
//! most specific matching host (exact, then the longest wildcard, then `*`), its `http`
//! routes in order, the first whose `match` accepts the request (no `match` takes all).

use crate::http_match::HttpMatch;
use crate::istio::{ISTIO_GROUP, MESH, Target, host_specificity, qualify_host, resolve};
use crate::rules::shadowed_match::http_matches;
use crate::tree::{Context, Obj, Tree};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A request as `driftless route` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    /// Host header; a `:port` suffix is ignored.
    pub host: String,
    /// Path, optionally with `?query`.
    pub path: String,
    pub method: String,
    /// Header names are compared lower-cased.
    pub headers: BTreeMap<String, String>,
}

impl Request {
    /// A GET without headers.
    pub fn new(host: &str, path: &str) -> Self {
        Self {
            host: host.to_string(),
            path: path.to_string(),
            method: "GET".to_string(),
            headers: BTreeMap::new(),
        }
    }
}

/// One destination of the chosen route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteDestination {
    pub host: String,
    pub port: Option<u64>,
    pub subset: Option<String>,
    /// Share of requests, in percent as written (100 for a lone destination without weight).
    pub weight: u64,
    /// The Service or ServiceEntry it resolves to (`group/Kind/namespace/name`), if any.
    pub resolves_to: Option<String>,
}

/// What happens to the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RouteAction {
    Forward {
        destinations: Vec<RouteDestination>,
    },
    Redirect {
        uri: Option<String>,
        authority: Option<String>,
        status: u64,
    },
    DirectResponse {
        status: u64,
    },
    /// Routing continues in another VirtualService (`namespace/name`), not followed here.
    Delegate {
        virtual_service: String,
    },
    /// No VirtualService or no route takes the request (Istio answers 404).
    NoRoute,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteResult {
    /// The VirtualService whose route was taken (`group/Kind/namespace/name`).
    pub virtual_service: Option<String>,
    pub app: Option<String>,
    /// Index in that VirtualService's `spec.http`.
    pub http_index: Option<usize>,
    /// Index in that route's `match` list; `None` when the route has no match list.
    pub match_index: Option<usize>,
    pub action: RouteAction,
    /// How the decision was reached, one step per line.
    pub explanation: Vec<String>,
}

/// Resolves a GET of `path` on `host` against the VirtualServices of the tree.
pub fn route(tree: &Tree, host: &str, path: &str) -> RouteResult {
    route_request(tree, &Request::new(host, path))
}

pub fn route_request(tree: &Tree, request: &Request) -> RouteResult {
    let ctx = Context::new(tree);
    let host = request
        .host
        .rsplit_once(':')
        .filter(|(_, p)| p.parse::<u16>().is_ok())
        .map_or(request.host.as_str(), |(h, _)| h);
    let mut explanation = Vec::new();
    let mut result = RouteResult {
        virtual_service: None,
        app: None,
        http_index: None,
        match_index: None,
        action: RouteAction::NoRoute,
        explanation: Vec::new(),
    };

    let chosen = choose_virtual_services(&ctx, host, &mut explanation);
    let Some(first) = chosen.first() else {
        explanation.push(format!(
            "no VirtualService declares a host matching \"{host}\": Istio answers 404"
        ));
        result.explanation = explanation;
        return result;
    };
    // A VirtualService bound to gateways is reached through them; one bound to none, from the mesh.
    let from_gateway = crate::istio::gateways_of(first.at("/spec/gateways"), first.ns())
        .iter()
        .any(|g| g != MESH);
    explanation.push(if from_gateway {
        "the request is taken to arrive through the VirtualService's gateways".into()
    } else {
        "the request is taken to come from inside the mesh".into()
    });

    // A request path always starts with "/"; accept "api/x" as "/api/x".
    let full_path = if request.path.starts_with('/') {
        request.path.clone()
    } else {
        format!("/{}", request.path)
    };
    let (path, query) = full_path.split_once('?').unwrap_or((&full_path, ""));
    for vs in &chosen {
        for (i, matches) in http_matches(vs).iter().enumerate() {
            let route = vs.at(&format!("/spec/http/{i}")).unwrap_or(&Value::Null);
            let has_list = route
                .get("match")
                .and_then(Value::as_array)
                .is_some_and(|m| !m.is_empty());
            for (k, m) in matches.iter().enumerate() {
                let label = if has_list {
                    format!(
                        "{}/{} http[{i}].match[{k}] ({})",
                        vs.ns(),
                        vs.name(),
                        m.describe()
                    )
                } else {
                    format!("{}/{} http[{i}] (no match)", vs.ns(), vs.name())
                };
                match accepts(m, request, path, query, host, from_gateway) {
                    Err(why) => explanation.push(format!("{label}: not taken, {why}")),
                    Ok(()) => {
                        explanation.push(format!("{label}: taken"));
                        result.virtual_service = Some(vs.key.to_string());
                        result.app = Some(vs.app.to_string());
                        result.http_index = Some(i);
                        result.match_index = has_list.then_some(k);
                        result.action = action(&ctx, vs, route, &mut explanation);
                        result.explanation = explanation;
                        return result;
                    }
                }
            }
        }
    }
    explanation.push("no route matches: Istio answers 404".into());
    result.explanation = explanation;
    result
}

/// The VirtualServices declaring the most specific host that matches, in tree order.
fn choose_virtual_services<'t, 'a>(
    ctx: &'t Context<'a>,
    host: &str,
    explanation: &mut Vec<String>,
) -> Vec<&'t Obj<'a>> {
    let mut best: Option<usize> = None;
    let mut chosen: Vec<(&Obj, String)> = Vec::new();
    for vs in ctx.of_kind(ISTIO_GROUP, "VirtualService") {
        let hosts = vs
            .at("/spec/hosts")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let Some((score, pattern)) = hosts
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|h| {
                let q = qualify_host(h, vs.ns());
                host_specificity(&q, host).map(|s| (s, q))
            })
            .max_by_key(|(s, _)| *s)
        else {
            continue;
        };
        if best.is_none_or(|b| score > b) {
            best = Some(score);
            chosen.clear();
        }
        if best == Some(score) {
            chosen.push((vs, pattern));
        }
    }
    for (vs, pattern) in &chosen {
        explanation.push(format!(
            "host \"{host}\" matches \"{pattern}\" of VirtualService {}/{} (app {})",
            vs.ns(),
            vs.name(),
            vs.app
        ));
    }
    if chosen.len() > 1 {
        explanation.push(format!("{} VirtualServices declare this host equally specifically; Istio merges their routes in creation order, tried here in tree order", chosen.len()));
    }
    chosen.into_iter().map(|(vs, _)| vs).collect()
}

/// Whether the match accepts the request, or why not.
fn accepts(
    m: &HttpMatch,
    req: &Request,
    path: &str,
    query: &str,
    host: &str,
    from_gateway: bool,
) -> Result<(), String> {
    if !m.unreadable.is_empty() {
        return Err(format!(
            "it has conditions this check does not evaluate ({})",
            m.unreadable.join(", ")
        ));
    }
    let applies = if from_gateway {
        m.gateways.iter().any(|g| g != MESH)
    } else {
        m.gateways.iter().any(|g| g == MESH)
    };
    if !applies {
        return Err(format!("it applies only to {}", m.gateways.join(", ")));
    }
    if let Some(uri) = &m.uri
        && !uri.matches(path, m.ignore_uri_case)
    {
        return Err(format!(
            "path \"{path}\" does not match uri {}",
            uri.describe()
        ));
    }
    if let Some(method) = &m.method
        && !method.matches(&req.method, false)
    {
        return Err(format!(
            "method {} does not match {}",
            req.method,
            method.describe()
        ));
    }
    if let Some(authority) = &m.authority
        && !authority.matches(host, false)
    {
        return Err(format!(
            "host \"{host}\" does not match authority {}",
            authority.describe()
        ));
    }
    let headers: BTreeMap<String, &str> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .collect();
    for (name, cond) in &m.headers {
        match headers.get(name) {
            Some(value) if cond.matches(value, false) => {}
            Some(_) => return Err(format!("header {name} does not match {}", cond.describe())),
            None => return Err(format!("the request has no header {name}")),
        }
    }
    for (name, cond) in &m.without_headers {
        if headers.get(name).is_some_and(|v| cond.matches(v, false)) {
            return Err(format!(
                "header {name} matches {}, which the route excludes",
                cond.describe()
            ));
        }
    }
    let params: BTreeMap<&str, &str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    for (name, cond) in &m.query_params {
        if !params
            .get(name.as_str())
            .is_some_and(|v| cond.matches(v, false))
        {
            return Err(format!(
                "query parameter {name} does not match {}",
                cond.describe()
            ));
        }
    }
    if m.scheme.is_some()
        || m.port.is_some()
        || !m.source_labels.is_empty()
        || m.source_namespace.is_some()
    {
        return Err("it needs a scheme, port or source that a request given by host and path does not specify".into());
    }
    Ok(())
}

/// What the taken route does with the request, explained.
fn action(ctx: &Context, vs: &Obj, route: &Value, explanation: &mut Vec<String>) -> RouteAction {
    if let Some(redirect) = route.get("redirect") {
        let text = |f: &str| redirect.get(f).and_then(Value::as_str).map(String::from);
        let status = redirect
            .get("redirectCode")
            .and_then(Value::as_u64)
            .unwrap_or(301);
        explanation.push(format!("the route redirects ({status})"));
        return RouteAction::Redirect {
            uri: text("uri"),
            authority: text("authority"),
            status,
        };
    }
    if let Some(direct) = route.get("directResponse") {
        let status = direct.get("status").and_then(Value::as_u64).unwrap_or(200);
        explanation.push(format!("the route answers directly with status {status}"));
        return RouteAction::DirectResponse { status };
    }
    if let Some(delegate) = route.get("delegate") {
        let name = delegate.get("name").and_then(Value::as_str).unwrap_or("");
        let namespace = delegate
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or(vs.ns());
        explanation.push(format!(
            "the route delegates to VirtualService {namespace}/{name} (not followed)"
        ));
        return RouteAction::Delegate {
            virtual_service: format!("{namespace}/{name}"),
        };
    }
    let weighted = route
        .get("route")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut destinations = Vec::new();
    for w in weighted {
        let Some(dest) = w.get("destination") else {
            continue;
        };
        let host = dest
            .get("host")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let port = dest.pointer("/port/number").and_then(Value::as_u64);
        let subset = dest.get("subset").and_then(Value::as_str).map(String::from);
        let weight = w
            .get("weight")
            .and_then(Value::as_u64)
            .unwrap_or(if weighted.len() == 1 { 100 } else { 0 });
        let (resolves_to, how) = match resolve(ctx, &host, vs.ns()) {
            Target::Service(svc, _) => (
                Some(svc.key.to_string()),
                format!("Service {}/{}", svc.ns(), svc.name()),
            ),
            Target::ServiceEntry(entry, _) => (
                Some(entry.key.to_string()),
                format!("ServiceEntry {}/{}", entry.ns(), entry.name()),
            ),
            Target::Unexpanded(svc) => (
                None,
                format!(
                    "nothing: Istio does not expand it (meant {}.{}.svc.cluster.local?)",
                    svc.name(),
                    svc.ns()
                ),
            ),
            Target::Missing => (
                None,
                "nothing in the tree: Istio drops this traffic".to_string(),
            ),
        };
        let port_text = port.map(|p| format!(" port {p}")).unwrap_or_default();
        let subset_text = subset
            .as_ref()
            .map(|s| format!(" subset {s}"))
            .unwrap_or_default();
        explanation.push(format!(
            "{weight}% to {host}{port_text}{subset_text} → {how}"
        ));
        destinations.push(RouteDestination {
            host,
            port,
            subset,
            weight,
            resolves_to,
        });
    }
    if destinations.is_empty() {
        explanation.push("the route has no destination".into());
    }
    RouteAction::Forward { destinations }
}
