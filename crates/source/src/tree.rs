//! Looking at the tree of a cached commit: tree ids, files, listings and globs.

use gix::objs::tree::EntryKind;

use crate::ids::{CommitId, TreeId};
use crate::local::{LocalRepo, ReadError, path_components};

/// What kind of thing a path is at a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    Directory,
    File,
    ExecutableFile,
    Symlink,
    Submodule,
}

impl From<EntryKind> for PathKind {
    fn from(kind: EntryKind) -> Self {
        match kind {
            EntryKind::Tree => PathKind::Directory,
            EntryKind::Blob => PathKind::File,
            EntryKind::BlobExecutable => PathKind::ExecutableFile,
            EntryKind::Link => PathKind::Symlink,
            EntryKind::Commit => PathKind::Submodule,
        }
    }
}

impl LocalRepo {
    /// The tree (directory) at `path` of `commit`, e.g. an application's `path`. Equal tree
    /// ids mean equal contents, so render results can be cached by it.
    pub fn tree_id(&self, commit: CommitId, path: &str) -> Result<TreeId, ReadError> {
        let repo = self.thread_local();
        match self.lookup(&repo, commit, path)? {
            Some((EntryKind::Tree, id)) => Ok(TreeId(id)),
            Some(_) => Err(ReadError::NotADirectory {
                path: path.into(),
                commit,
                url: self.url().to_string(),
            }),
            None => Err(ReadError::PathNotFound {
                path: path.into(),
                commit,
                url: self.url().to_string(),
            }),
        }
    }

    /// What `path` is at `commit`, or `None` when nothing is there.
    pub fn path_kind(&self, commit: CommitId, path: &str) -> Result<Option<PathKind>, ReadError> {
        let repo = self.thread_local();
        Ok(self
            .lookup(&repo, commit, path)?
            .map(|(kind, _)| kind.into()))
    }

    /// The contents of the regular (or executable) file at `path` of `commit`.
    pub fn read_file(&self, commit: CommitId, path: &str) -> Result<Vec<u8>, ReadError> {
        let repo = self.thread_local();
        match self.lookup(&repo, commit, path)? {
            Some((EntryKind::Blob | EntryKind::BlobExecutable, id)) => {
                let blob = repo.find_blob(id).map_err(|e| self.objects_error(&e))?;
                Ok(blob.data.clone())
            }
            Some(_) => Err(ReadError::NotAFile {
                path: path.into(),
                commit,
                url: self.url().to_string(),
            }),
            None => Err(ReadError::PathNotFound {
                path: path.into(),
                commit,
                url: self.url().to_string(),
            }),
        }
    }

    /// Every regular or executable file under the directory `dir` of `commit`, recursively, as
    /// paths from the repository root, sorted. Symlinks and submodules are not listed.
    pub fn list_files(&self, commit: CommitId, dir: &str) -> Result<Vec<String>, ReadError> {
        let repo = self.thread_local();
        let start = match self.lookup(&repo, commit, dir)? {
            Some((EntryKind::Tree, id)) => id,
            Some(_) => {
                return Err(ReadError::NotADirectory {
                    path: dir.into(),
                    commit,
                    url: self.url().to_string(),
                });
            }
            None => {
                return Err(ReadError::PathNotFound {
                    path: dir.into(),
                    commit,
                    url: self.url().to_string(),
                });
            }
        };
        let prefix = path_components(dir)?.join("/");
        let mut files = Vec::new();
        self.walk(&repo, start, &prefix, &mut |path, kind| {
            if matches!(kind, EntryKind::Blob | EntryKind::BlobExecutable) {
                files.push(path.to_string());
            }
        })?;
        files.sort();
        Ok(files)
    }

    /// Every directory of `commit` (not the root) whose path matches the glob `pattern`, sorted.
    /// `*` stays within one path segment (like Go's `path.Match`, as Argo CD's git directory
    /// generator uses); `**` spans segments.
    pub fn find_dirs(&self, commit: CommitId, pattern: &str) -> Result<Vec<String>, ReadError> {
        self.find_matching(commit, pattern, |kind| kind == EntryKind::Tree)
    }

    /// Every regular or executable file of `commit` whose path matches the glob `pattern`,
    /// sorted (Argo CD's git file generator), with the same glob rules as [`Self::find_dirs`].
    pub fn find_files(&self, commit: CommitId, pattern: &str) -> Result<Vec<String>, ReadError> {
        self.find_matching(commit, pattern, |kind| {
            matches!(kind, EntryKind::Blob | EntryKind::BlobExecutable)
        })
    }

    fn find_matching(
        &self,
        commit: CommitId,
        pattern: &str,
        wanted: impl Fn(EntryKind) -> bool,
    ) -> Result<Vec<String>, ReadError> {
        let matcher = globset::GlobBuilder::new(pattern.trim_start_matches('/'))
            .literal_separator(true)
            .build()
            .map_err(|e| ReadError::InvalidGlob {
                pattern: pattern.to_string(),
                message: e.to_string(),
            })?
            .compile_matcher();
        let repo = self.thread_local();
        let root = self.root_tree(&repo, commit)?;
        let mut found = Vec::new();
        self.walk(&repo, root, "", &mut |path, kind| {
            if wanted(kind) && matcher.is_match(path) {
                found.push(path.to_string());
            }
        })?;
        found.sort();
        Ok(found)
    }

    /// Visits every entry below `tree` (depth first, without recursion) with its path.
    fn walk(
        &self,
        repo: &gix::Repository,
        tree: gix::ObjectId,
        prefix: &str,
        visit: &mut dyn FnMut(&str, EntryKind),
    ) -> Result<(), ReadError> {
        let mut pending = vec![(tree, prefix.to_string())];
        while let Some((tree, dir)) = pending.pop() {
            for entry in self.entries(repo, tree)? {
                let path = if dir.is_empty() {
                    entry.name_lossy()
                } else {
                    format!("{dir}/{}", entry.name_lossy())
                };
                visit(&path, entry.kind);
                if entry.kind == EntryKind::Tree {
                    pending.push((entry.id, path));
                }
            }
        }
        Ok(())
    }
}
