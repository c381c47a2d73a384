//! Helpers for tests: the cluster named by `KUBECONFIG`, a temporary namespace per test,
//! and waiting for a condition with a deadline.

mod cluster;
mod wait;

pub use cluster::{client, TestNamespace};
pub use wait::wait_until;
