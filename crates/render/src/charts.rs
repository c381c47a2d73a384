//! Charts from Helm repositories as render inputs: an Application's `chart` source opened as a
//! tree (the unpacked archive), and chart dependencies fetched for charts that do not vendor
//! them. Credentials come from the Argo CD repository Secrets handed in, chosen per URL.

use crate::tree::{DirTree, TreeError, TreeSource};
use driftless_charts::{ChartError, ChartRepos, HelmCredentials, IndexEntry, helm_credentials_for};
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

impl ChartSources<'_> {
    pub fn credentials(&self, url: &str) -> HelmCredentials {
        helm_credentials_for(url, self.project, self.secrets, self.tls_certs)
    }

    /// The index entry `revision` (a version or a constraint) selects for `chart`, unpacked.
    fn fetch_chart(
        &self,
        repo_url: &str,
        chart: &str,
        revision: &str,
        pass_credentials: bool,
    ) -> Result<(IndexEntry, PathBuf), ChartError> {
        let credentials = self.credentials(repo_url);
        let entry = self
            .repos
            .resolve(repo_url, chart, revision, &credentials, self.max_age)?;
        let dir = self
            .repos
            .chart_dir(repo_url, &credentials, &entry, pass_credentials)?;
        Ok((entry, dir))
    }

    /// The chart `chart` of `repo_url` at `revision` (a version or a constraint), unpacked.
    pub fn open(
        &self,
        repo_url: &str,
        chart: &str,
        revision: &str,
        pass_credentials: bool,
    ) -> Result<ChartTree, ChartError> {
        let (entry, dir) = self.fetch_chart(repo_url, chart, revision, pass_credentials)?;
        let label = format!(
            "chart {chart} {} from {}",
            entry.version,
            driftless_source::redact_url(repo_url)
        );
        Ok(ChartTree::new(dir, label, entry.digest))
    }

    /// An OCI artifact of plain files (`repoURL: oci://…` without `chart`) at `revision`.
    pub fn open_artifact(&self, repo_url: &str, revision: &str) -> Result<ChartTree, ChartError> {
        let credentials = self.credentials(repo_url);
        let entry = self
            .repos
            .resolve_artifact(repo_url, revision, &credentials, self.max_age)?;
        let dir = self.repos.artifact_dir(repo_url, &credentials, &entry)?;
        let label = format!(
            "{} at {} (sha256:{})",
            driftless_source::redact_url(repo_url),
            entry.version,
            entry.digest
        );
        Ok(ChartTree::new(dir, label, entry.digest))
    }
}

impl ChartFetcher for ChartSources<'_> {
    fn fetch(&self, repository: &str, name: &str, version: &str) -> Result<PathBuf, ChartError> {
        self.fetch_chart(repository, name, version, false)
            .map(|(_, dir)| dir)
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
    /// `digest` empty: an archive the index listed no digest for, so ids hash the files.
    fn new(root: PathBuf, label: String, digest: String) -> Self {
        Self {
            dir: DirTree::new(root.clone()),
            root,
            label,
            digest: (!digest.is_empty()).then_some(digest),
        }
    }

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
