//! Verdicts for repository and cluster Secrets, AppProjects, Applications and ApplicationSets.
//! The objects' field groups are judged once per group used, naming the objects that use it.

use super::finding::{CredentialSecret, Finding, Verdict};
use Verdict::{Differently, Honoured, Ignored};
use serde_json::Value;
use std::collections::BTreeMap;

/// Field groups in use: key → (verdict, note, the objects using it).
#[derive(Default)]
struct Uses(BTreeMap<String, (Verdict, String, Vec<String>)>);

impl Uses {
    fn add(&mut self, key: impl Into<String>, verdict: Verdict, note: &str, object: &str) {
        let entry = self
            .0
            .entry(key.into())
            .or_insert_with(|| (verdict, note.to_string(), Vec::new()));
        if !entry.2.iter().any(|o| o == object) {
            entry.2.push(object.to_string());
        }
    }

    fn findings(self, source: &str) -> Vec<Finding> {
        self.0
            .into_iter()
            .map(|(key, (verdict, note, objects))| {
                Finding::new(
                    source,
                    &key,
                    verdict,
                    format!("{note} (in {})", names(&objects)),
                )
            })
            .collect()
    }
}

/// At most five names, then how many more.
fn names(objects: &[String]) -> String {
    let shown: Vec<&str> = objects.iter().take(5).map(String::as_str).collect();
    match objects.len() {
        n if n > 5 => format!("{} and {} more", shown.join(", "), n - 5),
        _ => shown.join(", "),
    }
}

fn name_of(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or("?")
}

fn present(value: &Value) -> bool {
    !value.is_null()
}

/// One finding per key of each repository, repo-creds or cluster Secret.
pub fn credential_secrets(secrets: &[CredentialSecret]) -> Vec<Finding> {
    let mut out = Vec::new();
    for secret in secrets {
        let source = format!("Secret {} ({})", secret.name, secret.secret_type);
        let cluster = secret.secret_type == "cluster";
        for key in &secret.keys {
            let (verdict, note) = if cluster {
                cluster_key(key, &secret.config_fields)
            } else {
                repository_key(key)
            };
            out.push(Finding::new(&source, key, verdict, note));
        }
    }
    out
}

fn repository_key(key: &str) -> (Verdict, String) {
    let said = |v: Verdict, n: &str| (v, n.to_string());
    match key {
        "url" | "type" | "name" => said(Honoured, "selects the repository"),
        "project" => said(Honoured, "adds the URL to that project's sourceRepos"),
        "username" | "password" => said(Honoured, "HTTPS basic credentials"),
        "sshPrivateKey" => said(Honoured, "SSH key for git"),
        "insecure" => said(Honoured, "skips TLS verification"),
        "proxy" => said(Honoured, "the proxy for this repository"),
        "tlsClientCertData" | "tlsClientCertKey" => said(
            Differently,
            "read for Helm and OCI repositories only, not for git",
        ),
        "enableOCI" | "insecureOCIForceHttp" => said(Honoured, "OCI registry settings"),
        k if k.starts_with("githubApp") => said(
            Ignored,
            "GitHub App credentials are not supported: use a token as password",
        ),
        "gcpServiceAccountKey" | "useAzureWorkloadIdentity" | "bearerToken" => {
            said(Ignored, "this kind of credential is not supported")
        }
        _ => said(Ignored, "nothing in driftless reads this key"),
    }
}

fn cluster_key(key: &str, config_fields: &[String]) -> (Verdict, String) {
    let said = |v: Verdict, n: &str| (v, n.to_string());
    match key {
        "name" | "server" => said(
            Honoured,
            "matched by destination.name or destination.server",
        ),
        "namespaces" => said(
            Honoured,
            "limits driftless to these namespaces on the cluster: objects elsewhere are refused and live objects are watched per namespace, so Roles there suffice",
        ),
        "clusterResources" => said(
            Honoured,
            "permits cluster-scoped objects with namespaces set (and watches their kinds cluster-wide)",
        ),
        "project" => said(
            Honoured,
            "adds the cluster as a destination of that project",
        ),
        "config" if config_fields.iter().any(|f| f == "awsAuthConfig") => said(
            Differently,
            "awsAuthConfig is refused: use execProviderConfig with the aws CLI",
        ),
        "config" => said(
            Honoured,
            "bearerToken, username/password, tlsClientConfig or execProviderConfig",
        ),
        _ => said(Ignored, "nothing in driftless reads this key"),
    }
}

/// AppProject field groups in use.
pub fn projects(projects: &[Value]) -> Vec<Finding> {
    let mut uses = Uses::default();
    for project in projects {
        let name = name_of(project);
        let Some(spec) = project["spec"].as_object() else {
            continue;
        };
        for field in spec.keys() {
            let (verdict, note) = project_field(field);
            uses.add(field.as_str(), verdict, note, name);
        }
    }
    uses.findings("AppProjects")
}

fn project_field(field: &str) -> (Verdict, &'static str) {
    match field {
        "sourceRepos"
        | "destinations"
        | "clusterResourceWhitelist"
        | "clusterResourceBlacklist"
        | "namespaceResourceWhitelist"
        | "namespaceResourceBlacklist" => {
            (Honoured, "checked before anything is applied or pruned")
        }
        "roles" => (Honoured, "project roles: policies, groups and JWT tokens"),
        "syncWindows" => (
            Differently,
            "evaluated as Argo CD does, but a window that does not parse blocks its apps instead of being ignored",
        ),
        "sourceNamespaces" => (
            Honoured,
            "apps in other namespaces (--application-namespaces)",
        ),
        "orphanedResources" => (Honoured, "OrphanedResourceWarning condition"),
        "permitOnlyProjectScopedClusters" => (Honoured, "only project-scoped clusters"),
        "description" => (Honoured, "informational; shown by driftless proj get"),
        "destinationServiceAccounts" => (
            Honoured,
            "syncs, dry runs, prunes and hooks impersonate the first matching ServiceAccount (reads stay with driftless's own); honoured whenever present, required for every app with driftless serve --sync-impersonation",
        ),
        "signatureKeys" | "sourceIntegrity" => (Ignored, "commit signatures are not verified"),
        _ => (Ignored, "nothing in driftless reads this field"),
    }
}

/// Application field groups in use (hooks live in git and cannot be seen from here).
pub fn applications(apps: &[Value]) -> Vec<Finding> {
    let mut uses = Uses::default();
    for app in apps {
        let name = name_of(app);
        let spec = &app["spec"];
        let mut sources: Vec<&Value> = spec["sources"]
            .as_array()
            .map(|s| s.iter().collect())
            .unwrap_or_default();
        if present(&spec["sources"]) {
            uses.add(
                "spec.sources",
                Honoured,
                "several sources, $ref value files",
                name,
            );
        }
        if present(&spec["source"]) {
            sources.push(&spec["source"]);
        }
        for source in sources {
            let (kind, verdict, note) = source_type(source);
            uses.add(format!("source type {kind}"), verdict, note, name);
        }
        let policy = &spec["syncPolicy"];
        if present(&policy["automated"]) {
            uses.add(
                "syncPolicy.automated",
                Honoured,
                "prune, selfHeal and allowEmpty as in Argo CD",
                name,
            );
        }
        if present(&policy["retry"]) {
            uses.add("syncPolicy.retry", Honoured, "retries with backoff", name);
        }
        if present(&policy["managedNamespaceMetadata"]) {
            uses.add(
                "syncPolicy.managedNamespaceMetadata",
                Honoured,
                "labels and annotations of a created namespace",
                name,
            );
        }
        for option in policy["syncOptions"].as_array().into_iter().flatten() {
            let option = option.as_str().unwrap_or_default();
            let (verdict, note) = sync_option(option);
            uses.add(format!("syncOption {option}"), verdict, note, name);
        }
        if present(&spec["ignoreDifferences"]) {
            uses.add(
                "ignoreDifferences",
                Honoured,
                "JSON pointers, jq paths, field managers",
                name,
            );
        }
        if present(&spec["revisionHistoryLimit"]) {
            uses.add(
                "revisionHistoryLimit",
                Honoured,
                "bounds status.history",
                name,
            );
        }
        if present(&spec["info"]) {
            uses.add(
                "info",
                Ignored,
                "shown only by a web UI, which driftless has not yet",
                name,
            );
        }
    }
    uses.findings("Applications")
}

fn source_type(source: &Value) -> (&'static str, Verdict, &'static str) {
    if present(&source["plugin"]) {
        return (
            "plugin",
            Differently,
            "plugins are read from DRIFTLESS_PLUGIN_DIR, not a sidecar; provideGitCreds is not supported",
        );
    }
    if present(&source["chart"]) {
        return (
            "helm chart",
            Honoured,
            "Helm repositories and OCI registries, version constraints",
        );
    }
    if source["repoURL"]
        .as_str()
        .is_some_and(|u| u.starts_with("oci://"))
    {
        return ("oci", Honoured, "OCI artifacts of plain files");
    }
    if present(&source["helm"]) {
        return ("helm", Honoured, "helm template with the helm block");
    }
    if present(&source["kustomize"]) {
        return (
            "kustomize",
            Differently,
            "remote bases are off unless --allow-kustomize-remote-bases; helmCharts and plugins stay off",
        );
    }
    (
        "directory or detected",
        Honoured,
        "directory (YAML, JSON, Jsonnet), Kustomize or Helm, detected as Argo CD detects them",
    )
}

fn sync_option(option: &str) -> (Verdict, &'static str) {
    let key = option.split_once('=').map_or(option, |(k, _)| k);
    match key {
        "CreateNamespace"
        | "ServerSideApply"
        | "PruneLast"
        | "Replace"
        | "Force"
        | "ApplyOutOfSyncOnly"
        | "Validate"
        | "RespectIgnoreDifferences"
        | "FailOnSharedResource"
        | "SkipDryRunOnMissingResource"
        | "Prune"
        | "Delete"
        | "PrunePropagationPolicy" => (Honoured, "sync option read as Argo CD reads it"),
        _ => (Ignored, "sync option driftless does not know"),
    }
}

/// ApplicationSet field groups and generators in use.
pub fn application_sets(sets: &[Value]) -> Vec<Finding> {
    let mut uses = Uses::default();
    for set in sets {
        let name = name_of(set);
        let spec = &set["spec"];
        let mut generators = Vec::new();
        collect_generators(&spec["generators"], &mut generators);
        for generator in generators {
            let (verdict, note) = match generator.as_str() {
                "list" | "clusters" | "git" | "matrix" | "merge" => (Honoured, "generator"),
                _ => (
                    Ignored,
                    "not supported: the ApplicationSet gets an error and generates nothing",
                ),
            };
            uses.add(format!("generator {generator}"), verdict, note, name);
        }
        if spec["strategy"]["type"].as_str() == Some("RollingSync") {
            uses.add(
                "strategy RollingSync",
                Differently,
                "always on (no --enable-progressive-syncs); InvalidRolloutConfig is not reported",
                name,
            );
        }
        for (field, note) in [
            ("goTemplate", "Go templates with sprig"),
            ("goTemplateOptions", "missingkey options"),
            ("templatePatch", "cannot change the project"),
            (
                "ignoreApplicationDifferences",
                "fields of generated apps left alone",
            ),
        ] {
            if present(&spec[field]) {
                uses.add(field, Honoured, note, name);
            }
        }
        for field in ["preserveResourcesOnDeletion", "applicationsSync"] {
            if present(&spec["syncPolicy"][field]) {
                uses.add(
                    format!("syncPolicy.{field}"),
                    Honoured,
                    "as in Argo CD",
                    name,
                );
            }
        }
    }
    uses.findings("ApplicationSets")
}

/// The generator kinds of `generators`, with those nested in matrix and merge.
fn collect_generators(generators: &Value, out: &mut Vec<String>) {
    for generator in generators.as_array().into_iter().flatten() {
        for (kind, spec) in generator.as_object().into_iter().flatten() {
            if kind == "selector" || kind == "template" {
                continue;
            }
            out.push(kind.clone());
            if kind == "matrix" || kind == "merge" {
                collect_generators(&spec["generators"], out);
            }
        }
    }
}
