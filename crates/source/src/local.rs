//! Reading a cached repository: resolving revisions and looking at trees and files at a commit.
//! No network; everything here works on what the last fetch brought.

use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;

use crate::big_trees::{BIG, BigTrees, Entries};
use crate::ids::{CommitId, is_full_sha, is_short_sha};
use crate::message::error_chain;
use crate::refs::candidate_ref_names;
use std::sync::Arc;

/// Reading the cache failed. URLs are redacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error(
        "failed to resolve revision {revision:?} in {url}: no branch, tag or commit of that name"
    )]
    UnknownRevision { revision: String, url: String },
    #[error(
        "failed to resolve revision {revision:?} in {url}: the abbreviated commit id matches several commits"
    )]
    AmbiguousRevision { revision: String, url: String },
    #[error("failed to resolve revision {revision:?} in {url}: it names a {kind}, not a commit")]
    NotACommit {
        revision: String,
        url: String,
        kind: String,
    },
    #[error("failed to read commit {commit} of {url}: it is not in the cache (fetch it first)")]
    MissingCommit { commit: CommitId, url: String },
    #[error("failed to read {path:?} at {commit} in {url}: no such file or directory")]
    PathNotFound {
        path: String,
        commit: CommitId,
        url: String,
    },
    #[error("failed to read {path:?} at {commit} in {url}: it is not a directory")]
    NotADirectory {
        path: String,
        commit: CommitId,
        url: String,
    },
    #[error("failed to read {path:?} at {commit} in {url}: it is not a regular file")]
    NotAFile {
        path: String,
        commit: CommitId,
        url: String,
    },
    #[error("failed to read {path:?}: not a relative path inside the repository")]
    InvalidPath { path: String },
    #[error("failed to use glob {pattern:?}: {message}")]
    InvalidGlob { pattern: String, message: String },
    #[error("failed to read objects of {url}: {message}")]
    Objects { url: String, message: String },
}

/// One entry of a tree, owned.
#[derive(Debug, Clone)]
pub(crate) struct TreeEntry {
    pub(crate) name: Vec<u8>,
    pub(crate) kind: EntryKind,
    pub(crate) id: gix::ObjectId,
}

impl TreeEntry {
    pub(crate) fn name_lossy(&self) -> String {
        self.name.to_str_lossy().into_owned()
    }
}

/// The components of a repository path: `""`, `"."` and `"/"` are the root, `./a//b/` is
/// `a/b`; `..` is refused so that nothing can point outside the repository.
pub fn path_components(path: &str) -> Result<Vec<&str>, ReadError> {
    let mut components = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(ReadError::InvalidPath {
                    path: path.to_string(),
                });
            }
            _ if part.contains('\0') => {
                return Err(ReadError::InvalidPath {
                    path: path.to_string(),
                });
            }
            _ => components.push(part),
        }
    }
    Ok(components)
}

/// Who made a commit, when, and why: what Argo CD shows as revision metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// `Name <email>` of the author.
    pub author: String,
    /// Author time, seconds since the Unix epoch.
    pub authored_at: i64,
    /// The full commit message.
    pub message: String,
    pub parents: Vec<CommitId>,
}

/// A cached bare repository, opened for reading. Cheap to clone and to share across threads.
#[derive(Clone)]
pub struct LocalRepo {
    repo: gix::ThreadSafeRepository,
    url: String,
    trees: Arc<BigTrees>,
}

impl std::fmt::Debug for LocalRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRepo")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl LocalRepo {
    /// `url` must already be redacted: it only labels errors.
    pub(crate) fn new(
        repo: gix::ThreadSafeRepository,
        redacted_url: String,
        trees: Arc<BigTrees>,
    ) -> Self {
        LocalRepo {
            repo,
            url: redacted_url,
            trees,
        }
    }

    /// The repository URL, redacted.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn thread_local(&self) -> gix::Repository {
        self.repo.to_thread_local()
    }

    pub(crate) fn objects_error(&self, err: &(dyn std::error::Error + 'static)) -> ReadError {
        ReadError::Objects {
            url: self.url.clone(),
            message: error_chain(err),
        }
    }

    /// Resolves a `targetRevision` to a commit from the cached refs and objects: `""` or
    /// `HEAD`, a full commit id, a full ref name, a tag (annotated tags peeled) or branch name
    /// (git's order: tags first), or an abbreviated commit id that is unique.
    pub fn resolve(&self, revision: &str) -> Result<CommitId, ReadError> {
        let repo = self.thread_local();
        let wanted = revision.trim();
        if is_full_sha(wanted)
            && let Ok(id) = gix::ObjectId::from_hex(wanted.as_bytes())
        {
            if repo.has_object(id) {
                return self.peel_to_commit(&repo, id, revision);
            }
            return Err(self.unknown(revision));
        }
        for name in candidate_ref_names(wanted) {
            let found = repo
                .try_find_reference(name.as_str())
                .map_err(|e| self.objects_error(&e))?;
            if let Some(mut reference) = found {
                let id = reference.peel_to_id().map_err(|e| self.objects_error(&e))?;
                return self.peel_to_commit(&repo, id.detach(), revision);
            }
        }
        if is_short_sha(wanted) {
            return self.resolve_prefix(&repo, wanted, revision);
        }
        Err(self.unknown(revision))
    }

    fn unknown(&self, revision: &str) -> ReadError {
        ReadError::UnknownRevision {
            revision: revision.to_string(),
            url: self.url.clone(),
        }
    }

    /// Follows annotated tags; anything that does not end at a commit is an error.
    fn peel_to_commit(
        &self,
        repo: &gix::Repository,
        id: gix::ObjectId,
        revision: &str,
    ) -> Result<CommitId, ReadError> {
        let object = repo.find_object(id).map_err(|e| self.objects_error(&e))?;
        let peeled = object
            .peel_tags_to_end()
            .map_err(|e| self.objects_error(&e))?;
        if peeled.kind == gix::objs::Kind::Commit {
            Ok(CommitId(peeled.id))
        } else {
            Err(ReadError::NotACommit {
                revision: revision.to_string(),
                url: self.url.clone(),
                kind: peeled.kind.to_string(),
            })
        }
    }

    /// An abbreviated id: unique among the commits (other objects with the prefix are ignored,
    /// as git does when it expects a commit).
    fn resolve_prefix(
        &self,
        repo: &gix::Repository,
        hex: &str,
        revision: &str,
    ) -> Result<CommitId, ReadError> {
        let prefix = gix::hash::Prefix::from_hex(hex).map_err(|_| self.unknown(revision))?;
        let mut candidates = std::collections::HashSet::new();
        repo.objects
            .lookup_prefix(prefix, Some(&mut candidates))
            .map_err(|e| self.objects_error(&e))?;
        let commits: Vec<gix::ObjectId> = candidates
            .into_iter()
            .filter(|id| {
                repo.find_header(*id)
                    .is_ok_and(|h| h.kind() == gix::objs::Kind::Commit)
            })
            .collect();
        match commits.as_slice() {
            [] => Err(self.unknown(revision)),
            [one] => Ok(CommitId(*one)),
            _ => Err(ReadError::AmbiguousRevision {
                revision: revision.to_string(),
                url: self.url.clone(),
            }),
        }
    }

    /// Author, time, message and parents of a cached commit.
    pub fn commit_info(&self, commit: CommitId) -> Result<CommitInfo, ReadError> {
        let repo = self.thread_local();
        if !repo.has_object(commit.0) {
            return Err(ReadError::MissingCommit {
                commit,
                url: self.url.clone(),
            });
        }
        let object = repo
            .find_commit(commit.0)
            .map_err(|e| self.objects_error(&e))?;
        let author = object.author().map_err(|e| self.objects_error(&e))?.trim();
        Ok(CommitInfo {
            author: format!("{} <{}>", author.name, author.email),
            authored_at: author.seconds(),
            message: object.message_raw_sloppy().to_str_lossy().into_owned(),
            parents: object
                .parent_ids()
                .map(|id| CommitId(id.detach()))
                .collect(),
        })
    }

    /// The root tree of a commit.
    pub(crate) fn root_tree(
        &self,
        repo: &gix::Repository,
        commit: CommitId,
    ) -> Result<gix::ObjectId, ReadError> {
        if !repo.has_object(commit.0) {
            return Err(ReadError::MissingCommit {
                commit,
                url: self.url.clone(),
            });
        }
        let commit_object = repo
            .find_commit(commit.0)
            .map_err(|e| self.objects_error(&e))?;
        let tree = commit_object
            .tree_id()
            .map_err(|e| self.objects_error(&e))?;
        Ok(tree.detach())
    }

    /// The entries of a tree, in git's order.
    pub(crate) fn entries(
        &self,
        repo: &gix::Repository,
        tree: gix::ObjectId,
    ) -> Result<Vec<TreeEntry>, ReadError> {
        let tree = repo.find_tree(tree).map_err(|e| self.objects_error(&e))?;
        let decoded = tree.decode().map_err(|e| self.objects_error(&e))?;
        Ok(decoded
            .entries
            .iter()
            .map(|e| TreeEntry {
                name: e.filename.to_vec(),
                kind: e.mode.kind(),
                id: e.oid.to_owned(),
            })
            .collect())
    }

    /// What `path` is at `commit`: its kind and object id; `None` if nothing is there.
    pub(crate) fn lookup(
        &self,
        repo: &gix::Repository,
        commit: CommitId,
        path: &str,
    ) -> Result<Option<(EntryKind, gix::ObjectId)>, ReadError> {
        let components = path_components(path)?;
        let mut current = (EntryKind::Tree, self.root_tree(repo, commit)?);
        for component in components {
            if current.0 != EntryKind::Tree {
                return Ok(None);
            }
            match self.find_entry(repo, current.1, component.as_bytes())? {
                Some(entry) => current = entry,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// The entry `name` of `tree`: from the decoded copy of a big tree, else by a scan.
    fn find_entry(
        &self,
        repo: &gix::Repository,
        tree: gix::ObjectId,
        name: &[u8],
    ) -> Result<Option<(EntryKind, gix::ObjectId)>, ReadError> {
        if let Some(entries) = self.trees.get(&tree) {
            return Ok(entries.get(name).copied());
        }
        let object = repo.find_tree(tree).map_err(|e| self.objects_error(&e))?;
        let decoded = object.decode().map_err(|e| self.objects_error(&e))?;
        let entry = |e: &gix::objs::tree::EntryRef<'_>| (e.mode.kind(), e.oid.to_owned());
        if decoded.entries.len() < BIG {
            return Ok(decoded
                .entries
                .iter()
                .find(|e| e.filename == name)
                .map(entry));
        }
        let entries: Entries = decoded
            .entries
            .iter()
            .map(|e| (e.filename.to_vec(), entry(e)))
            .collect();
        let found = entries.get(name).copied();
        self.trees.insert(tree, entries);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn paths_are_normalised_and_cannot_escape() {
        assert_eq!(path_components("").expect("root"), Vec::<&str>::new());
        assert_eq!(path_components(".").expect("root"), Vec::<&str>::new());
        assert_eq!(path_components("/").expect("root"), Vec::<&str>::new());
        assert_eq!(
            path_components("./apps//guestbook/").expect("ok"),
            vec!["apps", "guestbook"]
        );
        for bad in ["..", "apps/../..", "a/../b"] {
            let err = path_components(bad).expect_err("refused");
            assert!(err.to_string().starts_with("failed to read"), "{err}");
        }
    }
}
