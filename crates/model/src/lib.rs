//! Argo CD compatible types (`argoproj.io/v1alpha1` Application, ApplicationSet, AppProject),
//! the identity of a Kubernetes object, and the annotation and label names driftless reads.
//! No I/O here: everything is a value.

pub mod annotations;
pub mod key;

pub use key::{GroupKind, ResourceKey};
