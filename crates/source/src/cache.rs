//! The cache of bare repositories: one per repository URL under one directory, shared by every
//! application that uses the URL. Fetches of one URL are single-flight: a caller that asks while
//! a fetch of that URL is running waits for it and shares its outcome; different URLs fetch in
//! parallel. Blocking; call it from `spawn_blocking`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::credentials::RepoCredentials;
use crate::ids::{CommitId, is_full_sha, is_short_sha};
use crate::local::{LocalRepo, ReadError};
use crate::message::error_chain;
use crate::options::CacheOptions;
use crate::refs::RemoteRefs;
use crate::remote::{FetchReport, Remote, RemoteError, repo_dir};
use crate::url::{cache_key, redact_url};

/// A cache operation failed. URLs are redacted and messages scrubbed of credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    #[error("failed to create the cache directory {path}: {message}")]
    CreateDir { path: PathBuf, message: String },
    #[error("failed to initialise the cache repository for {url}: {message}")]
    Init { url: String, message: String },
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("failed to fetch {url}: the fetch this call waited for ended without a result")]
    FetchAbandoned { url: String },
}

/// The outcome of [`RepoCache::sync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    /// The commit the revision resolved to; it is in the cache.
    pub commit: CommitId,
    /// Whether a fetch ran (or was joined) to get it.
    pub fetched: bool,
}

/// Single-flight state of one URL's fetches.
#[derive(Default)]
struct FetchState {
    /// The extra refs of the fetch under way, if one is.
    running: Option<Vec<String>>,
    /// How many fetches have finished; waiters watch it change.
    finished: u64,
    last: Option<Result<FetchReport, CacheError>>,
}

#[derive(Default)]
struct Slot {
    repo: Mutex<Option<gix::ThreadSafeRepository>>,
    /// Its big directories, decoded (shared by every reader of the repository).
    trees: Arc<crate::big_trees::BigTrees>,
    fetch: Mutex<FetchState>,
    fetch_done: Condvar,
}

/// Locks, recovering from a panic in another holder: the guarded data stays consistent
/// because every holder writes it in one step.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Marks the running fetch finished even if the fetching thread panics, so waiters never hang.
struct FinishGuard<'a> {
    slot: &'a Slot,
    result: Option<Result<FetchReport, CacheError>>,
}

impl Drop for FinishGuard<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.slot.fetch);
        state.running = None;
        state.finished += 1;
        state.last = self.result.take();
        self.slot.fetch_done.notify_all();
    }
}

/// Packs a cache repository may collect before they are merged.
const MAX_PACKS: usize = 24;

/// The packs of the bare repository at `path`.
fn pack_count(path: &Path) -> usize {
    std::fs::read_dir(path.join("objects").join("pack"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "idx"))
                .count()
        })
        .unwrap_or(0)
}

/// Bare repositories cached under one directory, one per repository URL.
pub struct RepoCache {
    dir: PathBuf,
    options: CacheOptions,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    fetches: AtomicU64,
    listings: AtomicU64,
}

impl std::fmt::Debug for RepoCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoCache")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl RepoCache {
    /// A cache in `dir` (created if missing) with default options (`ssh` from PATH).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, CacheError> {
        Self::with_options(dir, CacheOptions::default())
    }

    /// A cache in `dir` (created if missing).
    pub fn with_options(
        dir: impl Into<PathBuf>,
        options: CacheOptions,
    ) -> Result<Self, CacheError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| CacheError::CreateDir {
            path: dir.clone(),
            message: e.to_string(),
        })?;
        Ok(RepoCache {
            dir,
            options,
            slots: Mutex::new(HashMap::new()),
            fetches: AtomicU64::new(0),
            listings: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the bare repository of `url` lives: named by a hash, never by the URL.
    pub fn repo_path(&self, url: &str) -> PathBuf {
        repo_dir(&self.dir, url)
    }

    /// How many fetches went to the network (joined fetches count once). For metrics and tests.
    pub fn network_fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// How many ref listings went to the network. For metrics and tests.
    pub fn ref_listings(&self) -> u64 {
        self.listings.load(Ordering::Relaxed)
    }

    fn slot(&self, url: &str) -> Arc<Slot> {
        lock(&self.slots).entry(cache_key(url)).or_default().clone()
    }

    /// The cached repository of `url` for reading; created empty if it was never fetched.
    pub fn repo(&self, url: &str) -> Result<LocalRepo, CacheError> {
        let slot = self.slot(url);
        let repo = self.ensure_repo(url, &slot)?;
        Ok(LocalRepo::new(repo, redact_url(url), slot.trees.clone()))
    }

    /// Opens the bare repository, creating it first if needed. Creation happens in a temporary
    /// directory that is renamed into place, so a crash never leaves half a repository behind.
    fn ensure_repo(&self, url: &str, slot: &Slot) -> Result<gix::ThreadSafeRepository, CacheError> {
        let mut cached = lock(&slot.repo);
        if let Some(repo) = cached.as_ref() {
            return Ok(repo.clone());
        }
        let path = self.repo_path(url);
        let init_err = |message: String| CacheError::Init {
            url: redact_url(url),
            message,
        };
        if path.exists() {
            match gix::ThreadSafeRepository::open_opts(&path, gix::open::Options::isolated()) {
                Ok(repo) => {
                    *cached = Some(repo.clone());
                    return Ok(repo);
                }
                Err(err) => {
                    tracing::warn!(url = %redact_url(url), error = %error_chain(&err), "recreating unreadable cache repository");
                    std::fs::remove_dir_all(&path).map_err(|e| init_err(e.to_string()))?;
                }
            }
        }
        let staging = tempfile::Builder::new()
            .prefix(".init-")
            .tempdir_in(&self.dir)
            .map_err(|e| init_err(e.to_string()))?;
        gix::ThreadSafeRepository::init_opts(
            staging.path(),
            gix::create::Kind::Bare,
            gix::create::Options::default(),
            gix::open::Options::isolated(),
        )
        .map_err(|e| init_err(error_chain(&e)))?;
        let staged = staging.keep();
        if let Err(err) = std::fs::rename(&staged, &path) {
            // Another process may have won the race; its repository is as good as ours.
            let _ = std::fs::remove_dir_all(&staged);
            if !path.exists() {
                return Err(init_err(err.to_string()));
            }
        }
        let repo = gix::ThreadSafeRepository::open_opts(&path, gix::open::Options::isolated())
            .map_err(|e| init_err(error_chain(&e)))?;
        *cached = Some(repo.clone());
        Ok(repo)
    }

    /// The cheap "did anything move?" check: the remote's branches, tags and HEAD from one
    /// handshake, without downloading objects. Compare a resolved revision with the last
    /// synced commit to decide whether to fetch.
    pub fn ls_remote(&self, url: &str, creds: &RepoCredentials) -> Result<RemoteRefs, CacheError> {
        let slot = self.slot(url);
        self.ensure_repo(url, &slot)?;
        self.listings.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let refs = Remote::new(url, creds, &self.options).list_refs(&self.repo_path(url))?;
        tracing::debug!(url = %redact_url(url), refs = refs.refs().len(), elapsed_ms = started.elapsed().as_millis() as u64, "listed remote refs");
        Ok(refs)
    }

    /// Fetches every branch and tag of `url` into its cache repository and makes the cached refs
    /// mirror the remote's. If a fetch of the same URL is already running, waits for it and
    /// returns its outcome instead of fetching again.
    pub fn fetch(&self, url: &str, creds: &RepoCredentials) -> Result<FetchReport, CacheError> {
        self.fetch_with_refs(url, creds, Vec::new())
    }

    fn fetch_with_refs(
        &self,
        url: &str,
        creds: &RepoCredentials,
        extra_refs: Vec<String>,
    ) -> Result<FetchReport, CacheError> {
        let slot = self.slot(url);
        self.ensure_repo(url, &slot)?;
        {
            let mut state = lock(&slot.fetch);
            loop {
                match &state.running {
                    None => break,
                    Some(running) if *running == extra_refs => {
                        // Join the fetch under way: wait until it finishes and share its result.
                        let seen = state.finished;
                        while state.finished == seen {
                            state = slot
                                .fetch_done
                                .wait(state)
                                .unwrap_or_else(|p| p.into_inner());
                        }
                        tracing::debug!(url = %redact_url(url), "joined a fetch already under way");
                        return state.last.clone().unwrap_or_else(|| {
                            Err(CacheError::FetchAbandoned {
                                url: redact_url(url),
                            })
                        });
                    }
                    // A fetch of other refs: wait for it to end, then fetch ours.
                    Some(_) => {
                        state = slot
                            .fetch_done
                            .wait(state)
                            .unwrap_or_else(|p| p.into_inner())
                    }
                }
            }
            state.running = Some(extra_refs.clone());
        }
        let mut guard = FinishGuard {
            slot: &slot,
            result: None,
        };
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let result = Remote::new(url, creds, &self.options)
            .fetch(&self.repo_path(url), &extra_refs)
            .map_err(CacheError::from);
        match &result {
            Ok(report) => {
                tracing::info!(
                    url = %redact_url(url),
                    received_pack = report.received_pack,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "fetched"
                );
                if report.received_pack {
                    self.after_new_pack(url, &slot);
                }
            }
            Err(err) => tracing::warn!(url = %redact_url(url), error = %err, "fetch failed"),
        }
        guard.result = Some(result.clone());
        drop(guard);
        result
    }

    /// Every fetch adds a pack. An open object store has room for the packs it found when it
    /// was opened (and a few more), so readers reopen it; and past [`MAX_PACKS`] the packs are
    /// merged into one (`git repack`, when git is installed), so that lookups stay fast in a
    /// cache that lives for months.
    fn after_new_pack(&self, url: &str, slot: &Slot) {
        let path = self.repo_path(url);
        if pack_count(&path) > MAX_PACKS {
            let repacked = std::process::Command::new("git")
                .arg("-C")
                .arg(&path)
                .args(["repack", "-a", "-d", "-q"])
                .stdin(std::process::Stdio::null())
                .output();
            match repacked {
                Ok(out) if out.status.success() => {
                    tracing::debug!(url = %redact_url(url), "merged the cache's packs")
                }
                Ok(out) => tracing::warn!(
                    url = %redact_url(url),
                    error = %String::from_utf8_lossy(&out.stderr).trim(),
                    "cannot merge the cache's packs"
                ),
                Err(error) => {
                    tracing::debug!(%error, "git is not installed; the cache's packs stay apart")
                }
            }
        }
        *lock(&slot.repo) = None;
    }

    /// Resolves `revision` from the cache alone (no network).
    pub fn resolve(&self, url: &str, revision: &str) -> Result<CommitId, CacheError> {
        Ok(self.repo(url)?.resolve(revision)?)
    }

    /// Makes sure the commit `revision` names is cached and returns it, touching the network as
    /// little as possible: a cached full commit id needs nothing; otherwise the refs are listed
    /// and, only when the commit they name is not cached yet, fetched. A full ref name outside
    /// branches and tags (e.g. `refs/pull/7/head`) is fetched by name.
    pub fn sync(
        &self,
        url: &str,
        creds: &RepoCredentials,
        revision: &str,
    ) -> Result<Synced, CacheError> {
        let local = self.repo(url)?;
        let wanted = revision.trim();
        let cached = local.resolve(wanted).ok();
        let up_to_date = |commit| {
            Ok(Synced {
                commit,
                fetched: false,
            })
        };
        // A commit id never moves: once cached, no network is needed.
        if let Some(commit) = cached.filter(|_| is_full_sha(wanted)) {
            return up_to_date(commit);
        }
        let refs = self.ls_remote(url, creds)?;
        match refs.resolve(wanted) {
            // The cached ref already points where the remote's does. (A cached commit alone is
            // not enough: the cached ref must agree, since readers resolve names locally.)
            Some(remote) if !is_full_sha(wanted) && cached == Some(remote) => {
                return up_to_date(remote);
            }
            // No remote ref of that name: an abbreviated commit id, already cached.
            None if is_short_sha(wanted) => {
                if let Some(commit) = cached {
                    return up_to_date(commit);
                }
            }
            _ => {}
        }
        let extra_refs = extra_refs_for(wanted, &refs);
        let report = self.fetch_with_refs(url, creds, extra_refs)?;
        let commit = match report.refs.resolve(wanted).filter(|_| !is_full_sha(wanted)) {
            Some(commit) if local.contains_commit(commit) => commit,
            _ => local.resolve(revision)?,
        };
        Ok(Synced {
            commit,
            fetched: true,
        })
    }
}

/// A full ref name outside the mirrored namespaces must be fetched by name.
fn extra_refs_for(revision: &str, refs: &RemoteRefs) -> Vec<String> {
    let mirrored = revision.starts_with("refs/heads/") || revision.starts_with("refs/tags/");
    if revision.starts_with("refs/") && !mirrored && refs.get(revision).is_none() {
        vec![revision.to_string()]
    } else {
        Vec::new()
    }
}

impl LocalRepo {
    /// Whether `commit` is in the cache (as a commit).
    pub fn contains_commit(&self, commit: CommitId) -> bool {
        let repo = self.thread_local();
        repo.try_find_header(commit.0)
            .ok()
            .flatten()
            .is_some_and(|h| h.kind() == gix::objs::Kind::Commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn only_foreign_full_ref_names_are_fetched_by_name() {
        let refs = RemoteRefs::default();
        assert_eq!(
            extra_refs_for("refs/pull/7/head", &refs),
            vec!["refs/pull/7/head".to_string()]
        );
        assert_eq!(
            extra_refs_for("refs/heads/main", &refs),
            Vec::<String>::new()
        );
        assert_eq!(extra_refs_for("main", &refs), Vec::<String>::new());
    }
}
