//! A commit of a repository in driftless-source's cache as a [`TreeSource`], and a
//! resolver that opens `repoURL` at `targetRevision` from that cache (fetching is the
//! caller's job, e.g. `RepoCache::sync`, before rendering).

use crate::app::{RepoResolver, no_chart_cache};
use crate::charts::{ChartFetcher, ChartSources};
use crate::origin::is_oci_artifact;
use crate::tree::{TreeError, TreeSource};
use driftless_source::{CommitId, DirectoryFiles, LocalRepo, PathKind, ReadError, RepoCache};
use sha2::{Digest, Sha256};
use std::path::Path;

/// One commit of a cached repository.
pub struct GitTree {
    repo: LocalRepo,
    commit: CommitId,
}

impl GitTree {
    pub fn new(repo: LocalRepo, commit: CommitId) -> Self {
        Self { repo, commit }
    }

    pub fn commit(&self) -> CommitId {
        self.commit
    }
}

impl TreeSource for GitTree {
    /// Directories by git tree id; files by a hash of their contents.
    fn tree_id(&self, path: &str) -> Result<Option<String>, TreeError> {
        let error = |e: &dyn std::fmt::Display| TreeError(e.to_string());
        match self
            .repo
            .path_kind(self.commit, path)
            .map_err(|e| error(&e))?
        {
            None => Ok(None),
            Some(PathKind::Directory) => Ok(Some(
                self.repo
                    .tree_id(self.commit, path)
                    .map_err(|e| error(&e))?
                    .to_string(),
            )),
            Some(PathKind::File | PathKind::ExecutableFile) => {
                let bytes = self
                    .repo
                    .read_file(self.commit, path)
                    .map_err(|e| error(&e))?;
                Ok(Some(format!(
                    "file-sha256:{}",
                    hex::encode(Sha256::digest(&bytes))
                )))
            }
            Some(kind) => Err(TreeError(format!(
                "failed to read {path:?}: a {kind:?} cannot be rendered from"
            ))),
        }
    }

    fn export(&self, path: &str, dest: &Path) -> Result<(), TreeError> {
        let error = |e: &dyn std::fmt::Display| TreeError(e.to_string());
        match self
            .repo
            .path_kind(self.commit, path)
            .map_err(|e| error(&e))?
        {
            Some(PathKind::Directory) => self
                .repo
                .export(self.commit, path, dest)
                .map(|_| ())
                .map_err(|e| error(&e)),
            Some(PathKind::File | PathKind::ExecutableFile) => {
                let bytes = self
                    .repo
                    .read_file(self.commit, path)
                    .map_err(|e| error(&e))?;
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| error(&e))?;
                }
                std::fs::write(dest, bytes).map_err(|e| error(&e))
            }
            other => Err(TreeError(format!(
                "failed to export {path:?}: found {other:?}"
            ))),
        }
    }

    fn files(&self, path: &str, recurse: bool) -> Result<Option<DirectoryFiles>, TreeError> {
        match self.repo.read_files(self.commit, path, recurse) {
            Ok(files) => Ok(files),
            // Anything but a directory is left to the export, which says what is wrong with it.
            Err(ReadError::NotADirectory { .. } | ReadError::PathNotFound { .. }) => Ok(None),
            Err(e) => Err(TreeError(e.to_string())),
        }
    }

    fn describe(&self) -> String {
        format!("{} at {}", self.repo.url(), self.commit)
    }

    fn revision(&self) -> Option<String> {
        Some(self.commit.to_string())
    }
}

/// Opens repositories from a [`RepoCache`] that already holds the revisions, and charts from
/// Helm repositories and OCI artifacts through `charts` (fetching what the chart cache lacks).
pub struct CachedRepos<'a> {
    pub cache: &'a RepoCache,
    pub charts: Option<ChartSources<'a>>,
}

impl<'a> CachedRepos<'a> {
    /// Git repositories only: a chart source is an error.
    pub fn git(cache: &'a RepoCache) -> Self {
        Self {
            cache,
            charts: None,
        }
    }
}

impl RepoResolver for CachedRepos<'_> {
    fn open(&self, repo_url: &str, revision: &str) -> Result<Box<dyn TreeSource + '_>, String> {
        if is_oci_artifact(repo_url) {
            let charts = self.charts.as_ref().ok_or_else(no_chart_cache)?;
            return charts
                .open_artifact(repo_url, revision)
                .map(|tree| Box::new(tree) as Box<dyn TreeSource>)
                .map_err(|e| e.to_string());
        }
        let repo = self.cache.repo(repo_url).map_err(|e| e.to_string())?;
        let commit = repo.resolve(revision).map_err(|e| e.to_string())?;
        Ok(Box::new(GitTree::new(repo, commit)))
    }

    fn open_chart(
        &self,
        repo_url: &str,
        chart: &str,
        revision: &str,
        pass_credentials: bool,
    ) -> Result<Box<dyn TreeSource + '_>, String> {
        let charts = self.charts.as_ref().ok_or_else(no_chart_cache)?;
        charts
            .open(repo_url, chart, revision, pass_credentials)
            .map(|tree| Box::new(tree) as Box<dyn TreeSource>)
            .map_err(|e| e.to_string())
    }

    fn chart_fetcher(&self) -> Option<&dyn ChartFetcher> {
        self.charts.as_ref().map(|c| c as &dyn ChartFetcher)
    }
}
