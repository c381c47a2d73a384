//! Git change detection: one cheap ref listing per repository (not per app) each poll, and one
//! fetch per repository when its refs moved, however many apps use it. Apps resolve their
//! revisions from the local cache only; the network is this module's business.
//!
//! A repository's last check may have failed (unreachable, bad credentials): apps using it are
//! told so and keep their last good state.

use crate::runtime::mutex::lock;
use crate::runtime::stores::ControlStores;
use driftless_decisions::app_key::Key;
use driftless_source::{
    CacheError, RemoteRefs, RepoCache, RepoCredentials, cache_key, credentials_for, redact_url,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// Why a repository could not be read. URLs are redacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// Listing, fetching or reading the cached copy failed (its message names the step).
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("failed to resolve revision {revision:?} of {url}: {source}")]
    Resolve {
        revision: String,
        url: String,
        source: CacheError,
    },
    /// The blocking task doing the git work ended without an answer (it panicked).
    #[error("failed to {step} {url}: {message}")]
    Task {
        step: &'static str,
        url: String,
        message: String,
    },
}

impl RepoError {
    fn task(step: &'static str, url: &str, error: &tokio::task::JoinError) -> Self {
        Self::Task {
            step,
            url: redact_url(url),
            message: error.to_string(),
        }
    }
}

/// The state of one repository URL.
struct Repo {
    url: String,
    /// Held while checking, so concurrent callers share one listing and one fetch.
    check: tokio::sync::Mutex<()>,
    state: Mutex<RepoState>,
}

#[derive(Default)]
struct RepoState {
    /// The refs seen at the last successful check (None: never checked).
    refs: Option<RemoteRefs>,
    /// Why the last check failed, if it did.
    error: Option<RepoError>,
    /// Whether a check ran at all (a failing repository is retried by the poll, not by every app).
    attempted: bool,
    /// Apps and ApplicationSets using the repository: told when it moves.
    users: BTreeSet<Key>,
}

/// The repository cache and what is known of each remote.
pub struct GitWatcher {
    cache: Arc<RepoCache>,
    secrets: Option<ControlStores>,
    repos: Mutex<HashMap<String, Arc<Repo>>>,
    metrics: Arc<crate::runtime::metrics::Metrics>,
}

impl GitWatcher {
    /// `secrets`: where Argo CD repository Secrets are read from (None: anonymous access only).
    pub fn new(
        cache: Arc<RepoCache>,
        secrets: Option<ControlStores>,
        metrics: Arc<crate::runtime::metrics::Metrics>,
    ) -> Self {
        Self {
            cache,
            secrets,
            repos: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    pub fn cache(&self) -> &Arc<RepoCache> {
        &self.cache
    }

    fn repo(&self, url: &str) -> Arc<Repo> {
        lock(&self.repos)
            .entry(cache_key(url))
            .or_insert_with(|| {
                Arc::new(Repo {
                    url: url.to_string(),
                    check: tokio::sync::Mutex::new(()),
                    state: Mutex::new(RepoState::default()),
                })
            })
            .clone()
    }

    /// Records that `user` uses exactly these repositories.
    pub fn register(&self, user: &Key, urls: &[String]) {
        let wanted: BTreeSet<String> = urls.iter().map(|u| cache_key(u)).collect();
        for url in urls {
            self.repo(url);
        }
        for (key, repo) in lock(&self.repos).iter() {
            let mut state = lock(&repo.state);
            if wanted.contains(key) {
                state.users.insert(user.clone());
            } else {
                state.users.remove(user);
            }
        }
    }

    /// Forgets `user` (deleted).
    pub fn forget(&self, user: &Key) {
        self.register(user, &[]);
    }

    /// Makes sure `url` was checked at least once (or again, with `force`), and returns the
    /// error of its last check, if that failed.
    pub async fn ensure(&self, url: &str, force: bool) -> Result<(), RepoError> {
        let repo = self.repo(url);
        // Always through the check's lock: a first check another caller has started (and
        // marked attempted) may still be fetching, and resolving before it ends would pin the
        // app to the commit cached before the controller started, with no move left to
        // announce the new one.
        let _ = self.check(&repo, !force).await;
        match &lock(&repo.state).error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// One round: every repository some app uses is listed once; returns the users whose
    /// repositories moved.
    pub async fn poll(&self) -> BTreeSet<Key> {
        let repos: Vec<Arc<Repo>> = lock(&self.repos)
            .values()
            .filter(|r| !lock(&r.state).users.is_empty())
            .cloned()
            .collect();
        let checks = repos
            .iter()
            .map(|repo| async move { (repo, self.check(repo, false).await) });
        let mut moved = BTreeSet::new();
        for (repo, outcome) in futures::future::join_all(checks).await {
            if outcome {
                moved.extend(lock(&repo.state).users.iter().cloned());
            }
        }
        moved
    }

    /// Checks now the repositories in use whose URL is one of `urls` (a webhook's); returns the
    /// users whose repositories moved.
    pub async fn check_urls(&self, urls: &[String]) -> BTreeSet<Key> {
        let wanted: BTreeSet<String> = urls.iter().map(|u| cache_key(u)).collect();
        let repos: Vec<Arc<Repo>> = lock(&self.repos)
            .iter()
            .filter(|(key, _)| wanted.contains(*key))
            .map(|(_, r)| r.clone())
            .collect();
        let mut moved = BTreeSet::new();
        for repo in repos {
            if self.check(&repo, false).await {
                moved.extend(lock(&repo.state).users.iter().cloned());
            }
        }
        moved
    }

    /// Lists the remote's refs; fetches when they differ from the last listing. Returns whether
    /// anything changed for the apps (refs moved, or the repository became reachable or not).
    /// `first_only`: do nothing if a check already ran (callers that raced for the first one).
    async fn check(&self, repo: &Arc<Repo>, first_only: bool) -> bool {
        let _one_at_a_time = repo.check.lock().await;
        if std::mem::replace(&mut lock(&repo.state).attempted, true) && first_only {
            return false;
        }
        let creds = self.credentials(&repo.url).await;
        let (cache, url, c) = (self.cache.clone(), repo.url.clone(), creds.clone());
        let started = std::time::Instant::now();
        let listed = tokio::task::spawn_blocking(move || cache.ls_remote(&url, &c)).await;
        self.metrics
            .git_request(&redact_url(&repo.url), "ls-remote", started.elapsed());
        let listed = match listed {
            Ok(Ok(refs)) => Ok(refs),
            Ok(Err(e)) => Err(RepoError::Cache(e)),
            Err(e) => Err(RepoError::task("list refs of", &repo.url, &e)),
        };
        let refs = match listed {
            Ok(refs) => refs,
            Err(error) => {
                tracing::warn!(url = %redact_url(&repo.url), %error, "repository check failed");
                let mut state = lock(&repo.state);
                let changed = state.error.as_ref() != Some(&error);
                state.error = Some(error);
                return changed;
            }
        };
        let (unchanged, was_failing) = {
            let state = lock(&repo.state);
            (state.refs.as_ref() == Some(&refs), state.error.is_some())
        };
        if unchanged {
            lock(&repo.state).error = None;
            return was_failing;
        }
        let (cache, url) = (self.cache.clone(), repo.url.clone());
        let started = std::time::Instant::now();
        let fetched = tokio::task::spawn_blocking(move || cache.fetch(&url, &creds)).await;
        self.metrics
            .git_request(&redact_url(&repo.url), "fetch", started.elapsed());
        let mut state = lock(&repo.state);
        match fetched {
            Ok(Ok(_)) => {
                tracing::info!(url = %redact_url(&repo.url), "repository moved; fetched");
                state.refs = Some(refs);
                state.error = None;
                true
            }
            Ok(Err(e)) => {
                state.error = Some(RepoError::Cache(e));
                true
            }
            Err(e) => {
                state.error = Some(RepoError::task("fetch", &repo.url, &e));
                true
            }
        }
    }

    async fn credentials(&self, url: &str) -> RepoCredentials {
        let Some(secrets) = &self.secrets else {
            return RepoCredentials::anonymous();
        };
        match credentials_for(secrets, url, None).await {
            Ok(creds) => creds,
            Err(error) => {
                tracing::warn!(%error, "cannot read repository secrets; trying without credentials");
                RepoCredentials::anonymous()
            }
        }
    }

    /// The commit `revision` names in the cached copy of `url`; fetches once (by name) only for
    /// a revision the cache does not have (a commit id of an old rollback, say).
    pub async fn resolve(&self, url: &str, revision: &str) -> Result<String, RepoError> {
        let (cache, u, r) = (self.cache.clone(), url.to_string(), revision.to_string());
        let local = tokio::task::spawn_blocking(move || cache.resolve(&u, &r))
            .await
            .map_err(|e| RepoError::task("resolve a revision of", url, &e))?;
        if let Ok(commit) = local {
            return Ok(commit.to_string());
        }
        let creds = self.credentials(url).await;
        let (cache, u, r) = (self.cache.clone(), url.to_string(), revision.to_string());
        let synced = tokio::task::spawn_blocking(move || cache.sync(&u, &creds, &r))
            .await
            .map_err(|e| RepoError::task("resolve a revision of", url, &e))?;
        synced
            .map(|s| s.commit.to_string())
            .map_err(|source| RepoError::Resolve {
                revision: revision.to_string(),
                url: redact_url(url),
                source,
            })
    }

    /// How many ref listings and fetches went to the network (for tests and metrics).
    pub fn network_counts(&self) -> (u64, u64) {
        (self.cache.ref_listings(), self.cache.network_fetches())
    }

    /// Repositories in use and the apps using each (for diagnostics).
    pub fn users(&self) -> BTreeMap<String, BTreeSet<Key>> {
        lock(&self.repos)
            .values()
            .map(|r| (redact_url(&r.url), lock(&r.state).users.clone()))
            .collect()
    }
}
