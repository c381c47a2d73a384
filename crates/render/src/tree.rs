//! Files of one source at one commit, as the render cache needs them: a content id per
//! path (a git tree or blob id: equal ids mean equal contents) and an export to disk.
//! [`TreeWorkspace`] exports only the paths a render asks for and remembers their ids.

use crate::paths;
use crate::workspace::{SourceId, Workspace, WorkspaceError, on_disk, unknown};
use driftless_source::DirectoryFiles;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TreeError(pub String);

/// One source (a repository at a commit, or a plain directory).
pub trait TreeSource: Send + Sync {
    /// A content id of the file or directory at `path` (`""` is the root); `None` if absent.
    fn tree_id(&self, path: &str) -> Result<Option<String>, TreeError>;
    /// Writes the file or directory at `path` to `dest` (`dest` stands for `path` itself).
    fn export(&self, path: &str, dest: &Path) -> Result<(), TreeError>;
    /// The files of the directory at `path` by path relative to it, sorted (those below it
    /// too with `recurse`), when they can be read without an export; `None` otherwise (say,
    /// a symlink whose bounds an export checks).
    fn files(&self, _path: &str, _recurse: bool) -> Result<Option<DirectoryFiles>, TreeError> {
        Ok(None)
    }
    /// Names the source in messages (URL and commit).
    fn describe(&self) -> String;
    /// The commit these files are at, when they come from one (plugins see it as
    /// `ARGOCD_APP_REVISION`).
    fn revision(&self) -> Option<String> {
        None
    }
}

/// A path a render read, and its content id then (`None`: it was absent).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct TreeRead {
    pub source: SourceId,
    pub path: String,
    pub id: Option<String>,
}

/// A private temp directory filled on demand from tree sources; made only once a render
/// needs files on disk (plain manifests are read from the tree itself).
pub struct TreeWorkspace<'a> {
    sources: BTreeMap<SourceId, &'a dyn TreeSource>,
    dir: std::sync::OnceLock<tempfile::TempDir>,
    exported: BTreeMap<SourceId, Vec<String>>,
    reads: BTreeMap<(SourceId, String), Option<String>>,
}

impl<'a> TreeWorkspace<'a> {
    pub fn new(
        main: &'a dyn TreeSource,
        refs: &BTreeMap<String, &'a dyn TreeSource>,
    ) -> Result<Self, WorkspaceError> {
        let mut sources: BTreeMap<SourceId, &'a dyn TreeSource> = BTreeMap::new();
        sources.insert(SourceId::Main, main);
        for (name, tree) in refs {
            sources.insert(SourceId::Ref(name.clone()), *tree);
        }
        Ok(Self {
            sources,
            dir: std::sync::OnceLock::new(),
            exported: BTreeMap::new(),
            reads: BTreeMap::new(),
        })
    }

    /// The temp directory, made on first use.
    fn dir(&self) -> Result<&Path, WorkspaceError> {
        if let Some(dir) = self.dir.get() {
            return Ok(dir.path());
        }
        let made = tempfile::Builder::new()
            .prefix("driftless-render-")
            .tempdir()
            .map_err(|e| WorkspaceError::Tree {
                source_id: SourceId::Main,
                path: String::new(),
                message: format!("failed to make a temp dir: {e}"),
            })?;
        Ok(self.dir.get_or_init(|| made).path())
    }

    /// Every path read so far, with its id.
    pub fn reads(&self) -> Vec<TreeRead> {
        self.reads
            .iter()
            .map(|((source, path), id)| TreeRead {
                source: source.clone(),
                path: path.clone(),
                id: id.clone(),
            })
            .collect()
    }

    /// Records `path` of `source` as read, with its current id, without exporting it.
    pub fn note(&mut self, source: &SourceId, path: &str, id: Option<String>) {
        self.reads.insert((source.clone(), path.to_string()), id);
    }
}

impl Workspace for TreeWorkspace<'_> {
    fn ensure(&mut self, source: &SourceId, path: &str) -> Result<Option<PathBuf>, WorkspaceError> {
        let normalized =
            paths::normalize(path).ok_or_else(|| WorkspaceError::OutsideRepo(path.to_string()))?;
        let tree = *self.sources.get(source).ok_or_else(|| unknown(source))?;
        let target = on_disk(&self.root(source)?, &normalized);
        let exported = self.exported.entry(source.clone()).or_default();
        if exported
            .iter()
            .any(|dir| paths::is_within(&normalized, dir))
        {
            // Inside an exported tree: its id already covers this path.
            return Ok(target.exists().then_some(target));
        }
        let tree_error = |e: TreeError| WorkspaceError::Tree {
            source_id: source.clone(),
            path: normalized.clone(),
            message: e.0,
        };
        let id = tree.tree_id(&normalized).map_err(tree_error)?;
        self.reads
            .insert((source.clone(), normalized.clone()), id.clone());
        if id.is_none() {
            return Ok(None);
        }
        // A parent exported later replaces what was exported below it.
        if target.exists() {
            let _ = if target.is_dir() {
                std::fs::remove_dir_all(&target)
            } else {
                std::fs::remove_file(&target)
            };
        }
        tree.export(&normalized, &target).map_err(tree_error)?;
        exported.retain(|p| !paths::is_within(p, &normalized));
        exported.push(normalized);
        Ok(Some(target))
    }

    fn root(&self, source: &SourceId) -> Result<PathBuf, WorkspaceError> {
        match source {
            SourceId::Main => Ok(self.dir()?.join("main")),
            SourceId::Ref(name) if self.sources.contains_key(source) => {
                Ok(self.dir()?.join("refs").join(hex::encode(name.as_bytes())))
            }
            SourceId::Ref(_) => Err(unknown(source)),
        }
    }

    fn writable(&self) -> bool {
        true
    }

    fn files(
        &mut self,
        source: &SourceId,
        path: &str,
        recurse: bool,
    ) -> Result<Option<DirectoryFiles>, WorkspaceError> {
        let normalized =
            paths::normalize(path).ok_or_else(|| WorkspaceError::OutsideRepo(path.to_string()))?;
        let tree = *self.sources.get(source).ok_or_else(|| unknown(source))?;
        let exported = self.exported.get(source);
        if exported.is_some_and(|dirs| dirs.iter().any(|dir| paths::is_within(&normalized, dir))) {
            // Already on disk (and perhaps edited there): read from there.
            return Ok(None);
        }
        let tree_error = |e: TreeError| WorkspaceError::Tree {
            source_id: source.clone(),
            path: normalized.clone(),
            message: e.0,
        };
        let Some(id) = tree.tree_id(&normalized).map_err(tree_error)? else {
            return Ok(None);
        };
        let Some(files) = tree.files(&normalized, recurse).map_err(tree_error)? else {
            return Ok(None);
        };
        self.reads.insert((source.clone(), normalized), Some(id));
        Ok(Some(files))
    }
}

/// A plain directory as a tree source; ids are content hashes (`sha256:` over names,
/// kinds and contents), so unchanged directories keep their id.
#[derive(Debug, Clone)]
pub struct DirTree {
    root: PathBuf,
}

impl DirTree {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl TreeSource for DirTree {
    fn tree_id(&self, path: &str) -> Result<Option<String>, TreeError> {
        let normalized = paths::normalize(path)
            .ok_or_else(|| TreeError(format!("{path:?} leaves the directory")))?;
        let target = on_disk(&self.root, &normalized);
        if !target.exists() {
            return Ok(None);
        }
        let mut hasher = Sha256::new();
        hash_path(&target, &mut hasher)?;
        Ok(Some(format!("sha256:{}", hex::encode(hasher.finalize()))))
    }

    fn export(&self, path: &str, dest: &Path) -> Result<(), TreeError> {
        let normalized = paths::normalize(path)
            .ok_or_else(|| TreeError(format!("{path:?} leaves the directory")))?;
        crate::kustomize::copy_tree(&on_disk(&self.root, &normalized), dest)
            .map_err(|e| TreeError(e.to_string()))
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

fn hash_path(path: &Path, hasher: &mut Sha256) -> Result<(), TreeError> {
    let io = |e: std::io::Error| TreeError(format!("failed to read {}: {e}", path.display()));
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(io)?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        hasher.update(b"tree\0");
        for entry in entries {
            let name = entry.file_name();
            hasher.update(name.as_encoded_bytes());
            hasher.update(b"\0");
            hash_path(&entry.path(), hasher)?;
        }
        hasher.update(b"end\0");
    } else {
        let bytes = std::fs::read(path).map_err(io)?;
        hasher.update(b"blob\0");
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(())
}
