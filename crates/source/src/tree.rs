//! Looking at the tree of a cached commit: tree ids, files, listings and globs.

use gix::objs::tree::EntryKind;

use crate::ids::{CommitId, TreeId};
use crate::local::{LocalRepo, ReadError, path_components};

/// The files of a directory with their contents, by path relative to it, sorted.
pub type DirectoryFiles = Vec<(String, Vec<u8>)>;

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
        let start = self.directory(&repo, commit, dir)?;
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

    /// The files of the directory `dir` of `commit` with their contents, by path relative to
    /// `dir`, sorted; those below it too with `recurse`. What an export of `dir` would put on
    /// disk, read without writing anything: renders of plain manifests need no files.
    /// `Ok(None)` when anywhere below `dir` (as far as an export goes, whatever `recurse`)
    /// there is a symlink or a name that is not a safe UTF-8 file name: those need an export's
    /// checks. Submodules are left out, as an export leaves them.
    pub fn read_files(
        &self,
        commit: CommitId,
        dir: &str,
        recurse: bool,
    ) -> Result<Option<DirectoryFiles>, ReadError> {
        let repo = self.thread_local();
        let start = self.directory(&repo, commit, dir)?;
        let mut files = Vec::new();
        let mut pending = vec![(start, String::new())];
        while let Some((tree, below)) = pending.pop() {
            for entry in self.entries(&repo, tree)? {
                let Some(name) = std::str::from_utf8(&entry.name)
                    .ok()
                    .filter(|_| crate::export::is_safe_name(&entry.name))
                else {
                    return Ok(None);
                };
                let path = if below.is_empty() {
                    name.to_string()
                } else {
                    format!("{below}/{name}")
                };
                match entry.kind {
                    EntryKind::Tree => pending.push((entry.id, path)),
                    EntryKind::Commit => {}
                    EntryKind::Link => return Ok(None),
                    EntryKind::Blob | EntryKind::BlobExecutable
                        if !recurse && !below.is_empty() => {}
                    EntryKind::Blob | EntryKind::BlobExecutable => {
                        let blob = repo
                            .find_blob(entry.id)
                            .map_err(|e| self.objects_error(&e))?;
                        files.push((path, blob.data.clone()));
                    }
                }
            }
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Some(files))
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
    /// The tree of the directory `dir` of `commit`: an error when it is missing or not a
    /// directory.
    pub(crate) fn directory(
        &self,
        repo: &gix::Repository,
        commit: CommitId,
        dir: &str,
    ) -> Result<gix::ObjectId, ReadError> {
        match self.lookup(repo, commit, dir)? {
            Some((EntryKind::Tree, id)) => Ok(id),
            Some(_) => Err(ReadError::NotADirectory {
                path: dir.into(),
                commit,
                url: self.url().to_string(),
            }),
            None => Err(ReadError::PathNotFound {
                path: dir.into(),
                commit,
                url: self.url().to_string(),
            }),
        }
    }

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
