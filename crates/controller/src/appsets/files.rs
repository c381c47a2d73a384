//! The git generators' view of the repository cache the Application controller shares. A
//! repository the ref polling watches is read from the cache alone: the poll fetched it,
//! and a failed poll was reported before generating, so reading never touches the network
//! and a transient failure never reads as "the files are gone". Any other repository (a
//! templated `repoURL`, known only while generating) is synced when read. Blocking: run it
//! in `spawn_blocking`.

use driftless_appset::{GitError, GitFiles, RepoCacheFiles};
use driftless_source::{RepoCache, cache_key};
use std::collections::BTreeSet;

pub struct SharedCacheFiles<'a> {
    polled: BTreeSet<String>,
    offline: RepoCacheFiles<'a>,
    online: RepoCacheFiles<'a>,
}

impl<'a> SharedCacheFiles<'a> {
    /// `polled`: the repository URLs the ref polling checked for this reconcile.
    pub fn new(cache: &'a RepoCache, polled: &[String]) -> Self {
        Self {
            polled: polled.iter().map(|url| cache_key(url)).collect(),
            offline: RepoCacheFiles::new(cache).offline(),
            online: RepoCacheFiles::new(cache),
        }
    }

    fn pick(&self, repo_url: &str) -> &RepoCacheFiles<'a> {
        if self.polled.contains(&cache_key(repo_url)) {
            &self.offline
        } else {
            &self.online
        }
    }
}

impl GitFiles for SharedCacheFiles<'_> {
    fn dirs(&self, repo_url: &str, revision: &str) -> Result<Vec<String>, GitError> {
        self.pick(repo_url).dirs(repo_url, revision)
    }

    fn files(
        &self,
        repo_url: &str,
        revision: &str,
        glob: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, GitError> {
        self.pick(repo_url).files(repo_url, revision, glob)
    }
}
