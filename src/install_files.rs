//! The install's generated files are what their sources give today: the chart's CRDs are
//! `driftless crds`, and install/kustomize is the chart rendered by hack/install-manifests.

use std::path::{Path, PathBuf};
use std::process::Command;

const REGENERATE: &str = "run make install-manifests";

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("failed to read {}: {e}; {REGENERATE}", path.display()))
}

/// Where two texts part, for a message shorter than the whole files.
fn first_difference(committed: &str, fresh: &str) -> String {
    let line = committed
        .lines()
        .zip(fresh.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| committed.lines().count().min(fresh.lines().count()));
    format!(
        "line {}: committed {:?}, rendered {:?}",
        line + 1,
        committed.lines().nth(line).unwrap_or("<end>"),
        fresh.lines().nth(line).unwrap_or("<end>")
    )
}

#[test]
fn the_charts_crds_are_driftless_crds() {
    let file = workspace().join("install/helm/driftless/crds/crds.yaml");
    let committed = read(&file);
    let fresh = driftless_model::crd::try_crds_yaml().expect("the CRDs render");
    assert!(
        committed == fresh,
        "{} is stale ({}): {REGENERATE}",
        file.display(),
        first_difference(&committed, &fresh)
    );
}

fn helm() -> PathBuf {
    driftless_render::Tools::discover()
        .helm
        .or_else(driftless_testkit::built_helm)
        .expect("helm not found: put it on PATH (hack/build-tools builds it) or set DRIFTLESS_HELM")
}

#[test]
fn the_kustomize_install_is_the_rendered_chart() {
    let out = tempfile::tempdir().expect("temp dir");
    let status = Command::new("bash")
        .arg(workspace().join("hack/install-manifests"))
        .arg("--out")
        .arg(out.path())
        .env("HELM", helm())
        .status()
        .expect("bash runs hack/install-manifests");
    assert!(status.success(), "hack/install-manifests failed");
    for dir in ["base", "namespaced"] {
        for file in ["install.yaml", "kustomization.yaml"] {
            let committed_path = workspace().join("install/kustomize").join(dir).join(file);
            let committed = read(&committed_path);
            let fresh = read(&out.path().join(dir).join(file));
            assert!(
                committed == fresh,
                "{} is stale ({}): {REGENERATE}",
                committed_path.display(),
                first_difference(&committed, &fresh)
            );
        }
    }
}
