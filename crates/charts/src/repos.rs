//! Helm repositories: each `index.yaml` fetched at most once per repository per `max_age`
//! (conditional requests with the ETag), each chart archive downloaded once per (repository,
//! chart, version, digest), checked against the index digest, unpacked once on disk.
//! Concurrent callers share one request (single flight per index and per archive).

use crate::archive::{self, ArchiveError};
use crate::credentials::HelmCredentials;
use crate::http::{self, Fetched, HttpError};
use crate::index::{IndexEntry, IndexError, RepoIndex};
use crate::oci::OciError;
use crate::url::same_host;
use driftless_source::{cache_key, redact_url};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("failed to fetch the index of {repo}: {source}")]
    FetchIndex {
        repo: String,
        #[source]
        source: HttpError,
    },
    #[error("failed to resolve a chart in {repo}: {source}")]
    Index {
        repo: String,
        #[source]
        source: IndexError,
    },
    #[error("failed to download chart {chart} {version}: {source}")]
    Download {
        chart: String,
        version: String,
        #[source]
        source: HttpError,
    },
    #[error("failed to download chart {chart} {version}: the index lists no URL for it")]
    NoUrl { chart: String, version: String },
    #[error(
        "failed to verify chart {chart} {version}: its digest is sha256:{actual}, the index says sha256:{expected}"
    )]
    DigestMismatch {
        chart: String,
        version: String,
        expected: String,
        actual: String,
    },
    #[error("failed to unpack chart {chart} {version}: {source}")]
    Unpack {
        chart: String,
        version: String,
        #[source]
        source: ArchiveError,
    },
    #[error("failed to resolve chart {chart} in {repo}: {source}")]
    Oci {
        repo: String,
        chart: String,
        #[source]
        source: OciError,
    },
    #[error("failed to use the chart cache at {path}: {message}")]
    Cache { path: String, message: String },
}

/// Requests made so far, for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchCounts {
    /// Index requests sent (each either a download or a 304).
    pub index_requests: u64,
    /// Of those, answered 304 Not Modified.
    pub index_not_modified: u64,
    /// Chart archives downloaded.
    pub archive_downloads: u64,
}

#[derive(Default)]
struct Counters {
    index_requests: AtomicU64,
    index_not_modified: AtomicU64,
    archive_downloads: AtomicU64,
}

#[derive(Clone)]
struct CachedIndex {
    index: Arc<RepoIndex>,
    etag: Option<String>,
    digest: String,
    checked: Instant,
}

#[derive(Default)]
struct IndexSlot {
    /// Held while fetching, so concurrent callers share one request.
    fetch: Mutex<()>,
    current: Mutex<Option<CachedIndex>>,
}

/// Revision → (what it resolved to, when), for one OCI chart.
type OciResolutions = Mutex<HashMap<String, (IndexEntry, Instant)>>;

/// The index of a repository, and whether it changed at this check.
pub struct IndexCheck {
    pub index: Arc<RepoIndex>,
    pub changed: bool,
}

pub struct ChartRepos {
    root: PathBuf,
    indexes: Mutex<HashMap<String, Arc<IndexSlot>>>,
    /// Per OCI chart repository: what each revision resolved to, and when.
    oci: Mutex<HashMap<String, Arc<OciResolutions>>>,
    archives: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
    counters: Counters,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ChartRepos {
    /// Archives and unpacked charts live under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, ChartError> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| cache_error(&root, &e))?;
        Ok(Self {
            root,
            indexes: Mutex::new(HashMap::new()),
            oci: Mutex::new(HashMap::new()),
            archives: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        })
    }

    pub fn counts(&self) -> FetchCounts {
        FetchCounts {
            index_requests: self.counters.index_requests.load(Ordering::Relaxed),
            index_not_modified: self.counters.index_not_modified.load(Ordering::Relaxed),
            archive_downloads: self.counters.archive_downloads.load(Ordering::Relaxed),
        }
    }

    /// The index of `repo_url`, re-checked with a conditional request when the copy held is
    /// older than `max_age` (`Duration::ZERO`: check now).
    pub fn index(
        &self,
        repo_url: &str,
        credentials: &HelmCredentials,
        max_age: Duration,
    ) -> Result<IndexCheck, ChartError> {
        let slot = lock(&self.indexes)
            .entry(cache_key(repo_url))
            .or_default()
            .clone();
        let _one_request = lock(&slot.fetch);
        let held = lock(&slot.current).clone();
        if let Some(held) = &held
            && held.checked.elapsed() < max_age
        {
            return Ok(IndexCheck {
                index: held.index.clone(),
                changed: false,
            });
        }
        let url = format!("{}/index.yaml", repo_url.trim_end_matches('/'));
        let fetch_error = |source| ChartError::FetchIndex {
            repo: redact_url(repo_url),
            source,
        };
        let client = http::client(&url, credentials).map_err(fetch_error)?;
        self.counters.index_requests.fetch_add(1, Ordering::Relaxed);
        let etag = held.as_ref().and_then(|h| h.etag.as_deref());
        match http::send(client.get(&url), &url, Some(credentials), etag).map_err(fetch_error)? {
            Fetched::NotModified => {
                self.counters
                    .index_not_modified
                    .fetch_add(1, Ordering::Relaxed);
                let mut held = held.ok_or_else(|| ChartError::FetchIndex {
                    repo: redact_url(repo_url),
                    source: HttpError::Status {
                        url: redact_url(&url),
                        status: 304,
                    },
                })?;
                held.checked = Instant::now();
                let index = held.index.clone();
                *lock(&slot.current) = Some(held);
                Ok(IndexCheck {
                    index,
                    changed: false,
                })
            }
            Fetched::Body { bytes, etag, .. } => {
                let digest = hex::encode(Sha256::digest(&bytes));
                let changed = held.as_ref().is_none_or(|h| h.digest != digest);
                let index =
                    match (&held, changed) {
                        (Some(h), false) => h.index.clone(),
                        _ => Arc::new(RepoIndex::parse(&bytes).map_err(|source| {
                            ChartError::Index {
                                repo: redact_url(repo_url),
                                source,
                            }
                        })?),
                    };
                *lock(&slot.current) = Some(CachedIndex {
                    index: index.clone(),
                    etag,
                    digest,
                    checked: Instant::now(),
                });
                Ok(IndexCheck { index, changed })
            }
        }
    }

    /// The index entry `revision` (a version or a constraint) selects.
    pub fn resolve(
        &self,
        repo_url: &str,
        chart: &str,
        revision: &str,
        credentials: &HelmCredentials,
        max_age: Duration,
    ) -> Result<IndexEntry, ChartError> {
        if is_oci(repo_url, credentials) {
            return self.resolve_oci(repo_url, chart, revision, credentials, max_age);
        }
        let check = self.index(repo_url, credentials, max_age)?;
        check
            .index
            .resolve(chart, revision)
            .cloned()
            .map_err(|source| ChartError::Index {
                repo: redact_url(repo_url),
                source,
            })
    }

    /// The unpacked chart of `entry`, downloading and checking it the first time.
    /// Credentials go to the archive URL only on the repository's own host, unless
    /// `pass_credentials` (Argo CD's `helm.passCredentials`).
    pub fn chart_dir(
        &self,
        repo_url: &str,
        credentials: &HelmCredentials,
        entry: &IndexEntry,
        pass_credentials: bool,
    ) -> Result<PathBuf, ChartError> {
        let digest_part = if entry.digest.is_empty() {
            "unverified".to_string()
        } else {
            entry.digest.chars().take(16).collect()
        };
        let base = self.root.join(cache_key(repo_url)).join(format!(
            "{}-{}-{digest_part}",
            sanitize(&entry.name),
            sanitize(&entry.version)
        ));
        let archive_lock = lock(&self.archives)
            .entry(base.clone())
            .or_default()
            .clone();
        let _one_download = lock(&archive_lock);
        if let Some(dir) = unpacked(&base) {
            return Ok(dir);
        }
        if is_oci(repo_url, credentials) {
            let bytes = self.download_oci(repo_url, credentials, entry)?;
            return self.unpack_into(&base, &bytes, entry);
        }
        let url = archive_url(repo_url, entry).ok_or_else(|| ChartError::NoUrl {
            chart: entry.name.clone(),
            version: entry.version.clone(),
        })?;
        let download_error = |source| ChartError::Download {
            chart: entry.name.clone(),
            version: entry.version.clone(),
            source,
        };
        let auth = (pass_credentials || same_host(repo_url, &url)).then_some(credentials);
        let client = http::client(&url, credentials).map_err(download_error)?;
        self.counters
            .archive_downloads
            .fetch_add(1, Ordering::Relaxed);
        let bytes = match http::send(client.get(&url), &url, auth, None).map_err(download_error)? {
            Fetched::Body { bytes, .. } => bytes,
            Fetched::NotModified => {
                return Err(download_error(HttpError::Status {
                    url: redact_url(&url),
                    status: 304,
                }));
            }
        };
        let actual = hex::encode(Sha256::digest(&bytes));
        if !entry.digest.is_empty() && !entry.digest.eq_ignore_ascii_case(&actual) {
            return Err(ChartError::DigestMismatch {
                chart: entry.name.clone(),
                version: entry.version.clone(),
                expected: entry.digest.clone(),
                actual,
            });
        }
        self.unpack_into(&base, &bytes, entry)
    }

    /// Unpacks into a temp dir beside `base`, then renames it into place, so a crash never
    /// leaves a half-unpacked chart that looks complete.
    pub(crate) fn unpack_into(
        &self,
        base: &Path,
        bytes: &[u8],
        entry: &IndexEntry,
    ) -> Result<PathBuf, ChartError> {
        let parent = base.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent).map_err(|e| cache_error(parent, &e))?;
        let temp = tempfile::Builder::new()
            .prefix(".unpack-")
            .tempdir_in(parent)
            .map_err(|e| cache_error(parent, &e))?;
        archive::unpack(bytes, temp.path()).map_err(|source| ChartError::Unpack {
            chart: entry.name.clone(),
            version: entry.version.clone(),
            source,
        })?;
        let temp = temp.keep();
        if let Err(e) = std::fs::rename(&temp, base) {
            let _ = std::fs::remove_dir_all(&temp);
            return Err(cache_error(base, &e));
        }
        unpacked(base).ok_or_else(|| ChartError::Cache {
            path: base.display().to_string(),
            message: "the unpacked chart vanished".into(),
        })
    }
}

/// Whether `repo_url` names an OCI registry (`oci://…`, or a repository Secret with
/// `enableOCI`) rather than a Helm repository with an `index.yaml`.
pub fn is_oci(repo_url: &str, credentials: &HelmCredentials) -> bool {
    repo_url.trim().starts_with("oci://") || credentials.enable_oci
}

/// The chart directory inside an unpacked archive, if it is there.
fn unpacked(base: &Path) -> Option<PathBuf> {
    std::fs::read_dir(base)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.join("Chart.yaml").is_file())
}

/// The archive URL of `entry`: absolute as listed, or relative to the repository.
pub fn archive_url(repo_url: &str, entry: &IndexEntry) -> Option<String> {
    let listed = entry.urls.first()?;
    if listed.contains("://") {
        return Some(listed.clone());
    }
    Some(format!(
        "{}/{}",
        repo_url.trim_end_matches('/'),
        listed.trim_start_matches('/')
    ))
}

/// A version or chart name as a path part: nothing that could leave the directory.
fn sanitize(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

fn cache_error(path: &Path, e: &std::io::Error) -> ChartError {
    ChartError::Cache {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

mod oci_sources;

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(urls: &[&str]) -> IndexEntry {
        IndexEntry {
            name: "web".into(),
            version: "1.0.0".into(),
            urls: urls.iter().map(|u| u.to_string()).collect(),
            digest: String::new(),
        }
    }

    #[test]
    fn archive_urls_resolve_against_the_repository() {
        let repo = "https://charts.example.com/stable/";
        assert_eq!(
            archive_url(repo, &entry(&["web-1.0.0.tgz"])).as_deref(),
            Some("https://charts.example.com/stable/web-1.0.0.tgz")
        );
        assert_eq!(
            archive_url(repo, &entry(&["https://cdn.example.com/web-1.0.0.tgz"])).as_deref(),
            Some("https://cdn.example.com/web-1.0.0.tgz")
        );
        assert_eq!(archive_url(repo, &entry(&[])), None);
    }

    #[test]
    fn versions_cannot_leave_the_cache_directory() {
        assert_eq!(sanitize("../../etc"), "_.._etc");
        assert_eq!(sanitize("1.2.3+build"), "1.2.3+build");
    }
}
