//! Helpers for tests: the cluster named by `KUBECONFIG`, a temporary namespace per test,
//! and waiting for a condition with a deadline.

mod cleanup;
mod cluster;
mod crds;
mod outage;
mod tools;
mod wait;

pub use cleanup::{run_detached, run_detached_on, strip_application_finalizers};
pub use cluster::{TestCluster, TestNamespace, client, client_of};
pub use crds::{install_argo_crds, wait_established};
pub use outage::Outage;
pub use tools::built_helm;
pub use wait::wait_until;
