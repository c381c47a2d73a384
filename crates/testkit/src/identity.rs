//! Identities for tests that run driftless as someone other than the cluster admin: tokens of
//! a ServiceAccount (TokenRequest), the cluster's address and CA as a pod would see them, and a
//! client that holds nothing but a token.

use crate::cluster::TestCluster;
use anyhow::{Context, Result};
use base64::Engine;
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use serde_json::json;

/// A token of the ServiceAccount `account` in `namespace`, valid for an hour. Bound to
/// `anchor` when given: deleting that Secret revokes the token, as deleting a pod revokes
/// its projected token.
pub async fn service_account_token(
    client: &Client,
    namespace: &str,
    account: &str,
    anchor: Option<&Secret>,
) -> Result<String> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let bound_object_ref = anchor.map(|secret| BoundObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Secret".into()),
        name: secret.metadata.name.clone(),
        uid: secret.metadata.uid.clone(),
    });
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(3600),
            bound_object_ref,
            ..Default::default()
        }),
        ..Default::default()
    };
    let issued = accounts
        .create_token_request(account, &PostParams::default(), &request)
        .await
        .with_context(|| format!("failed to request a token of {namespace}/{account}"))?;
    issued
        .status
        .and_then(|s| s.token)
        .filter(|t| !t.is_empty())
        .context("the TokenRequest returned no token")
}

/// Where a cluster's API server listens and the CA that signed its certificate.
#[derive(Debug, Clone)]
pub struct ClusterEndpoint {
    /// `https://host:port`.
    pub server: String,
    /// The certificate-authority data (PEM).
    pub ca_pem: Vec<u8>,
}

impl ClusterEndpoint {
    /// The port of [`ClusterEndpoint::server`].
    pub fn port(&self) -> Option<u16> {
        self.server.rsplit(':').next()?.parse().ok()
    }
}

impl TestCluster {
    /// The API server and CA of this cluster's kubeconfig (its current context).
    pub fn endpoint(self) -> Result<ClusterEndpoint> {
        let path = self.kubeconfig_path()?;
        let config = Kubeconfig::read_from(&path)
            .with_context(|| format!("failed to read {}", path.display()))?;
        let wanted = config
            .current_context
            .as_ref()
            .and_then(|c| config.contexts.iter().find(|n| &n.name == c))
            .and_then(|c| c.context.as_ref())
            .map(|c| c.cluster.clone())
            .unwrap_or_default();
        let cluster = config
            .clusters
            .iter()
            .find(|c| c.name == wanted)
            .and_then(|c| c.cluster.as_ref())
            .context("the kubeconfig's current context names no cluster")?;
        let ca_pem = base64::engine::general_purpose::STANDARD
            .decode(
                cluster
                    .certificate_authority_data
                    .as_deref()
                    .context("the kubeconfig has no certificate-authority-data")?,
            )
            .context("the kubeconfig's certificate-authority-data is not base64")?;
        Ok(ClusterEndpoint {
            server: cluster.server.clone().unwrap_or_default(),
            ca_pem,
        })
    }

    /// A client that authenticates with nothing but `token`, through a kubeconfig holding
    /// only that token and the cluster's address.
    pub async fn client_with_token(self, token: &str) -> Result<Client> {
        let endpoint = self.endpoint()?;
        let ca = base64::engine::general_purpose::STANDARD.encode(&endpoint.ca_pem);
        let only_token = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "cluster", "cluster": {"server": endpoint.server, "certificate-authority-data": ca}}],
            "users": [{"name": "token", "user": {"token": token}}],
            "contexts": [{"name": "token", "context": {"cluster": "cluster", "user": "token"}}],
            "current-context": "token",
        });
        let kubeconfig: Kubeconfig = serde_json::from_value(only_token)?;
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
        Ok(Client::try_from(config)?)
    }
}
