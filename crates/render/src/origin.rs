//! Where a source's files come from, told from the Application alone: a git repository, a
//! chart of a Helm repository or OCI registry, or an OCI artifact of plain files.

use driftless_model::ApplicationSource;

/// Whether a `repoURL` (of a source without `chart`) is an OCI artifact, not git.
pub fn is_oci_artifact(repo_url: &str) -> bool {
    repo_url.trim().starts_with("oci://")
}

/// The chart a source takes from a Helm repository or OCI registry, if it does; `""` for an
/// OCI artifact of plain files (`oci://…` without `chart`). `None`: a git source.
pub fn chart_of(source: &ApplicationSource) -> Option<&str> {
    match source.chart.as_deref().filter(|c| !c.is_empty()) {
        Some(chart) => Some(chart),
        None if is_oci_artifact(&source.repo_url) => Some(""),
        None => None,
    }
}

/// The revision a source asks for: a chart's or artifact's `targetRevision` as written (a
/// version, constraint, tag or digest; empty when unset), a git source's or else `HEAD`.
pub fn revision_of(source: &ApplicationSource) -> &str {
    match chart_of(source) {
        Some(_) => source.target_revision.as_deref().unwrap_or_default(),
        None => source.revision(),
    }
}
