//! VirtualService references: its gateways exist, no other VirtualService claims the same
//! host on the same gateway, and every destination is a Service (or ServiceEntry) of the
//! tree with the port named.

use crate::finding::{Finding, Rule, Severity};
use crate::istio::{ISTIO_GROUP, MESH, Target, gateway_ref, gateways_of, qualify_host, resolve};
use crate::pointer;
use crate::tree::{Context, Obj};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub const GATEWAY_MISSING: Rule = Rule {
    id: "virtualservice-gateway-missing",
    severity: Severity::Error,
    description: "every gateway a VirtualService binds to (other than mesh) is an Istio Gateway in the tree",
};
pub const HOST_COLLISION: Rule = Rule {
    id: "virtualservice-host-collision",
    severity: Severity::Warning,
    description: "no two VirtualServices declare the same host on the same gateway (or both on the mesh)",
};
pub const DESTINATION_MISSING: Rule = Rule {
    id: "virtualservice-destination-missing",
    severity: Severity::Error,
    description: "every destination host is a Service in the tree (short name or <svc>.<ns>.svc.cluster.local) or a ServiceEntry host",
};
pub const DESTINATION_PORT: Rule = Rule {
    id: "virtualservice-destination-port",
    severity: Severity::Error,
    description: "a destination port is one of the Service's ports, and is given when a gateway routes to a Service with several ports",
};

pub(crate) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let services: Vec<&Obj> = ctx.of_kind(ISTIO_GROUP, "VirtualService").collect();
    for vs in &services {
        check_gateways(ctx, vs, out);
        check_destinations(ctx, vs, out);
    }
    check_collisions(&services, out);
}

fn check_gateways(ctx: &Context, vs: &Obj, out: &mut Vec<Finding>) {
    let mut refs: Vec<(String, &str)> = Vec::new();
    collect_strings(vs.at("/spec/gateways"), "/spec/gateways", &mut refs);
    for section in ["http", "tls", "tcp"] {
        for (i, route) in array(vs.at(&format!("/spec/{section}"))).iter().enumerate() {
            for (k, m) in array(route.get("match")).iter().enumerate() {
                collect_strings(
                    m.get("gateways"),
                    &format!("/spec/{section}/{i}/match/{k}/gateways"),
                    &mut refs,
                );
            }
        }
    }
    for (path, reference) in refs {
        let resolved = gateway_ref(reference, vs.ns());
        let Some((namespace, name)) = resolved.split_once('/') else {
            continue;
        };
        if ctx.find(ISTIO_GROUP, "Gateway", namespace, name).is_none() {
            out.push(GATEWAY_MISSING.finding(vs.app, &vs.key, path, format!("gateway \"{reference}\" (Gateway {namespace}/{name}) is not in the tree; no traffic reaches this VirtualService through it")));
        }
    }
}

/// Pushes `(pointer, text)` for each string of a list, `mesh` left out.
fn collect_strings<'v>(list: Option<&'v Value>, base: &str, out: &mut Vec<(String, &'v str)>) {
    for (i, v) in array(list).iter().enumerate() {
        if let Some(text) = v.as_str().filter(|t| *t != MESH) {
            out.push((pointer::index(base, i), text));
        }
    }
}

fn array(value: Option<&Value>) -> &[Value] {
    value
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Every destination of a VirtualService with its pointer: routes of http, tls and tcp,
/// and http mirrors.
fn destinations<'v>(vs: &'v Obj) -> Vec<(String, &'v Value)> {
    let mut out = Vec::new();
    for section in ["http", "tls", "tcp"] {
        for (i, route) in array(vs.at(&format!("/spec/{section}"))).iter().enumerate() {
            let base = format!("/spec/{section}/{i}");
            for (j, weighted) in array(route.get("route")).iter().enumerate() {
                if let Some(d) = weighted.get("destination") {
                    out.push((format!("{base}/route/{j}/destination"), d));
                }
            }
            if let Some(d) = route.get("mirror") {
                out.push((format!("{base}/mirror"), d));
            }
            for (k, mirror) in array(route.get("mirrors")).iter().enumerate() {
                if let Some(d) = mirror.get("destination") {
                    out.push((format!("{base}/mirrors/{k}/destination"), d));
                }
            }
        }
    }
    out
}

fn check_destinations(ctx: &Context, vs: &Obj, out: &mut Vec<Finding>) {
    let listener_ports = gateway_listener_ports(ctx, vs);
    for (path, dest) in destinations(vs) {
        let Some(host) = dest.get("host").and_then(Value::as_str) else {
            continue;
        };
        let port = dest.pointer("/port/number").and_then(Value::as_u64);
        let (owner, ports) = match resolve(ctx, host, vs.ns()) {
            Target::Service(svc, ports) => (format!("Service {}/{}", svc.ns(), svc.name()), ports),
            Target::ServiceEntry(entry, ports) => (
                format!("ServiceEntry {}/{}", entry.ns(), entry.name()),
                ports,
            ),
            Target::Unexpanded(svc) => {
                out.push(DESTINATION_MISSING.finding(vs.app, &vs.key, pointer::key(&path, "host"), format!(
                    "destination host \"{host}\" is not expanded by Istio (only names without a dot are); traffic to it is dropped; write {}.{}.svc.cluster.local",
                    svc.name(), svc.ns()
                )));
                continue;
            }
            Target::Missing => {
                let fqdn = qualify_host(host, vs.ns());
                out.push(DESTINATION_MISSING.finding(vs.app, &vs.key, pointer::key(&path, "host"), format!(
                    "destination host \"{host}\" ({fqdn}) is neither a Service in the tree nor a ServiceEntry host; Istio drops this traffic"
                )));
                continue;
            }
        };
        let list = ports
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match port {
            Some(p) if !ports.is_empty() && !ports.contains(&p) => {
                out.push(DESTINATION_PORT.finding(
                    vs.app,
                    &vs.key,
                    format!("{path}/port/number"),
                    format!("destination \"{host}\" names port {p}, but {owner} has ports {list}"),
                ));
            }
            None if ports.len() > 1
                && !listener_ports.is_empty()
                && !listener_ports.iter().all(|p| ports.contains(p)) =>
            {
                let listeners = listener_ports
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                out.push(DESTINATION_PORT.finding(vs.app, &vs.key, format!("{path}/port"), format!(
                    "destination \"{host}\" names no port and {owner} has ports {list}; through the gateway Istio then uses the listener port ({listeners}); set port.number"
                )));
            }
            _ => {}
        }
    }
}

/// Ports on which the VirtualService's (non-mesh) gateways found in the tree forward traffic.
fn gateway_listener_ports(ctx: &Context, vs: &Obj) -> BTreeSet<u64> {
    let mut ports = BTreeSet::new();
    for reference in gateways_of(vs.at("/spec/gateways"), vs.ns()) {
        let Some((namespace, name)) = reference.split_once('/') else {
            continue;
        };
        let Some(gateway) = ctx.find(ISTIO_GROUP, "Gateway", namespace, name) else {
            continue;
        };
        for server in array(gateway.at("/spec/servers")) {
            let redirects = server
                .pointer("/tls/httpsRedirect")
                .and_then(Value::as_bool)
                == Some(true);
            if let Some(port) = server
                .pointer("/port/number")
                .and_then(Value::as_u64)
                .filter(|_| !redirects)
            {
                ports.insert(port);
            }
        }
    }
    ports
}

/// A host entry of one VirtualService that others declare too.
#[derive(Default)]
struct Clash {
    host: String,
    /// The other VirtualServices, as `namespace/name`.
    others: BTreeSet<String>,
    /// The gateways (or `mesh`) on which they collide.
    gateways: BTreeSet<String>,
}

fn check_collisions(services: &[&Obj], out: &mut Vec<Finding>) {
    // (qualified host, gateway) -> VirtualServices declaring it, with the host's index.
    let mut claims: BTreeMap<(String, String), Vec<(usize, usize)>> = BTreeMap::new();
    for (v, vs) in services.iter().enumerate() {
        let gateways = gateways_of(vs.at("/spec/gateways"), vs.ns());
        for (h, host) in array(vs.at("/spec/hosts")).iter().enumerate() {
            let Some(host) = host.as_str() else { continue };
            for gateway in &gateways {
                claims
                    .entry((qualify_host(host, vs.ns()), gateway.clone()))
                    .or_default()
                    .push((v, h));
            }
        }
    }
    // One finding per (VirtualService, host entry), naming every other claimant.
    let mut clashes: BTreeMap<(usize, usize), Clash> = BTreeMap::new();
    for ((host, gateway), claimants) in &claims {
        for &(v, h) in claimants {
            let others: BTreeSet<String> = claimants
                .iter()
                .filter(|(o, _)| *o != v)
                .filter_map(|(o, _)| services.get(*o))
                .map(|o| format!("{}/{}", o.ns(), o.name()))
                .collect();
            if others.is_empty() {
                continue;
            }
            let clash = clashes.entry((v, h)).or_insert_with(|| Clash {
                host: host.clone(),
                ..Clash::default()
            });
            clash.others.extend(others);
            clash.gateways.insert(gateway.clone());
        }
    }
    for (
        (v, h),
        Clash {
            host,
            others,
            gateways,
        },
    ) in clashes
    {
        let Some(vs) = services.get(v) else { continue };
        let others: Vec<String> = others.into_iter().collect();
        let gateways: Vec<String> = gateways.into_iter().collect();
        let consequence = if gateways.iter().any(|g| g == MESH) {
            "on the mesh only one of them takes effect"
        } else {
            "Istio merges them in creation order, so which route wins is not decided by the repository"
        };
        out.push(HOST_COLLISION.finding(
            vs.app,
            &vs.key,
            pointer::index("/spec/hosts", h),
            format!(
                "host \"{host}\" is also declared by VirtualService {} on {}; {consequence}",
                others.join(", "),
                gateways.join(", ")
            ),
        ));
    }
}
