//! Istio Gateways: web traffic is served on 443 with TLS, port 80 only redirects to HTTPS,
//! and every `tls.credentialName` is a Secret that something in the tree produces.

use crate::finding::{Finding, Rule, Severity};
use crate::istio::ISTIO_GROUP;
use crate::pointer;
use crate::tree::{Context, Obj};
use serde_json::Value;
use std::collections::HashSet;

pub const GATEWAY_TLS: Rule = Rule {
    id: "gateway-tls",
    severity: Severity::Error,
    description: "an Istio Gateway serving web traffic listens on 443 with TLS, and on 80 (or any plain HTTP port) only with httpsRedirect",
};
pub const CREDENTIAL_MISSING: Rule = Rule {
    id: "gateway-credential-missing",
    severity: Severity::Error,
    description: "a Gateway's tls.credentialName is the secretName of a Certificate (or a Secret) in the gateway's namespace",
};

const PLAIN_HTTP: [&str; 4] = ["HTTP", "HTTP2", "GRPC", "GRPC-WEB"];
const TLS_PROTOCOLS: [&str; 2] = ["HTTPS", "TLS"];
/// Modes in which the gateway itself holds no certificate.
const NO_CERT_MODES: [&str; 3] = ["PASSTHROUGH", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL"];

/// One `spec.servers[]` entry, read once.
struct Server<'a> {
    index: usize,
    port: Option<u64>,
    protocol: String,
    tls: Option<&'a Value>,
}

impl<'a> Server<'a> {
    fn read(index: usize, value: &'a Value) -> Self {
        let port = value.get("port");
        Server {
            index,
            port: port.and_then(|p| p.get("number")).and_then(Value::as_u64),
            protocol: port
                .and_then(|p| p.get("protocol"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_uppercase(),
            tls: value.get("tls").filter(|t| t.is_object()),
        }
    }

    fn tls_str(&self, field: &str) -> Option<&'a str> {
        self.tls?.get(field)?.as_str()
    }

    fn redirects(&self) -> bool {
        self.tls
            .and_then(|t| t.get("httpsRedirect"))
            .and_then(Value::as_bool)
            == Some(true)
    }

    fn is_web(&self) -> bool {
        matches!(self.port, Some(80 | 443))
            || PLAIN_HTTP.contains(&self.protocol.as_str())
            || self.protocol == "HTTPS"
    }

    fn pointer(&self, rest: &str) -> String {
        format!("{}{rest}", pointer::index("/spec/servers", self.index))
    }
}

/// The servers of a Gateway.
fn servers<'a>(gateway: &'a Obj) -> Vec<Server<'a>> {
    let list = gateway
        .at("/spec/servers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    list.iter()
        .enumerate()
        .map(|(i, v)| Server::read(i, v))
        .collect()
}

pub(crate) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    // Secrets produced in the tree: Certificates' secretName, and Secrets themselves.
    let mut produced: HashSet<(&str, &str)> = HashSet::new();
    for cert in ctx.of_kind("cert-manager.io", "Certificate") {
        if let Some(secret) = cert.at("/spec/secretName").and_then(Value::as_str) {
            produced.insert((cert.ns(), secret));
        }
    }
    for secret in ctx.of_kind("", "Secret") {
        produced.insert((secret.ns(), secret.name()));
    }
    for gateway in ctx.of_kind(ISTIO_GROUP, "Gateway") {
        let servers = servers(gateway);
        check_tls(gateway, &servers, out);
        check_credentials(gateway, &servers, &produced, out);
    }
}

fn check_tls(gw: &Obj, servers: &[Server], out: &mut Vec<Finding>) {
    let serves_web = servers.iter().any(Server::is_web);
    let listens_on_443 = servers.iter().any(|s| s.port == Some(443));
    for s in servers {
        let port = s.port.map(|p| p.to_string()).unwrap_or_else(|| "?".into());
        if s.port == Some(443) {
            if !TLS_PROTOCOLS.contains(&s.protocol.as_str()) {
                out.push(GATEWAY_TLS.finding(
                    gw.app,
                    &gw.key,
                    s.pointer("/port/protocol"),
                    format!(
                        "servers[{}] listens on 443 with protocol {}; use HTTPS with tls settings",
                        s.index,
                        display(&s.protocol)
                    ),
                ));
            } else if s.tls.is_none() {
                out.push(GATEWAY_TLS.finding(
                    gw.app,
                    &gw.key,
                    s.pointer("/tls"),
                    format!(
                        "servers[{}] listens on 443 as {} but has no tls settings",
                        s.index, s.protocol
                    ),
                ));
            } else {
                let mode = s.tls_str("mode").unwrap_or("");
                let has_cert = ["credentialName", "serverCertificate"]
                    .iter()
                    .any(|f| s.tls_str(f).is_some_and(|v| !v.is_empty()))
                    || s.tls
                        .and_then(|t| t.get("credentialNames"))
                        .and_then(Value::as_array)
                        .is_some_and(|a| !a.is_empty());
                if matches!(mode, "SIMPLE" | "MUTUAL" | "OPTIONAL_MUTUAL") && !has_cert {
                    out.push(GATEWAY_TLS.finding(gw.app, &gw.key, s.pointer("/tls/credentialName"), format!("servers[{}] terminates TLS ({mode}) on 443 but names no certificate (credentialName)", s.index)));
                }
            }
        } else if (s.port == Some(80) || PLAIN_HTTP.contains(&s.protocol.as_str()))
            && !s.redirects()
        {
            out.push(GATEWAY_TLS.finding(gw.app, &gw.key, s.pointer("/tls/httpsRedirect"), format!("servers[{}] serves plain {} on port {port}; set tls.httpsRedirect: true so it only redirects to HTTPS", s.index, display(&s.protocol))));
        }
    }
    // A 443 server without TLS is reported above, on that server.
    if serves_web && !listens_on_443 {
        out.push(GATEWAY_TLS.finding(gw.app, &gw.key, "/spec/servers", "gateway serves web traffic but does not listen on port 443; add an HTTPS server on 443 with tls settings"));
    }
}

fn check_credentials(
    gw: &Obj,
    servers: &[Server],
    produced: &HashSet<(&str, &str)>,
    out: &mut Vec<Finding>,
) {
    for s in servers {
        let Some(name) = s.tls_str("credentialName").filter(|n| !n.is_empty()) else {
            continue;
        };
        if NO_CERT_MODES.contains(&s.tls_str("mode").unwrap_or(""))
            || produced.contains(&(gw.ns(), name))
        {
            continue;
        }
        out.push(CREDENTIAL_MISSING.finding(gw.app, &gw.key, s.pointer("/tls/credentialName"), format!(
            "servers[{}] uses credentialName \"{name}\", but no Certificate in namespace \"{}\" has secretName \"{name}\" and no such Secret is in the tree; the gateway would serve no certificate",
            s.index, gw.ns()
        )));
    }
}

fn display(protocol: &str) -> &str {
    if protocol.is_empty() {
        "(none)"
    } else {
        protocol
    }
}
