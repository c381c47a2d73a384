//! Where the renderer finds files: the repository (and `ref` sources) laid out on disk.
//! A render asks for every path it reads through [`Workspace::ensure`], so a git-backed
//! workspace can export just those paths and record their tree ids for the cache.

use crate::paths;
use driftless_source::DirectoryFiles;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which source of an Application a path belongs to: the one rendered, or a `ref` source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SourceId {
    Main,
    Ref(String),
}

impl std::fmt::Display for SourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceId::Main => write!(f, "source"),
            SourceId::Ref(name) => write!(f, "${name}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("failed to find source ${0}: no source of the Application has `ref: {0}`")]
    UnknownRef(String),
    #[error("failed to resolve path {0:?}: it leaves the repository")]
    OutsideRepo(String),
    #[error("failed to read {path} from {source_id}: {message}")]
    Tree {
        source_id: SourceId,
        path: String,
        message: String,
    },
}

pub trait Workspace {
    /// Makes `path` (a file or directory of `source`) present on disk and returns where it
    /// is; `None` when the source has no such path.
    fn ensure(&mut self, source: &SourceId, path: &str) -> Result<Option<PathBuf>, WorkspaceError>;
    /// The directory standing for the root of `source`.
    fn root(&self, source: &SourceId) -> Result<PathBuf, WorkspaceError>;
    /// True when files on disk are a private copy that the render may edit.
    fn writable(&self) -> bool;
    /// The files of the directory `path` of `source` by path relative to it, sorted (those
    /// below it too with `recurse`), read as a render of plain manifests needs them, without
    /// putting them on disk; the read is recorded as [`Self::ensure`] records it. `None`: this
    /// workspace cannot (or may not) give them so, and the render reads them from disk.
    fn files(
        &mut self,
        _source: &SourceId,
        _path: &str,
        _recurse: bool,
    ) -> Result<Option<DirectoryFiles>, WorkspaceError> {
        Ok(None)
    }
}

/// Directories already on disk (a checkout, `--repo-root`); read in place, never edited.
#[derive(Debug, Clone, Default)]
pub struct DirWorkspace {
    roots: BTreeMap<SourceId, PathBuf>,
}

impl DirWorkspace {
    pub fn new(main_root: impl Into<PathBuf>) -> Self {
        let mut roots = BTreeMap::new();
        roots.insert(SourceId::Main, main_root.into());
        Self { roots }
    }

    /// Adds the root of a `ref` source (`$name/...` in value files).
    pub fn with_ref(mut self, name: &str, root: impl Into<PathBuf>) -> Self {
        self.roots
            .insert(SourceId::Ref(name.to_string()), root.into());
        self
    }
}

impl Workspace for DirWorkspace {
    fn ensure(&mut self, source: &SourceId, path: &str) -> Result<Option<PathBuf>, WorkspaceError> {
        let normalized =
            paths::normalize(path).ok_or_else(|| WorkspaceError::OutsideRepo(path.to_string()))?;
        let on_disk = on_disk(&self.root(source)?, &normalized);
        Ok(on_disk.exists().then_some(on_disk))
    }

    fn root(&self, source: &SourceId) -> Result<PathBuf, WorkspaceError> {
        match self.roots.get(source) {
            Some(root) => Ok(root.clone()),
            None => Err(unknown(source)),
        }
    }

    fn writable(&self) -> bool {
        false
    }
}

pub(crate) fn unknown(source: &SourceId) -> WorkspaceError {
    match source {
        SourceId::Ref(name) => WorkspaceError::UnknownRef(name.clone()),
        SourceId::Main => WorkspaceError::UnknownRef(String::new()),
    }
}

/// The file for a normalized repository path under `root`.
pub fn on_disk(root: &Path, normalized: &str) -> PathBuf {
    if normalized.is_empty() {
        root.to_path_buf()
    } else {
        root.join(normalized)
    }
}
