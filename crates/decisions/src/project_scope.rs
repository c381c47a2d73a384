//! Repositories and clusters a project gains from Secrets that name it (pure): a repository
//! or cluster Secret with a `project` field is scoped to that project, as in Argo CD. Its
//! repository URL joins the project's `sourceRepos`, its cluster joins the `destinations`
//! (every namespace, or those the Secret's `namespaces` lists), and with
//! `permitOnlyProjectScopedClusters` only such clusters may be deployed to.

use driftless_model::ApplicationDestination;
use driftless_model::annotations::{SECRET_TYPE_CLUSTER, SECRET_TYPE_REPOSITORY};
use driftless_model::{is_secret_type, secret_field as field};
use k8s_openapi::api::core::v1::Secret;

/// What Secrets scoped to one project add to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectScope {
    /// Repository URLs, as the Secrets spell them.
    pub repos: Vec<String>,
    pub clusters: Vec<ScopedCluster>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopedCluster {
    pub name: String,
    pub server: String,
    pub namespaces: Vec<String>,
}

impl ProjectScope {
    /// The repository and cluster Secrets among `secrets` whose `project` is `project`.
    pub fn of(secrets: &[Secret], project: &str) -> Self {
        let scoped = |s: &&Secret| !project.is_empty() && field(s, "project") == project;
        let repos = secrets
            .iter()
            .filter(|s| is_secret_type(s, SECRET_TYPE_REPOSITORY))
            .filter(scoped)
            .map(|s| field(s, "url"))
            .filter(|url| !url.is_empty())
            .collect();
        let clusters = secrets
            .iter()
            .filter(|s| is_secret_type(s, SECRET_TYPE_CLUSTER))
            .filter(scoped)
            .filter(|s| !field(s, "server").is_empty())
            .map(|s| {
                let server = field(s, "server");
                let name = Some(field(s, "name"))
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| server.clone());
                ScopedCluster {
                    name,
                    server,
                    namespaces: list(&field(s, "namespaces")),
                }
            })
            .collect();
        Self { repos, clusters }
    }

    /// The destinations the scoped clusters add to the project's own.
    pub fn destinations(&self) -> Vec<ApplicationDestination> {
        let destination = |server: &str, namespace: &str| ApplicationDestination {
            server: Some(server.to_string()),
            namespace: Some(namespace.to_string()),
            ..ApplicationDestination::default()
        };
        self.clusters
            .iter()
            .flat_map(|c| {
                if c.namespaces.is_empty() {
                    vec![destination(&c.server, "*")]
                } else {
                    c.namespaces
                        .iter()
                        .map(|n| destination(&c.server, n))
                        .collect()
                }
            })
            .collect()
    }

    /// Whether the cluster (by name or server) is scoped to the project.
    pub fn has_cluster(&self, name: &str, server: &str) -> bool {
        self.clusters
            .iter()
            .any(|c| c.name == name || c.server == server)
    }
}

/// A cluster Secret's comma-separated `namespaces`.
pub fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(kind: &str, data: serde_json::Value) -> Secret {
        let string_data = data.as_object().cloned().unwrap_or_default();
        serde_json::from_value(json!({
            "metadata": {"name": "s", "labels": {"argocd.argoproj.io/secret-type": kind}},
            "stringData": string_data,
        }))
        .unwrap()
    }

    #[test]
    fn only_secrets_naming_the_project_count() {
        let secrets = vec![
            secret(
                "repository",
                json!({"url": "https://git.example/team/apps", "project": "team"}),
            ),
            secret(
                "repository",
                json!({"url": "https://git.example/other", "project": "other"}),
            ),
            secret("repository", json!({"url": "https://git.example/shared"})),
            secret(
                "repo-creds",
                json!({"url": "https://git.example/", "project": "team"}),
            ),
            secret(
                "cluster",
                json!({"name": "staging", "server": "https://10.0.0.2",
                                     "project": "team", "namespaces": "shop, shop-canary"}),
            ),
            secret(
                "cluster",
                json!({"server": "https://10.0.0.3", "project": "team"}),
            ),
            secret(
                "cluster",
                json!({"name": "prod", "server": "https://10.0.0.9"}),
            ),
        ];
        let scope = ProjectScope::of(&secrets, "team");
        assert_eq!(scope.repos, ["https://git.example/team/apps"]);
        assert_eq!(scope.clusters.len(), 2);
        assert_eq!(scope.clusters[1].name, "https://10.0.0.3");
        let destinations: Vec<(String, String)> = scope
            .destinations()
            .into_iter()
            .map(|d| {
                (
                    d.server.unwrap_or_default(),
                    d.namespace.unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            destinations,
            [
                ("https://10.0.0.2".to_string(), "shop".to_string()),
                ("https://10.0.0.2".to_string(), "shop-canary".to_string()),
                ("https://10.0.0.3".to_string(), "*".to_string()),
            ]
        );
        assert!(scope.has_cluster("staging", ""));
        assert!(!scope.has_cluster("prod", "https://10.0.0.9"));
        assert_eq!(ProjectScope::of(&secrets, ""), ProjectScope::default());
    }
}
