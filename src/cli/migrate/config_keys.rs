//! Verdicts for the keys of argocd-cm, argocd-rbac-cm, argocd-cmd-params-cm and argocd-secret.
//! Every key present gets a finding: a key no part of driftless reads is `Ignored`, named.

use super::finding::{Finding, Verdict};
use Verdict::{Differently, Honoured, Ignored};
use std::collections::BTreeMap;

const CM: &str = "argocd-cm";
const RBAC: &str = "argocd-rbac-cm";
const PARAMS: &str = "argocd-cmd-params-cm";
const SECRET: &str = "argocd-secret";

/// One finding per key of argocd-cm.
pub fn argocd_cm(data: &BTreeMap<String, String>) -> Vec<Finding> {
    data.iter()
        .map(|(key, value)| {
            let (verdict, note) = argocd_cm_key(key, value);
            Finding::new(CM, key, verdict, note)
        })
        .collect()
}

fn argocd_cm_key(key: &str, value: &str) -> (Verdict, String) {
    let said = |v: Verdict, note: &str| (v, note.to_string());
    if key.starts_with("resource.customizations.health.") {
        return said(
            Honoured,
            "Lua health check, run sandboxed with an instruction budget",
        );
    }
    if key.starts_with("resource.customizations.ignoreDifferences.") {
        return said(
            Honoured,
            "system-wide ignoreDifferences (jsonPointers, jqPathExpressions, managedFieldsManagers)",
        );
    }
    if key.starts_with("resource.customizations.useOpenLibs.") {
        return said(
            Differently,
            "every Lua script gets the same sandboxed libraries; open libraries are never given",
        );
    }
    if key.starts_with("resource.customizations.actions.") {
        return said(Ignored, "resource actions are not supported");
    }
    if key.starts_with("resource.customizations.knownTypeFields.") {
        return said(
            Ignored,
            "known type fields are not read; diffs compare the fields as they are",
        );
    }
    if key.starts_with("resource.customizations.ignoreResourceUpdates.") {
        return said(Ignored, "not read: every watched change is compared");
    }
    if key.starts_with("accounts.") {
        return said(Honoured, "local account (apiKey, login; enabled)");
    }
    if key.starts_with("ui.") || key.starts_with("help.") || key.starts_with("ga.") {
        return said(Ignored, "web UI setting: driftless has no web UI yet");
    }
    if key.starts_with("kustomize.") {
        return said(
            Ignored,
            "kustomize runs with its defaults: build options and other kustomize versions are not read",
        );
    }
    match key {
        "resource.customizations" => said(
            Differently,
            "the health and ignoreDifferences parts are read; actions and knownTypeFields are not",
        ),
        "installationID" => said(
            Honoured,
            "stamped on applied objects; objects of other installations are left alone (or pass --installation-id)",
        ),
        "application.resourceTrackingMethod" => (Differently, tracking_note(value)),
        "application.instanceLabelKey" if value.trim() == "app.kubernetes.io/instance" => {
            said(Honoured, "the default label, which driftless uses")
        }
        "application.instanceLabelKey" => said(
            Ignored,
            "driftless always uses app.kubernetes.io/instance for label tracking",
        ),
        "url" => said(Honoured, "the address of the single sign-on callback"),
        "oidc.config" => said(
            Honoured,
            "single sign-on through the OIDC provider, read as Argo CD reads it",
        ),
        "dex.config" => said(
            Ignored,
            "there is no bundled Dex: run Dex yourself and point oidc.config at it",
        ),
        "admin.enabled" => said(Honoured, "turns the admin account on or off"),
        "users.session.duration" => said(Differently, "not read: a session always lasts 24h"),
        "users.anonymous.enabled" => said(Ignored, "not read: every request needs a token"),
        "timeout.reconciliation" => said(
            Differently,
            "not read: pass driftless serve --resync (default 180s)",
        ),
        "timeout.hard.reconciliation" => said(Ignored, "not read"),
        "exec.enabled" | "exec.shells" => said(Ignored, "no terminal into pods"),
        "statusbadge.enabled" | "statusbadge.url" => said(Ignored, "no status badge"),
        "globalProjects" => said(Ignored, "global projects are not supported"),
        "repositories" | "repository.credentials" => said(
            Ignored,
            "repositories in argocd-cm are not read: use repository Secrets",
        ),
        "resource.exclusions" | "resource.inclusions" => {
            said(Ignored, "not read: every kind is watched")
        }
        "resource.compareoptions" => said(Ignored, "not read"),
        "resource.respectRBAC" => said(Ignored, "not read"),
        "application.sync.impersonation.enabled" => said(
            Differently,
            "not read: pass driftless serve --sync-impersonation to require a destinationServiceAccounts entry for every sync; without it entries present are still honoured",
        ),
        "helm.valuesFileSchemes" => said(
            Differently,
            "not read: value files with a scheme only a helm plugin reads are refused",
        ),
        "server.rbac.log.enforce.enable" => said(Ignored, "not read"),
        "admin.passwordPattern" | "passwordPattern" => {
            said(Ignored, "not read: passwords are set in argocd-secret")
        }
        _ => said(Ignored, "nothing in driftless reads this key"),
    }
}

fn tracking_note(value: &str) -> String {
    let method = value.trim();
    match method {
        "annotation" => "not read from argocd-cm: annotation is driftless's default; keep it".to_string(),
        "label" | "annotation+label" => format!(
            "not read from argocd-cm: start driftless serve --tracking {method} so objects stay owned"
        ),
        _ => "not read from argocd-cm, and this value is not a tracking method driftless knows (annotation, label, annotation+label)".to_string(),
    }
}

/// One finding per key of argocd-rbac-cm.
pub fn rbac_cm(data: &BTreeMap<String, String>) -> Vec<Finding> {
    data.keys()
        .map(|key| {
            let (verdict, note) = match key.as_str() {
                "policy.csv" => (Honoured, "the RBAC policy"),
                "policy.default" => (Honoured, "the role of every authenticated user"),
                "policy.matchMode" => (Honoured, "glob or regex matching of policy fields"),
                "scopes" => (Honoured, "the ID token claims that name a user's groups"),
                k if k.starts_with("policy.") && k.ends_with(".csv") => {
                    (Honoured, "appended below policy.csv in key order")
                }
                _ => (Ignored, "nothing in driftless reads this key"),
            };
            Finding::new(RBAC, key, verdict, note)
        })
        .collect()
}

/// One finding per key of argocd-cmd-params-cm: driftless reads no ConfigMap for its flags.
pub fn cmd_params_cm(data: &BTreeMap<String, String>) -> Vec<Finding> {
    data.keys()
        .map(|key| {
            let (verdict, note) = match key.as_str() {
                "application.namespaces" => (
                    Differently,
                    "not read: pass driftless serve --application-namespaces (or ARGOCD_APPLICATION_NAMESPACES)",
                ),
                "server.insecure" => (Differently, "not read: pass driftless serve --insecure"),
                "applicationsetcontroller.enable.progressive.syncs" => (
                    Differently,
                    "not read: progressive syncs (RollingSync) are always on",
                ),
                "controller.sharding.algorithm" | "controller.replicas" => (
                    Differently,
                    "not read: pass driftless serve --shards N --shard I",
                ),
                _ => (Ignored, "driftless reads no flags from this ConfigMap"),
            };
            Finding::new(PARAMS, key, verdict, note)
        })
        .collect()
}

/// One finding per key of argocd-secret. `referenced` are the keys argocd-cm names as `$key`.
pub fn argocd_secret(keys: &[String], referenced: &[String]) -> Vec<Finding> {
    keys.iter()
        .map(|key| {
            let (verdict, note) = secret_key(key, referenced);
            Finding::new(SECRET, key, verdict, note)
        })
        .collect()
}

fn secret_key(key: &str, referenced: &[String]) -> (Verdict, &'static str) {
    if referenced.iter().any(|r| r == key) {
        return (Honoured, "referenced from argocd-cm's oidc.config as $key");
    }
    if key.starts_with("webhook.") {
        return (
            Honoured,
            "verifies webhook payloads; a provider without one is refused",
        );
    }
    if key.starts_with("accounts.") {
        return (
            Honoured,
            "local account password, password time or API key tokens",
        );
    }
    match key {
        "admin.password" | "admin.passwordMtime" => {
            (Honoured, "the admin account's bcrypt password")
        }
        "server.secretkey" => (
            Honoured,
            "signs API keys and project role tokens as Argo CD signs them",
        ),
        "tls.crt" | "tls.key" => (
            Differently,
            "not read: the API server's certificate comes from Secret argocd-server-tls",
        ),
        _ => (Ignored, "nothing in driftless reads this key"),
    }
}

/// The argocd-secret keys argocd-cm's `oidc.config` names as `$key` (not `$name:key`, another
/// Secret): the one argocd-cm value driftless resolves such references in.
pub fn referenced_secret_keys(data: &BTreeMap<String, String>) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(value) = data.get("oidc.config") {
        for (i, _) in value.match_indices('$') {
            let rest = &value[i + 1..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "._-:".contains(c)))
                .unwrap_or(rest.len());
            let name = &rest[..end];
            if !name.is_empty() && !name.contains(':') {
                found.push(name.to_string());
            }
        }
    }
    found.sort();
    found.dedup();
    found
}
