//! Istio's naming rules, shared by the VirtualService rules and the route resolver:
//! gateway references, host names and how a destination host finds its Service.

use crate::tree::{Context, Obj};
use serde_json::Value;

pub(crate) const ISTIO_GROUP: &str = "networking.istio.io";
pub(crate) const MESH: &str = "mesh";
const CLUSTER_SUFFIX: &str = ".svc.cluster.local";

/// A gateway reference as Istio resolves it: `mesh` stays `mesh`; `name` and `./name` mean
/// the VirtualService's namespace; `ns/name` is explicit; the legacy `name.ns[.svc…]` form
/// becomes `ns/name`. Returned as `ns/name`.
pub(crate) fn gateway_ref(reference: &str, vs_namespace: &str) -> String {
    if reference == MESH {
        return MESH.to_string();
    }
    match reference.split_once('/') {
        Some((".", name)) => format!("{vs_namespace}/{name}"),
        Some(_) => reference.to_string(),
        None => match reference.split_once('.') {
            None => format!("{vs_namespace}/{reference}"),
            Some((name, rest)) => {
                let namespace = rest.split('.').next().unwrap_or(rest);
                format!("{namespace}/{name}")
            }
        },
    }
}

/// The gateways a VirtualService (or one of its matches) binds to, resolved; `mesh` when
/// the list is absent or empty.
pub(crate) fn gateways_of(list: Option<&Value>, vs_namespace: &str) -> Vec<String> {
    let refs: Vec<String> = list
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|r| gateway_ref(r, vs_namespace))
                .collect()
        })
        .unwrap_or_default();
    if refs.is_empty() {
        vec![MESH.to_string()]
    } else {
        refs
    }
}

/// A VirtualService host as Istio reads it: a short name (no dot) is a Service in the
/// VirtualService's namespace; anything else is taken as written. Lower-cased.
pub(crate) fn qualify_host(host: &str, namespace: &str) -> String {
    let host = host.to_ascii_lowercase();
    if host == "*" || host.contains('.') || host.parse::<std::net::IpAddr>().is_ok() {
        host
    } else {
        format!("{host}.{namespace}{CLUSTER_SUFFIX}")
    }
}

/// How specifically `pattern` (a qualified VirtualService host) matches a request host:
/// exact beats any wildcard, a longer wildcard suffix beats a shorter one, `*` comes last.
/// In-cluster aliases (`svc.ns`, `svc.ns.svc`) match `svc.ns.svc.cluster.local` exactly.
pub(crate) fn host_specificity(pattern: &str, request_host: &str) -> Option<usize> {
    let host = request_host.to_ascii_lowercase();
    let exact = usize::MAX;
    if pattern == host {
        return Some(exact);
    }
    if let Some(service) = pattern.strip_suffix(CLUSTER_SUFFIX)
        && (host == service || host == format!("{service}.svc"))
    {
        return Some(exact);
    }
    if pattern == "*" {
        return Some(0);
    }
    let suffix = pattern.strip_prefix('*')?;
    (host.ends_with(suffix) && host.len() > suffix.len()).then_some(suffix.len())
}

/// What a destination host refers to.
pub(crate) enum Target<'t, 'a> {
    /// A Service in the tree, with its `spec.ports[].port` numbers.
    Service(&'t Obj<'a>, Vec<u64>),
    /// A host declared by a ServiceEntry in the tree, with its `spec.ports[].number`.
    ServiceEntry(&'t Obj<'a>, Vec<u64>),
    /// `svc.ns` or `svc.ns.svc` naming a Service that exists: Istio does not expand these,
    /// so traffic to them is dropped.
    Unexpanded(&'t Obj<'a>),
    Missing,
}

/// Resolves a destination host written in a VirtualService of namespace `vs_namespace`.
pub(crate) fn resolve<'t, 'a>(
    ctx: &'t Context<'a>,
    host: &str,
    vs_namespace: &str,
) -> Target<'t, 'a> {
    let fqdn = qualify_host(host, vs_namespace);
    if let Some(service) = fqdn
        .strip_suffix(CLUSTER_SUFFIX)
        .and_then(|s| s.split_once('.'))
        && let Some(obj) = ctx.find("", "Service", service.1, service.0)
    {
        return Target::Service(obj, numbers(obj.at("/spec/ports"), "port"));
    }
    for entry in ctx.of_kind(ISTIO_GROUP, "ServiceEntry") {
        let hosts = entry
            .at("/spec/hosts")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let declared = hosts.iter().filter_map(Value::as_str).any(|h| {
            let h = h.to_ascii_lowercase();
            h == fqdn
                || h.strip_prefix('*')
                    .is_some_and(|suffix| fqdn.ends_with(suffix))
        });
        if declared {
            return Target::ServiceEntry(entry, numbers(entry.at("/spec/ports"), "number"));
        }
    }
    let alias = fqdn.strip_suffix(".svc").unwrap_or(&fqdn);
    if let Some((name, namespace)) = alias.split_once('.')
        && !namespace.contains('.')
        && let Some(obj) = ctx.find("", "Service", namespace, name)
    {
        return Target::Unexpanded(obj);
    }
    Target::Missing
}

/// The numbers in `field` of each entry of a ports list.
fn numbers(ports: Option<&Value>, field: &str) -> Vec<u64> {
    let list = ports
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    list.iter()
        .filter_map(|p| p.get(field).and_then(Value::as_u64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_references_resolve_like_istio() {
        assert_eq!(gateway_ref("mesh", "shop"), "mesh");
        assert_eq!(gateway_ref("public", "shop"), "shop/public");
        assert_eq!(gateway_ref("./public", "shop"), "shop/public");
        assert_eq!(
            gateway_ref("istio-system/public", "shop"),
            "istio-system/public"
        );
        assert_eq!(
            gateway_ref("public.istio-system.svc.cluster.local", "shop"),
            "istio-system/public"
        );
    }

    #[test]
    fn host_specificity_orders_exact_wildcard_and_catch_all() {
        let exact = host_specificity("api.example.com", "API.example.com");
        let long = host_specificity("*.api.example.com", "v1.api.example.com");
        let short = host_specificity("*.example.com", "v1.api.example.com");
        let all = host_specificity("*", "v1.api.example.com");
        assert!(exact > long && long > short && short > all && all.is_some());
        assert_eq!(host_specificity("*.example.com", "example.com"), None);
        assert!(host_specificity("web.shop.svc.cluster.local", "web.shop").is_some());
        assert_eq!(host_specificity("web.shop.svc.cluster.local", "web"), None);
    }

    #[test]
    fn short_hosts_are_qualified_with_the_rule_namespace() {
        assert_eq!(
            qualify_host("Reviews", "shop"),
            "reviews.shop.svc.cluster.local"
        );
        assert_eq!(qualify_host("reviews.other", "shop"), "reviews.other");
        assert_eq!(qualify_host("*", "shop"), "*");
    }
}
