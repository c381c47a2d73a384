//! The OCI side of [`ChartRepos`]: Helm charts in registries and Argo CD 3.1's artifacts of
//! plain files, each revision's resolution reused for `max_age`, layers checked by digest.

use super::{ChartError, ChartRepos, OciResolutions, cache_error, lock, sanitize};
use crate::archive::{self, ArchiveError};
use crate::constraint::{Constraint, is_exact_version, parse_version};
use crate::credentials::HelmCredentials;
use crate::index::{IndexEntry, IndexError};
use crate::oci::{OciChart, OciClient, OciRepository, tag_to_version};
use driftless_source::{cache_key, redact_url};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl ChartRepos {
    /// Resolves `revision` of an OCI chart: an exact version is one tag (`+` stored as `_`);
    /// a constraint takes the newest tag it allows. Each revision's answer is reused for
    /// `max_age`.
    pub(super) fn resolve_oci(
        &self,
        repo_url: &str,
        chart: &str,
        revision: &str,
        credentials: &HelmCredentials,
        max_age: Duration,
    ) -> Result<IndexEntry, ChartError> {
        let oci_error = |source| ChartError::Oci {
            repo: redact_url(repo_url),
            chart: chart.to_string(),
            source,
        };
        let repository = OciRepository::of_chart(repo_url, chart).map_err(oci_error)?;
        let slot = self.oci_slot(repository.describe());
        let mut resolutions = lock(&slot);
        if let Some(entry) = fresh(&resolutions, revision, max_age) {
            return Ok(entry);
        }
        let client = OciClient::new(&repository, credentials).map_err(oci_error)?;
        let revision_trimmed = revision.trim();
        // A digest names one manifest; an exact version is one tag (`+` stored as `_`).
        let tag = if revision_trimmed.starts_with("sha256:") {
            revision_trimmed.to_string()
        } else if is_exact_version(revision_trimmed) {
            revision_trimmed.replace('+', "_")
        } else {
            let index_error = |source| ChartError::Index {
                repo: redact_url(repo_url),
                source,
            };
            if revision_trimmed.is_empty() {
                return Err(index_error(IndexError::NoRevision {
                    chart: chart.to_string(),
                }));
            }
            let constraint = Constraint::parse(revision_trimmed)
                .map_err(|e| index_error(IndexError::Constraint(e)))?;
            self.newest_tag(&client, &constraint, repo_url, chart, revision_trimmed)?
        };
        self.counters.index_requests.fetch_add(1, Ordering::Relaxed);
        let found = client.chart(&tag).map_err(oci_error)?;
        let entry = IndexEntry {
            name: chart.to_string(),
            version: tag_to_version(&found.tag),
            urls: vec![found.tag],
            digest: found.layer_digest,
        };
        resolutions.insert(revision.to_string(), (entry.clone(), Instant::now()));
        Ok(entry)
    }

    /// Checks every revision resolved so far of the OCI chart (or, with `chart` empty, the
    /// artifact) again; true when one now resolves to another version or digest (a new tag, or
    /// a tag that moved).
    pub fn recheck_oci(
        &self,
        repo_url: &str,
        chart: &str,
        credentials: &HelmCredentials,
    ) -> Result<bool, ChartError> {
        let repository =
            OciRepository::of_chart(repo_url, chart).map_err(|source| ChartError::Oci {
                repo: redact_url(repo_url),
                chart: chart.to_string(),
                source,
            })?;
        // An empty chart stands for an artifact of plain files at the repository itself.
        let key = if chart.is_empty() {
            format!("artifact {}", repository.describe())
        } else {
            repository.describe()
        };
        let held: Vec<(String, IndexEntry)> = lock(&self.oci)
            .get(&key)
            .map(|slot| {
                lock(slot)
                    .iter()
                    .map(|(r, (e, _))| (r.clone(), e.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let mut changed = false;
        for (revision, before) in held {
            let now = if chart.is_empty() {
                self.resolve_artifact(repo_url, &revision, credentials, Duration::ZERO)?
            } else {
                self.resolve_oci(repo_url, chart, &revision, credentials, Duration::ZERO)?
            };
            changed |= now != before;
        }
        Ok(changed)
    }

    pub(super) fn download_oci(
        &self,
        repo_url: &str,
        credentials: &HelmCredentials,
        entry: &IndexEntry,
    ) -> Result<Vec<u8>, ChartError> {
        let oci_error = |source| ChartError::Oci {
            repo: redact_url(repo_url),
            chart: entry.name.clone(),
            source,
        };
        let repository = OciRepository::of_chart(repo_url, &entry.name).map_err(oci_error)?;
        let client = OciClient::new(&repository, credentials).map_err(oci_error)?;
        self.counters
            .archive_downloads
            .fetch_add(1, Ordering::Relaxed);
        let chart = OciChart {
            tag: entry.urls.first().cloned().unwrap_or_default(),
            layer_digest: entry.digest.clone(),
        };
        let bytes = client.download(&chart).map_err(oci_error)?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if !entry.digest.eq_ignore_ascii_case(&actual) {
            return Err(ChartError::DigestMismatch {
                chart: entry.name.clone(),
                version: entry.version.clone(),
                expected: entry.digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    fn oci_slot(&self, key: String) -> Arc<OciResolutions> {
        lock(&self.oci).entry(key).or_default().clone()
    }

    /// The newest tag of `client`'s repository that reads as a version `constraint` allows.
    fn newest_tag(
        &self,
        client: &OciClient<'_>,
        constraint: &Constraint,
        repo_url: &str,
        name: &str,
        wanted: &str,
    ) -> Result<String, ChartError> {
        self.counters.index_requests.fetch_add(1, Ordering::Relaxed);
        let tags = client.tags().map_err(|source| ChartError::Oci {
            repo: redact_url(repo_url),
            chart: name.to_string(),
            source,
        })?;
        let versions: Vec<_> = tags
            .iter()
            .filter_map(|t| parse_version(&tag_to_version(t)).map(|v| (v, t)))
            .collect();
        constraint
            .newest(versions.iter().map(|(v, t)| (v, *t)))
            .cloned()
            .ok_or_else(|| ChartError::Index {
                repo: redact_url(repo_url),
                source: IndexError::NoMatch {
                    chart: name.to_string(),
                    constraint: wanted.to_string(),
                    newest: tags.last().cloned().unwrap_or_else(|| "none".into()),
                },
            })
    }

    /// Resolves `revision` of an OCI artifact of plain files (Argo CD 3.1's `oci://` sources
    /// without `chart`): a digest, a tag, or a constraint over the tags that read as versions.
    pub fn resolve_artifact(
        &self,
        repo_url: &str,
        revision: &str,
        credentials: &HelmCredentials,
        max_age: Duration,
    ) -> Result<IndexEntry, ChartError> {
        let oci_error = |source| ChartError::Oci {
            repo: redact_url(repo_url),
            chart: String::new(),
            source,
        };
        let repository = OciRepository::of_chart(repo_url, "").map_err(oci_error)?;
        let slot = self.oci_slot(format!("artifact {}", repository.describe()));
        let mut resolutions = lock(&slot);
        if let Some(entry) = fresh(&resolutions, revision, max_age) {
            return Ok(entry);
        }
        let client = OciClient::new(&repository, credentials).map_err(oci_error)?;
        let wanted = revision.trim();
        let constraint = (!wanted.starts_with("sha256:") && !is_exact_version(wanted))
            .then(|| Constraint::parse(wanted).ok())
            .flatten();
        let reference = match constraint {
            None if wanted.is_empty() => "latest".to_string(),
            None => wanted.to_string(),
            Some(constraint) => {
                self.newest_tag(&client, &constraint, repo_url, &repository.path, wanted)?
            }
        };
        self.counters.index_requests.fetch_add(1, Ordering::Relaxed);
        let artifact = client.artifact(&reference).map_err(oci_error)?;
        let entry = IndexEntry {
            name: repository.path.clone(),
            version: reference,
            urls: Vec::new(),
            digest: artifact.manifest_digest,
        };
        resolutions.insert(revision.to_string(), (entry.clone(), Instant::now()));
        Ok(entry)
    }

    /// The files of an artifact `resolve_artifact` found, unpacked once per manifest digest:
    /// tar layers unpacked, a Helm chart layer unpacked as its chart directory, other layers
    /// written as files named by their title.
    pub fn artifact_dir(
        &self,
        repo_url: &str,
        credentials: &HelmCredentials,
        entry: &IndexEntry,
    ) -> Result<PathBuf, ChartError> {
        let oci_error = |source| ChartError::Oci {
            repo: redact_url(repo_url),
            chart: String::new(),
            source,
        };
        let digest: String = entry.digest.chars().take(32).collect();
        let base = self
            .root
            .join(cache_key(repo_url))
            .join(format!("artifact-{}", sanitize(&digest)));
        let artifact_lock = lock(&self.archives)
            .entry(base.clone())
            .or_default()
            .clone();
        let _one_download = lock(&artifact_lock);
        if let Some(root) = artifact_root(&base) {
            return Ok(root);
        }
        let repository = OciRepository::of_chart(repo_url, "").map_err(oci_error)?;
        let client = OciClient::new(&repository, credentials).map_err(oci_error)?;
        let artifact = client
            .artifact(&format!("sha256:{}", entry.digest))
            .map_err(oci_error)?;
        let parent = base.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent).map_err(|e| cache_error(parent, &e))?;
        let temp = tempfile::Builder::new()
            .prefix(".artifact-")
            .tempdir_in(parent)
            .map_err(|e| cache_error(parent, &e))?;
        let content = temp.path().join("content");
        std::fs::create_dir_all(&content).map_err(|e| cache_error(&content, &e))?;
        let unpack_error = |source| ChartError::Unpack {
            chart: repository.path.clone(),
            version: entry.version.clone(),
            source,
        };
        let mut root = String::new();
        for layer in &artifact.layers {
            self.counters
                .archive_downloads
                .fetch_add(1, Ordering::Relaxed);
            let bytes = client.blob(&layer.digest).map_err(oci_error)?;
            let actual = hex::encode(Sha256::digest(&bytes));
            if !layer.digest.eq_ignore_ascii_case(&actual) {
                return Err(ChartError::DigestMismatch {
                    chart: repository.path.clone(),
                    version: entry.version.clone(),
                    expected: layer.digest.clone(),
                    actual,
                });
            }
            let gzipped =
                layer.media_type.ends_with("+gzip") || layer.media_type.ends_with(".gzip");
            if layer.media_type == crate::oci::HELM_CHART_LAYER {
                let tops = archive::unpack_tar(flate2::read::GzDecoder::new(&bytes[..]), &content)
                    .map_err(unpack_error)?;
                root = tops
                    .into_iter()
                    .find(|t| content.join(t).join("Chart.yaml").is_file())
                    .ok_or_else(|| unpack_error(ArchiveError::NotAChart))?;
            } else if gzipped {
                archive::unpack_tar(flate2::read::GzDecoder::new(&bytes[..]), &content)
                    .map_err(unpack_error)?;
            } else if layer.media_type.ends_with(".tar") {
                archive::unpack_tar(&bytes[..], &content).map_err(unpack_error)?;
            } else {
                let title = layer
                    .title
                    .as_deref()
                    .and_then(archive::safe_file_name)
                    .ok_or_else(|| {
                        unpack_error(ArchiveError::Corrupt(format!(
                            "layer {} ({}) is not a tar and has no file name",
                            layer.digest, layer.media_type
                        )))
                    })?;
                let file = content.join(title);
                std::fs::write(&file, &bytes).map_err(|e| cache_error(&file, &e))?;
            }
        }
        let marker = temp.path().join("root");
        std::fs::write(&marker, &root).map_err(|e| cache_error(&marker, &e))?;
        let temp = temp.keep();
        if let Err(e) = std::fs::rename(&temp, &base) {
            let _ = std::fs::remove_dir_all(&temp);
            return Err(cache_error(&base, &e));
        }
        artifact_root(&base).ok_or_else(|| ChartError::Cache {
            path: base.display().to_string(),
            message: "the unpacked artifact vanished".into(),
        })
    }
}

/// What `revision` resolved to, if that was less than `max_age` ago.
fn fresh(
    resolutions: &HashMap<String, (IndexEntry, Instant)>,
    revision: &str,
    max_age: Duration,
) -> Option<IndexEntry> {
    resolutions
        .get(revision)
        .filter(|(_, checked)| checked.elapsed() < max_age)
        .map(|(entry, _)| entry.clone())
}

/// The directory an unpacked artifact renders from (its `content`, or the chart in it).
fn artifact_root(base: &Path) -> Option<PathBuf> {
    let root = std::fs::read_to_string(base.join("root")).ok()?;
    let dir = base.join("content").join(root.trim());
    dir.is_dir().then_some(dir)
}
