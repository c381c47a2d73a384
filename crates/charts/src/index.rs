//! A Helm repository's `index.yaml`, and choosing the chart version a `targetRevision` names:
//! an exact version must be listed; a constraint takes the newest listed version it allows.

use crate::constraint::{Constraint, ConstraintError, is_exact_version, parse_version};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("failed to read index.yaml: {0}")]
    Parse(String),
    #[error("failed to find chart {chart:?} in the repository index")]
    ChartNotFound { chart: String },
    #[error(
        "failed to find version {version} of chart {chart:?} in the repository index (newest: {newest})"
    )]
    VersionNotFound {
        chart: String,
        version: String,
        newest: String,
    },
    #[error(
        "failed to find a version of chart {chart:?} that satisfies {constraint:?} (newest: {newest})"
    )]
    NoMatch {
        chart: String,
        constraint: String,
        newest: String,
    },
    #[error(
        "failed to choose a version of chart {chart:?}: targetRevision is empty (set a version or a constraint such as 1.*)"
    )]
    NoRevision { chart: String },
    #[error(transparent)]
    Constraint(#[from] ConstraintError),
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RepoIndex {
    #[serde(default)]
    pub entries: BTreeMap<String, Vec<IndexEntry>>,
}

/// One chart version as the index lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IndexEntry {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    /// Absolute, or relative to the repository URL.
    #[serde(default)]
    pub urls: Vec<String>,
    /// The archive's SHA-256, hex (empty in some hand-made indexes: then nothing is checked).
    #[serde(default)]
    pub digest: String,
}

impl RepoIndex {
    pub fn parse(bytes: &[u8]) -> Result<Self, IndexError> {
        serde_norway::from_slice(bytes).map_err(|e| IndexError::Parse(e.to_string()))
    }

    /// The entry `revision` selects for `chart`.
    pub fn resolve(&self, chart: &str, revision: &str) -> Result<&IndexEntry, IndexError> {
        let entries = self
            .entries
            .get(chart)
            .filter(|e| !e.is_empty())
            .ok_or_else(|| IndexError::ChartNotFound {
                chart: chart.to_string(),
            })?;
        let versions: Vec<_> = entries
            .iter()
            .filter_map(|e| parse_version(&e.version).map(|v| (v, e)))
            .collect();
        let newest = || {
            Constraint::parse(">=0.0.0-0")
                .ok()
                .and_then(|all| all.newest(versions.iter().map(|(v, e)| (v, e))))
                .map(|e| e.version.clone())
                .unwrap_or_else(|| "none".into())
        };
        let revision = revision.trim();
        if revision.is_empty() {
            return Err(IndexError::NoRevision {
                chart: chart.to_string(),
            });
        }
        if is_exact_version(revision) {
            let wanted = parse_version(revision);
            return versions
                .iter()
                .find(|(v, _)| wanted.as_ref().is_some_and(|w| w.cmp_precedence(v).is_eq()))
                .map(|(_, e)| *e)
                .ok_or_else(|| IndexError::VersionNotFound {
                    chart: chart.to_string(),
                    version: revision.to_string(),
                    newest: newest(),
                });
        }
        Constraint::parse(revision)?
            .newest(versions.iter().map(|(v, e)| (v, *e)))
            .ok_or_else(|| IndexError::NoMatch {
                chart: chart.to_string(),
                constraint: revision.to_string(),
                newest: newest(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> RepoIndex {
        RepoIndex::parse(include_bytes!("../testdata/index.yaml")).expect("fixture parses")
    }

    #[test]
    fn exact_versions_and_constraints_pick_as_argo_cd_does() {
        let index = index();
        let pick = |rev: &str| {
            index
                .resolve("cert-manager", rev)
                .map(|e| e.version.clone())
        };
        assert_eq!(pick("v1.16.2").expect("listed"), "v1.16.2");
        assert_eq!(pick("1.16.2").expect("v prefix is optional"), "v1.16.2");
        assert_eq!(pick("1.16.*").expect("matches"), "v1.16.3");
        assert_eq!(pick("*").expect("matches"), "v1.17.0", "no pre-release");
        assert_eq!(pick(">=1.0.0 <1.17.0").expect("matches"), "v1.16.3");
    }

    #[test]
    fn missing_charts_versions_and_matches_are_errors_that_say_what_exists() {
        let index = index();
        let missing = index.resolve("nginx", "1.0.0").expect_err("not listed");
        assert!(
            matches!(missing, IndexError::ChartNotFound { .. }),
            "{missing}"
        );
        let version = index
            .resolve("cert-manager", "1.15.0")
            .expect_err("not listed");
        assert!(
            version.to_string().contains("newest: v1.18.0-beta.0"),
            "{version}"
        );
        let none = index
            .resolve("cert-manager", "2.*")
            .expect_err("nothing matches");
        assert!(matches!(none, IndexError::NoMatch { .. }), "{none}");
        let empty = index
            .resolve("cert-manager", "")
            .expect_err("needs a revision");
        assert!(matches!(empty, IndexError::NoRevision { .. }), "{empty}");
        let bad = index
            .resolve("cert-manager", "1.16.x.y")
            .expect_err("bad constraint");
        assert!(matches!(bad, IndexError::Constraint(_)), "{bad}");
    }

    #[test]
    fn a_corrupt_index_is_an_error() {
        assert!(RepoIndex::parse(b"entries: [not, a, map").is_err());
    }
}
