//! The tools `hack/build-tools` builds, for tests that need the real ones.

use std::path::{Path, PathBuf};

/// The tool `name` (helm, jsonnet …) in the bin directory of the cache `hack/build-tools`
/// builds into (`DRIFTLESS_CACHE`, else `~/.cache/driftless`), for the versions
/// `hack/versions.env` names; None if not built.
pub fn built_tool(name: &str) -> Option<PathBuf> {
    let candidate = bin_dir().join(name);
    candidate.is_file().then_some(candidate)
}

/// helm, as [`built_tool`] finds it.
pub fn built_helm() -> Option<PathBuf> {
    built_tool("helm")
}

/// The CNCF distribution registry `hack/build-tools` builds: in `registry-<REGISTRY_VERSION>`
/// of the cache, linked into the bin directory helm is in; None if not built.
pub fn built_registry() -> Option<PathBuf> {
    let own = cache_dir()
        .join(format!("registry-{}", version("REGISTRY_VERSION")))
        .join("bin/registry");
    [own, bin_dir().join("registry")]
        .into_iter()
        .find(|p| p.is_file())
}

/// Dex, the OpenID Connect provider `hack/build-tools` builds: in `dex-<DEX_VERSION>` of the
/// cache, linked into the bin directory helm is in; None if not built.
pub fn built_dex() -> Option<PathBuf> {
    let own = cache_dir()
        .join(format!("dex-{}", version("DEX_VERSION")))
        .join("bin/dex");
    [own, bin_dir().join("dex")]
        .into_iter()
        .find(|p| p.is_file())
}

/// The version `hack/versions.env` names for `name`, e.g. `HELM_VERSION`; empty if none.
fn version(name: &str) -> String {
    let versions_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hack/versions.env");
    let text = std::fs::read_to_string(versions_file).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn cache_dir() -> PathBuf {
    std::env::var_os("DRIFTLESS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/driftless")
        })
}

/// The control plane's bin directory, keyed by the versions it was built from.
fn bin_dir() -> PathBuf {
    cache_dir()
        .join(format!(
            "k8s-{}-etcd-{}-kwok-{}-helm-{}",
            version("K8S_VERSION"),
            version("ETCD_VERSION"),
            version("KWOK_VERSION"),
            version("HELM_VERSION")
        ))
        .join("bin")
}
