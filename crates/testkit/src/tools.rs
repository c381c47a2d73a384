//! The tools `hack/build-tools` builds, for tests that need the real ones.

use std::path::{Path, PathBuf};

/// helm in the cache `hack/build-tools` builds into (`DRIFTLESS_CACHE`, else
/// `~/.cache/driftless`), for the versions `hack/versions.env` names; None if not built.
pub fn built_helm() -> Option<PathBuf> {
    let versions_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hack/versions.env");
    let text = std::fs::read_to_string(versions_file).unwrap_or_default();
    let version = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let cache = std::env::var_os("DRIFTLESS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/driftless")
        });
    let candidate = cache
        .join(format!(
            "k8s-{}-etcd-{}-kwok-{}-helm-{}",
            version("K8S_VERSION"),
            version("ETCD_VERSION"),
            version("KWOK_VERSION"),
            version("HELM_VERSION")
        ))
        .join("bin/helm");
    candidate.is_file().then_some(candidate)
}
