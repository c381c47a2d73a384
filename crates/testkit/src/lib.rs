//! Helpers for tests: the cluster named by `KUBECONFIG`, a temporary namespace per test,
//! and waiting for a condition with a deadline; a Helm chart repository, an OCI registry and real
//! charts for the chart-source tests; Dex, a real OpenID Connect provider, for the login tests.

mod charts;
mod cleanup;
mod cluster;
mod crds;
mod dex;
mod helm_repo;
mod identity;
mod manifests;
mod oci_registry;
mod outage;
mod tools;
mod wait;
pub mod webdriver;

pub use charts::{
    helm_template, index_repo, isolated_helm, package_chart, write_chart, write_chart_with_values,
};
pub use cleanup::{run_detached, run_detached_on, strip_application_finalizers};
pub use cluster::{TestCluster, TestNamespace, client, client_of};
pub use crds::{install_argo_crds, install_crds, wait_established};
pub use dex::{
    Dex, DexClient, DexConfig, DexTokens, DexUser, LOCAL_CONNECTOR, MOCK_CONNECTOR, Pkce,
    jwt_claims,
};
pub use helm_repo::{HelmRepoServer, HelmRepoServerBuilder, RepoRequest};
pub use identity::{ClusterEndpoint, service_account_token};
pub use manifests::apply_manifests;
pub use oci_registry::{OciRegistry, OciRegistryBuilder};
pub use outage::Outage;
pub use tools::{built_dex, built_helm, built_registry, built_tool};
pub use wait::wait_until;
