//! Argo CD compatible types (`argoproj.io/v1alpha1` Application, ApplicationSet, AppProject),
//! the identity of a Kubernetes object, and the annotation and label names driftless reads.
//! No I/O here: everything is a value.
//!
//! Every struct of the Argo CD model keeps the fields it does not know in `extra`, so a manifest
//! written for a newer Argo CD survives a read-modify-write unchanged.

// Tests may unwrap: a panic there is a failed test, not a crash on user input.
#![cfg_attr(test, allow(clippy::unwrap_used))]

#[macro_use]
mod string_enum;

pub mod annotations;
pub mod application;
pub mod appset;
pub mod crd;
pub mod duration;
pub mod glob;
pub mod key;
pub mod operation;
pub mod project;
pub mod requests;
pub mod schema;
pub mod secret;
pub mod source;
pub mod status;
pub mod sync_options;
pub mod sync_policy;
pub mod yaml;

pub use application::{
    Application, ApplicationDestination, ApplicationSpec, Info, ResourceIgnoreDifferences,
};
pub use appset::{
    ApplicationSet, ApplicationSetSpec, ApplicationSetStatus, ApplicationSetTemplate,
};
pub use crd::{crds, crds_yaml};
pub use duration::{DurationError, parse_duration};
pub use key::{GroupKind, ResourceKey};
pub use operation::{Operation, OperationInitiator, SyncOperation, SyncOperationResource};
pub use project::{AppProject, AppProjectSpec, AppProjectStatus};
pub use secret::{IN_CLUSTER_NAME, IN_CLUSTER_SERVER, is_secret_type, secret_field};
pub use source::{ApplicationSource, SourceError, SourceKind};
pub use status::{
    ApplicationStatus, HealthStatus, HealthStatusCode, OperationPhase, OperationState, SyncStatus,
    SyncStatusCode,
};
pub use sync_options::SyncOptions;
pub use sync_policy::{Backoff, RetryStrategy, SyncPolicy, SyncPolicyAutomated};

/// Fields of an Argo CD object that this version does not model, kept as written.
pub type Extra = std::collections::BTreeMap<String, serde_json::Value>;

/// The API group and version of every Argo CD resource.
pub const GROUP: &str = "argoproj.io";
pub const VERSION: &str = "v1alpha1";
pub const API_VERSION: &str = "argoproj.io/v1alpha1";
