//! The render cache: one JSON file per key in a directory, so it survives restarts.
//!
//! The key is a sha256 over the render parameters, the tool binaries, the source path and
//! the git tree id of that path, never the commit: a commit that does not touch an app's
//! path keeps its key. An entry also lists every other path the render read (kustomize
//! bases, `$ref` value files …) with its id then; a lookup is a hit only when all of them
//! still have those ids. Entries are written to a temp file and renamed into place, so a
//! reader never sees half an entry.

use crate::manifest::{Manifest, Origin};
use crate::spec::RenderParams;
use crate::tree::TreeRead;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("failed to use render cache {path}: {message}")]
    Io { path: String, message: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheEntry {
    pub format: u32,
    pub reads: Vec<TreeRead>,
    pub objects: Vec<CachedObject>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedObject {
    pub object: Value,
    pub origin: Origin,
}

impl CacheEntry {
    pub fn new(reads: Vec<TreeRead>, manifests: &[Manifest]) -> Self {
        let objects = manifests
            .iter()
            .map(|m| CachedObject {
                object: m.object.clone(),
                origin: m.origin.clone(),
            })
            .collect();
        Self {
            format: FORMAT,
            reads,
            objects,
        }
    }

    pub fn manifests(&self) -> Vec<Manifest> {
        self.objects
            .iter()
            .map(|o| Manifest {
                object: o.object.clone(),
                origin: o.origin.clone(),
            })
            .collect()
    }
}

/// The cache key of rendering `params` from a path whose tree id is `path_id`.
pub fn cache_key(params: &RenderParams, tools: &str, path_id: &str) -> String {
    let material =
        serde_json::json!({"format": FORMAT, "params": params, "tools": tools, "pathId": path_id});
    hex::encode(Sha256::digest(material.to_string().as_bytes()))
}

#[derive(Debug, Clone)]
pub struct RenderCache {
    dir: PathBuf,
    /// Lookups answered (hits) and not (misses), shared by the clones.
    lookups: std::sync::Arc<[std::sync::atomic::AtomicU64; 2]>,
}

impl RenderCache {
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, CacheError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, &e))?;
        Ok(Self {
            dir,
            lookups: Default::default(),
        })
    }

    /// (hits, misses) of [`get`](Self::get) so far.
    pub fn lookups(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.lookups[0].load(Relaxed), self.lookups[1].load(Relaxed))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The entry for `key`; an unreadable or corrupt entry is a miss (it is rewritten).
    pub fn get(&self, key: &str) -> Option<CacheEntry> {
        let found = self.read(key);
        let counter = if found.is_some() { 0 } else { 1 };
        self.lookups[counter].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        found
    }

    fn read(&self, key: &str) -> Option<CacheEntry> {
        let bytes = std::fs::read(self.file(key)).ok()?;
        match serde_json::from_slice::<CacheEntry>(&bytes) {
            Ok(entry) if entry.format == FORMAT => Some(entry),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(key, error = %e, "ignoring corrupt render cache entry");
                None
            }
        }
    }

    pub fn put(&self, key: &str, entry: &CacheEntry) -> Result<(), CacheError> {
        let bytes = serde_json::to_vec(entry).map_err(|e| CacheError::Io {
            path: key.into(),
            message: e.to_string(),
        })?;
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| io(&self.dir, &e))?;
        temp.write_all(&bytes).map_err(|e| io(temp.path(), &e))?;
        temp.persist(self.file(key))
            .map_err(|e| io(&self.file(key), &e.error))?;
        Ok(())
    }
}

fn io(path: &Path, e: &std::io::Error) -> CacheError {
    CacheError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{DirectoryOptions, Method};
    use crate::workspace::SourceId;

    #[test]
    fn entries_round_trip_and_corrupt_ones_are_misses() {
        let dir = tempfile::tempdir().expect("temp");
        let cache = RenderCache::open(dir.path().join("nested")).expect("opens");
        let params = RenderParams {
            path: "apps/a".into(),
            method: Method::Directory(DirectoryOptions::default()),
        };
        let key = cache_key(&params, "", "tree-1");
        assert_ne!(
            key,
            cache_key(&params, "", "tree-2"),
            "the tree id is in the key"
        );
        assert!(cache.get(&key).is_none());
        let manifests = vec![Manifest {
            object: serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            origin: Origin {
                file: "apps/a/c.yaml".into(),
                line: 1,
                template: None,
            },
        }];
        let reads = vec![TreeRead {
            source: SourceId::Ref("values".into()),
            path: "v.yaml".into(),
            id: None,
        }];
        cache
            .put(&key, &CacheEntry::new(reads.clone(), &manifests))
            .expect("stores");
        let entry = RenderCache::open(dir.path().join("nested"))
            .expect("reopens")
            .get(&key)
            .expect("hit");
        assert_eq!((entry.manifests(), entry.reads), (manifests, reads));
        std::fs::write(
            dir.path().join("nested").join(format!("{key}.json")),
            b"{not json",
        )
        .expect("corrupt");
        assert!(cache.get(&key).is_none(), "corrupt entry is a miss");
    }
}
