//! Charts from Helm repositories (and, next to them, OCI registries), as Argo CD reads
//! `repoURL` + `chart` + `targetRevision`.
//!
//! - Pure: [`constraint`] (Helm's version constraints), [`index`] (an `index.yaml` and the
//!   version a revision selects), [`archive`] (unpacking a `.tgz` safely).
//! - Edges: [`http`] (one request, with the repository's TLS and credentials), [`oci`] (the
//!   registry API: tags, manifests, layers, token auth) and [`repos`] ([`ChartRepos`]: index,
//!   OCI and archive caches, single flight, fetch counts).
//! - [`credentials`]: Argo CD repository Secrets of `type: helm` / `oci`; [`url`]: the host a
//!   URL names, for credentials and `argocd-tls-certs-cm` certificates.
//!
//! Everything here blocks: call it from a blocking thread.

pub mod archive;
pub mod constraint;
pub mod credentials;
pub mod http;
pub mod index;
pub mod oci;
pub mod repos;
pub mod url;

pub use constraint::{Constraint, ConstraintError, is_exact_version, parse_version};
pub use credentials::{HelmCredentials, helm_credentials_for, select_helm_credentials};
pub use index::{IndexEntry, IndexError, RepoIndex};
pub use repos::{ChartError, ChartRepos, FetchCounts, IndexCheck, is_oci};
