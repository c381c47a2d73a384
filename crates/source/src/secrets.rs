//! Where repository Secrets come from: the edge. [`SecretSource`] keeps the choice of
//! credentials testable without a cluster; [`KubeSecrets`] reads them from the API server.

use std::future::Future;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};

use crate::credentials::{
    CredentialSecret, RepoCredentials, SECRET_TYPE_LABEL, select_credentials,
};

/// Reading repository Secrets failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    #[error("failed to list repository secrets in namespace {namespace}: {message}")]
    List { namespace: String, message: String },
}

/// A supplier of Argo CD repository Secrets (`repository` and `repo-creds`).
pub trait SecretSource {
    fn repository_secrets(
        &self,
    ) -> impl Future<Output = Result<Vec<CredentialSecret>, SecretsError>> + Send;
}

/// A fixed list, for tests and for offline use (`driftless check`).
#[derive(Debug, Clone, Default)]
pub struct StaticSecrets(pub Vec<CredentialSecret>);

impl SecretSource for StaticSecrets {
    async fn repository_secrets(&self) -> Result<Vec<CredentialSecret>, SecretsError> {
        Ok(self.0.clone())
    }
}

/// The Secrets of one namespace (Argo CD's own, typically `argocd`) carrying the
/// `argocd.argoproj.io/secret-type` label.
#[derive(Clone)]
pub struct KubeSecrets {
    client: kube::Client,
    namespace: String,
}

impl KubeSecrets {
    pub fn new(client: kube::Client, namespace: impl Into<String>) -> Self {
        KubeSecrets {
            client,
            namespace: namespace.into(),
        }
    }
}

impl SecretSource for KubeSecrets {
    async fn repository_secrets(&self) -> Result<Vec<CredentialSecret>, SecretsError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let selector = format!("{SECRET_TYPE_LABEL} in (repository,repo-creds)");
        let list = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| SecretsError::List {
                namespace: self.namespace.clone(),
                message: e.to_string(),
            })?;
        Ok(list
            .items
            .iter()
            .filter_map(CredentialSecret::from_secret)
            .collect())
    }
}

/// The credentials for `url` as used by an application of `project`, chosen from the source's
/// Secrets by Argo CD's rule (see [`select_credentials`]).
pub async fn credentials_for(
    source: &impl SecretSource,
    url: &str,
    project: Option<&str>,
) -> Result<RepoCredentials, SecretsError> {
    let secrets = source.repository_secrets().await?;
    Ok(select_credentials(url, project, &secrets))
}
