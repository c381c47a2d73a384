//! Charts from Helm repositories as render inputs: an Application's `chart` source opened as a
//! tree (the unpacked archive), and chart dependencies fetched for charts that do not vendor
//! them. Credentials come from the Argo CD repository Secrets handed in, chosen per URL.

use crate::tree::{DirTree, TreeError, TreeSource};
use driftless_charts::{ChartError, ChartRepos, HelmCredentials, select_helm_credentials};
use driftless_source::CredentialSecret;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Fetches a chart dependency (`dependencies[]` of a Chart.yaml) into a directory.
pub trait ChartFetcher: Send + Sync {
    /// The unpacked chart `name` at the newest version `version` (an exact version or a
    /// constraint) allows, from the Helm repository `repository`.
    fn fetch(&self, repository: &str, name: &str, version: &str) -> Result<PathBuf, ChartError>;
}

/// The chart repositories a render may use.
#[derive(Clone, Copy)]
pub struct ChartSources<'a> {
    pub repos: &'a ChartRepos,
    /// Argo CD repository Secrets (`type: helm`/`oci`) to choose credentials from.
    pub secrets: &'a [CredentialSecret],
    /// The Application's project, for project-scoped Secrets.
    pub project: Option<&'a str>,
    /// How old an index may be before it is checked again.
    pub max_age: Duration,
    /// Extra CA certificates (PEM) by server host name (Argo CD's `argocd-tls-certs-cm`).
    pub tls_certs: &'a BTreeMap<String, String>,
}

/// The extra CA certificates for `url`'s host, if `tls_certs` has any.
pub fn ca_for(url: &str, tls_certs: &BTreeMap<String, String>) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    tls_certs
        .get(host)
        .or_else(|| tls_certs.get(authority))
        .cloned()
}

impl ChartSources<'_> {
    pub fn credentials(&self, url: &str) -> HelmCredentials {
        let mut credentials = select_helm_credentials(url, self.project, self.secrets);
        if credentials.ca_pem.is_none() {
            credentials.ca_pem = ca_for(url, self.tls_certs);
        }
        credentials
    }

    /// The chart `chart` of `repo_url` at `revision` (a version or a constraint), unpacked.
    pub fn open(
        &self,
        repo_url: &str,
        chart: &str,
        revision: &str,
        pass_credentials: bool,
    ) -> Result<ChartTree, ChartError> {
        let credentials = self.credentials(repo_url);
        let entry = self
            .repos
            .resolve(repo_url, chart, revision, &credentials, self.max_age)?;
        let dir = self
            .repos
            .chart_dir(repo_url, &credentials, &entry, pass_credentials)?;
        Ok(ChartTree {
            root: dir.clone(),
            dir: DirTree::new(dir),
            label: format!(
                "chart {chart} {} from {}",
                entry.version,
                driftless_source::redact_url(repo_url)
            ),
            digest: (!entry.digest.is_empty()).then_some(entry.digest),
        })
    }
}

impl ChartSources<'_> {
    /// An OCI artifact of plain files (`repoURL: oci://…` without `chart`) at `revision`.
    pub fn open_artifact(&self, repo_url: &str, revision: &str) -> Result<ChartTree, ChartError> {
        let credentials = self.credentials(repo_url);
        let entry = self
            .repos
            .resolve_artifact(repo_url, revision, &credentials, self.max_age)?;
        let dir = self.repos.artifact_dir(repo_url, &credentials, &entry)?;
        Ok(ChartTree {
            root: dir.clone(),
            dir: DirTree::new(dir),
            label: format!(
                "{} at {} (sha256:{})",
                driftless_source::redact_url(repo_url),
                entry.version,
                entry.digest
            ),
            digest: Some(entry.digest),
        })
    }
}

impl ChartFetcher for ChartSources<'_> {
    fn fetch(&self, repository: &str, name: &str, version: &str) -> Result<PathBuf, ChartError> {
        let credentials = self.credentials(repository);
        let entry = self
            .repos
            .resolve(repository, name, version, &credentials, self.max_age)?;
        self.repos
            .chart_dir(repository, &credentials, &entry, false)
    }
}

/// An unpacked chart archive. Its contents never change for one digest, so ids come from the
/// digest instead of hashing the files at every render.
pub struct ChartTree {
    root: PathBuf,
    dir: DirTree,
    label: String,
    digest: Option<String>,
}

impl ChartTree {
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl TreeSource for ChartTree {
    fn tree_id(&self, path: &str) -> Result<Option<String>, TreeError> {
        let Some(digest) = &self.digest else {
            return self.dir.tree_id(path);
        };
        let normalized = crate::paths::normalize(path)
            .ok_or_else(|| TreeError(format!("{path:?} leaves the chart")))?;
        let exists = crate::workspace::on_disk(&self.root, &normalized).exists();
        Ok(exists.then(|| format!("chart-sha256:{digest}:{normalized}")))
    }

    fn export(&self, path: &str, dest: &Path) -> Result<(), TreeError> {
        self.dir.export(path, dest)
    }

    fn describe(&self) -> String {
        self.label.clone()
    }
}
