//! [`GitFiles`] on driftless' repository cache: the revision is synced (fetched when it
//! moved) once per repository and revision, so every generator of one reconcile sees the
//! same commit. Blocking (gix): call it from `spawn_blocking`.

use std::collections::HashMap;
use std::sync::Mutex;

use driftless_source::{CommitId, LocalRepo, RepoCache, RepoCredentials, redact_url};

use crate::git_input::{GitError, GitFiles};

/// Reads repositories through a [`RepoCache`].
pub struct RepoCacheFiles<'a> {
    cache: &'a RepoCache,
    credentials: HashMap<String, RepoCredentials>,
    offline: bool,
    resolved: Mutex<HashMap<(String, String), CommitId>>,
}

impl<'a> RepoCacheFiles<'a> {
    /// Syncs each revision from its remote (anonymously unless credentials are given).
    pub fn new(cache: &'a RepoCache) -> Self {
        RepoCacheFiles {
            cache,
            credentials: HashMap::new(),
            offline: false,
            resolved: Mutex::new(HashMap::new()),
        }
    }

    /// Credentials for one repository URL.
    pub fn with_credentials(mut self, repo_url: &str, credentials: RepoCredentials) -> Self {
        self.credentials.insert(repo_url.to_string(), credentials);
        self
    }

    /// Resolves revisions from the cache alone, without touching the network (for when the
    /// caller has just fetched).
    pub fn offline(mut self) -> Self {
        self.offline = true;
        self
    }

    fn error(repo_url: &str, revision: &str, message: impl ToString) -> GitError {
        GitError {
            repo_url: redact_url(repo_url),
            revision: revision.to_string(),
            message: message.to_string(),
        }
    }

    /// The cached repository and the commit `revision` names in it.
    fn commit(&self, repo_url: &str, revision: &str) -> Result<(LocalRepo, CommitId), GitError> {
        let repo = self
            .cache
            .repo(repo_url)
            .map_err(|e| Self::error(repo_url, revision, e))?;
        let key = (repo_url.to_string(), revision.to_string());
        let mut resolved = self
            .resolved
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(commit) = resolved.get(&key) {
            return Ok((repo, *commit));
        }
        let commit = if self.offline {
            self.cache
                .resolve(repo_url, revision)
                .map_err(|e| Self::error(repo_url, revision, e))?
        } else {
            let anonymous = RepoCredentials::anonymous();
            let creds = self.credentials.get(repo_url).unwrap_or(&anonymous);
            self.cache
                .sync(repo_url, creds, revision)
                .map_err(|e| Self::error(repo_url, revision, e))?
                .commit
        };
        resolved.insert(key, commit);
        Ok((repo, commit))
    }
}

impl GitFiles for RepoCacheFiles<'_> {
    fn dirs(&self, repo_url: &str, revision: &str) -> Result<Vec<String>, GitError> {
        let (repo, commit) = self.commit(repo_url, revision)?;
        repo.find_dirs(commit, "**")
            .map_err(|e| Self::error(repo_url, revision, e))
    }

    fn files(
        &self,
        repo_url: &str,
        revision: &str,
        glob: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, GitError> {
        let (repo, commit) = self.commit(repo_url, revision)?;
        let paths = repo
            .find_files(commit, glob)
            .map_err(|e| Self::error(repo_url, revision, e))?;
        paths
            .into_iter()
            .map(|path| {
                let contents = repo
                    .read_file(commit, &path)
                    .map_err(|e| Self::error(repo_url, revision, e))?;
                Ok((path, contents))
            })
            .collect()
    }
}
