//! Helm repository change detection, the chart counterpart of `git`: one conditional index
//! request per repository per poll (not per app; for an OCI registry, one tag listing and one
//! manifest request per chart and revision in use); apps whose repository's index changed are
//! reconciled, so a newly published version that matches a constraint rolls out without a
//! commit. Apps resolve versions from the index held, re-checked at most once per poll interval.

use crate::runtime::mutex::lock;
use crate::runtime::stores::ControlStores;
use driftless_charts::{ChartError, ChartRepos, HelmCredentials, helm_credentials_for, is_oci};
use driftless_source::{CredentialSecret, SecretSource, cache_key, redact_url};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Argo CD's ConfigMap of extra TLS certificates, keyed by server host name.
pub const TLS_CERTS_CONFIGMAP: &str = "argocd-tls-certs-cm";

/// Why a chart version (or an OCI artifact's digest) could not be resolved. URLs are redacted.
#[derive(Debug, thiserror::Error)]
pub enum ChartVersionError {
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// The blocking task doing the work ended without an answer (it panicked).
    #[error("failed to resolve the chart version from {url}: {message}")]
    Task { url: String, message: String },
}

#[derive(Default)]
struct RepoUse {
    url: String,
    /// The project of an app using it, for project-scoped Secrets.
    project: Option<String>,
    users: BTreeSet<String>,
    /// The charts taken from it (an OCI registry is checked per chart).
    charts: BTreeSet<String>,
    /// Why the last poll failed, if it did.
    error: Option<String>,
}

/// What a render needs to reach chart repositories: the Secrets and certificates, read once.
#[derive(Clone, Default)]
pub struct ChartAccess {
    pub secrets: Vec<CredentialSecret>,
    pub tls_certs: BTreeMap<String, String>,
}

impl ChartAccess {
    pub fn credentials(&self, url: &str, project: Option<&str>) -> HelmCredentials {
        helm_credentials_for(url, project, &self.secrets, &self.tls_certs)
    }
}

pub struct ChartWatcher {
    repos: Arc<ChartRepos>,
    client: Option<kube::Client>,
    /// Where the repository Secrets are kept (with `client`).
    stores: Option<ControlStores>,
    namespace: String,
    /// How long an index held counts as current for resolving (the poll interval).
    pub max_age: Duration,
    uses: Mutex<HashMap<String, RepoUse>>,
    /// The Secrets and certificates last read, and when: read again after `max_age`, so
    /// every app's resolve and render does not list Secrets from the API server.
    access: tokio::sync::Mutex<Option<(Instant, Arc<ChartAccess>)>>,
}

impl ChartWatcher {
    /// Secrets are read from `stores` and `argocd-tls-certs-cm` from `namespace` through
    /// the client (None: anonymous access only).
    pub fn new(
        repos: Arc<ChartRepos>,
        cluster: Option<(kube::Client, ControlStores)>,
        namespace: &str,
        max_age: Duration,
    ) -> Self {
        let (client, stores) = cluster.unzip();
        Self {
            repos,
            client,
            stores,
            namespace: namespace.to_string(),
            max_age,
            uses: Mutex::new(HashMap::new()),
            access: tokio::sync::Mutex::new(None),
        }
    }

    pub fn repos(&self) -> &Arc<ChartRepos> {
        &self.repos
    }

    /// Records that `app` (of `project`) takes exactly these (repository URL, chart) pairs.
    pub fn register(&self, app: &str, project: Option<&str>, charts: &[(String, String)]) {
        let wanted: BTreeSet<String> = charts.iter().map(|(u, _)| cache_key(u)).collect();
        let mut uses = lock(&self.uses);
        for (url, chart) in charts {
            let entry = uses.entry(cache_key(url)).or_default();
            entry.url.clone_from(url);
            entry.project = project.map(str::to_string);
            entry.charts.insert(chart.clone());
        }
        for (key, entry) in uses.iter_mut() {
            if wanted.contains(key) {
                entry.users.insert(app.to_string());
            } else {
                entry.users.remove(app);
            }
        }
    }

    pub fn forget(&self, app: &str) {
        self.register(app, None, &[]);
    }

    /// The Secrets and certificates to reach chart repositories with, as read within the last
    /// `max_age` (`force`: read now).
    pub async fn access(&self, force: bool) -> Arc<ChartAccess> {
        let mut held = self.access.lock().await;
        if let Some((read, access)) = held.as_ref()
            && !force
            && read.elapsed() < self.max_age
        {
            return access.clone();
        }
        let access = Arc::new(self.read_access().await);
        *held = Some((Instant::now(), access.clone()));
        access
    }

    /// Reads the Secrets and certificates; what cannot be read is logged and left out
    /// (anonymous access still works).
    async fn read_access(&self) -> ChartAccess {
        let (Some(client), Some(stores)) = (&self.client, &self.stores) else {
            return ChartAccess::default();
        };
        let secrets = match stores.repository_secrets().await {
            Ok(secrets) => secrets,
            Err(error) => {
                tracing::warn!(%error, "cannot read repository secrets; trying without credentials");
                Vec::new()
            }
        };
        let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &self.namespace);
        let tls_certs = match configmaps.get_opt(TLS_CERTS_CONFIGMAP).await {
            Ok(found) => found.and_then(|c| c.data).unwrap_or_default(),
            Err(error) => {
                tracing::warn!(%error, "cannot read {TLS_CERTS_CONFIGMAP}");
                BTreeMap::new()
            }
        };
        ChartAccess { secrets, tls_certs }
    }

    /// The version of `chart` that `revision` selects in `url`'s index. `force` (a refresh)
    /// checks the index now instead of using the copy of this poll interval.
    pub async fn resolve(
        &self,
        url: &str,
        chart: &str,
        revision: &str,
        project: Option<&str>,
        force: bool,
    ) -> Result<String, ChartVersionError> {
        let credentials = self.access(force).await.credentials(url, project);
        let shown = redact_url(url);
        let max_age = if force { Duration::ZERO } else { self.max_age };
        let (repos, url, chart, revision) = (
            self.repos.clone(),
            url.to_string(),
            chart.to_string(),
            revision.to_string(),
        );
        // An empty chart: an OCI artifact of plain files, resolved to its manifest digest.
        tokio::task::spawn_blocking(move || match chart.as_str() {
            "" => repos
                .resolve_artifact(&url, &revision, &credentials, max_age)
                .map(|entry| format!("sha256:{}", entry.digest)),
            _ => repos
                .resolve(&url, &chart, &revision, &credentials, max_age)
                .map(|entry| entry.version),
        })
        .await
        .map_err(|e| ChartVersionError::Task {
            url: shown,
            message: e.to_string(),
        })?
        .map_err(ChartVersionError::from)
    }

    /// One round: every chart repository some app uses gets one conditional index request;
    /// returns the apps whose repository's index changed (or became reachable or not).
    pub async fn poll(&self) -> BTreeSet<String> {
        let used: Vec<(String, String, Option<String>, Vec<String>)> = lock(&self.uses)
            .iter()
            .filter(|(_, u)| !u.users.is_empty())
            .map(|(k, u)| {
                let charts = u.charts.iter().cloned().collect();
                (k.clone(), u.url.clone(), u.project.clone(), charts)
            })
            .collect();
        if used.is_empty() {
            return BTreeSet::new();
        }
        let access = self.access(false).await;
        let checks = used.into_iter().map(|(key, url, project, charts)| {
            let credentials = access.credentials(&url, project.as_deref());
            let repos = self.repos.clone();
            async move {
                let shown = redact_url(&url);
                let outcome = tokio::task::spawn_blocking(move || {
                    if !is_oci(&url, &credentials) {
                        return repos
                            .index(&url, &credentials, Duration::ZERO)
                            .map(|c| c.changed)
                            .map_err(|e| e.to_string());
                    }
                    let mut changed = false;
                    for chart in &charts {
                        changed |= repos
                            .recheck_oci(&url, chart, &credentials)
                            .map_err(|e| e.to_string())?;
                    }
                    Ok(changed)
                })
                .await
                .unwrap_or_else(|e| Err(format!("failed to check {shown}: {e}")));
                (key, outcome)
            }
        });
        let mut moved = BTreeSet::new();
        for (key, outcome) in futures::future::join_all(checks).await {
            let mut uses = lock(&self.uses);
            let Some(entry) = uses.get_mut(&key) else {
                continue;
            };
            let (changed, error) = match outcome {
                Ok(changed) => (changed, None),
                Err(error) => {
                    tracing::warn!(url = %redact_url(&entry.url), %error, "chart repository check failed");
                    (false, Some(error))
                }
            };
            let error_changed = entry.error != error;
            entry.error = error;
            if changed || error_changed {
                moved.extend(entry.users.iter().cloned());
            }
        }
        moved
    }
}
