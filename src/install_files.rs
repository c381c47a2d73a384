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

/// The Deployment's container args of the chart rendered with `settings` (`--set` values).
fn rendered_args(settings: &[&str]) -> Vec<String> {
    let text = driftless_testkit::helm_template(
        &helm(),
        &workspace().join("install/helm/driftless"),
        "driftless",
        "argocd",
        settings,
    )
    .expect("the chart renders");
    for document in serde_norway::Deserializer::from_str(&text) {
        let object: serde_json::Value =
            serde::Deserialize::deserialize(document).expect("helm writes YAML");
        if object["kind"] == "Deployment" {
            let args = &object["spec"]["template"]["spec"]["containers"][0]["args"];
            return serde_json::from_value(args.clone()).expect("args are strings");
        }
    }
    panic!("the chart renders no Deployment");
}

/// The chart's `driftless serve` command line for `settings`, as the binary parses it.
fn rendered_serve(settings: &[&str]) -> crate::cli::serve::ServeArgs {
    use clap::Parser;
    let args = rendered_args(settings);
    let parsed = crate::cli::Cli::try_parse_from(
        std::iter::once("driftless".to_string()).chain(args.iter().cloned()),
    );
    match parsed {
        Ok(crate::cli::Cli {
            command: crate::cli::Command::Serve(serve),
        }) => serve,
        other => panic!(
            "{settings:?}: `driftless {}` is not a serve command line: {other:?}",
            args.join(" ")
        ),
    }
}

#[test]
fn every_flag_the_chart_passes_is_a_serve_flag() {
    let default = rendered_serve(&[]);
    assert!(default.leader_elect);
    assert_eq!(default.health_listen.map(|a| a.port()), Some(8081));
    assert_eq!(default.api_listen.map(|a| a.port()), Some(8080));
    assert_eq!(
        default.cache_dir.as_deref(),
        Some(Path::new("/var/cache/driftless"))
    );
    assert_eq!(default.app_namespace, "argocd");
    assert!(default.namespaces.is_empty() && !default.sync_impersonation && !default.insecure);

    let namespaced = rendered_serve(&[
        "namespaced.namespaces={team-a,team-b}",
        "impersonation.enabled=true",
    ]);
    assert_eq!(namespaced.namespaces, ["team-a", "team-b"]);
    assert!(namespaced.sync_impersonation);

    let plain = rendered_serve(&[
        "api.insecure=true",
        "audit.enabled=false",
        "leaderElection.enabled=false",
        "extraArgs={--resync=5m}",
    ]);
    assert!(plain.insecure && plain.no_audit && !plain.leader_elect);
    assert_eq!(plain.resync, std::time::Duration::from_secs(300));

    let scaled = rendered_serve(&["shardLeases=8", "replicas=4"]);
    assert_eq!(scaled.shard_leases, Some(8));
    assert!(!scaled.leader_elect);
}
