//! Ingress backends name a Service of the tree, in the Ingress's namespace, with that port.

use crate::finding::{Finding, Rule, Severity};
use crate::tree::{Context, Obj};
use serde_json::Value;

pub const BACKEND_MISSING: Rule = Rule {
    id: "ingress-backend-missing",
    severity: Severity::Error,
    description: "every Ingress backend is a Service in the Ingress's namespace that has the named port",
};

/// A backend reference: service name and port (number or name), read from either the
/// `networking.k8s.io/v1` shape or the legacy `extensions/v1beta1` shape.
struct Backend<'a> {
    name_pointer: String,
    port_pointer: String,
    service: &'a str,
    port: Option<&'a Value>,
}

fn backend_at<'a>(value: &'a Value, pointer: String) -> Option<Backend<'a>> {
    if let Some(service) = value.get("service") {
        let name = service.get("name")?.as_str()?;
        let port = service
            .get("port")
            .and_then(|p| p.get("number").or_else(|| p.get("name")));
        let (name_pointer, port_pointer) = (
            format!("{pointer}/service/name"),
            format!("{pointer}/service/port"),
        );
        return Some(Backend {
            name_pointer,
            port_pointer,
            service: name,
            port,
        });
    }
    let name = value.get("serviceName")?.as_str()?;
    let (name_pointer, port_pointer) = (
        format!("{pointer}/serviceName"),
        format!("{pointer}/servicePort"),
    );
    Some(Backend {
        name_pointer,
        port_pointer,
        service: name,
        port: value.get("servicePort"),
    })
}

fn backends<'a>(ingress: &'a Obj) -> Vec<Backend<'a>> {
    let mut out = Vec::new();
    for field in ["defaultBackend", "backend"] {
        if let Some(b) = ingress
            .at(&format!("/spec/{field}"))
            .and_then(|v| backend_at(v, format!("/spec/{field}")))
        {
            out.push(b);
        }
    }
    let rules = ingress
        .at("/spec/rules")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for (i, rule) in rules.iter().enumerate() {
        let paths = rule
            .pointer("/http/paths")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for (j, path) in paths.iter().enumerate() {
            if let Some(b) = path
                .get("backend")
                .and_then(|v| backend_at(v, format!("/spec/rules/{i}/http/paths/{j}/backend")))
            {
                out.push(b);
            }
        }
    }
    out
}

pub(crate) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for group in ["networking.k8s.io", "extensions"] {
        for ingress in ctx.of_kind(group, "Ingress") {
            for backend in backends(ingress) {
                check_backend(ctx, ingress, &backend, out);
            }
        }
    }
}

fn check_backend(ctx: &Context, ingress: &Obj, b: &Backend, out: &mut Vec<Finding>) {
    let Some(service) = ctx.find("", "Service", ingress.ns(), b.service) else {
        out.push(BACKEND_MISSING.finding(ingress.app, &ingress.key, b.name_pointer.clone(), format!(
            "backend Service \"{}\" is not in namespace \"{}\" of the tree; the ingress controller answers 503",
            b.service, ingress.ns()
        )));
        return;
    };
    let ports = service
        .at("/spec/ports")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let (found, wanted) = match b.port {
        Some(Value::Number(n)) => (
            ports
                .iter()
                .any(|p| p.get("port") == Some(&Value::Number(n.clone()))),
            n.to_string(),
        ),
        Some(Value::String(name)) => (
            ports
                .iter()
                .any(|p| p.get("name").and_then(Value::as_str) == Some(name)),
            format!("\"{name}\""),
        ),
        _ => return,
    };
    if !found {
        out.push(BACKEND_MISSING.finding(
            ingress.app,
            &ingress.key,
            b.port_pointer.clone(),
            format!(
                "backend names port {wanted}, but Service {}/{} has no such port",
                service.ns(),
                service.name()
            ),
        ));
    }
}
