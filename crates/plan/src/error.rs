//! Why no plan could be made.

use driftless_model::key::KeyError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The source rendered nothing while objects would be pruned: almost always a broken
    /// source, not an intent to delete the app's every object.
    #[error(
        "failed to plan: the source rendered no objects (hooks aside), so the sync would prune all {prunes} live objects; \
         set allowEmpty to allow an empty app"
    )]
    EmptyRender { prunes: usize },
    #[error("failed to read {side} object #{index}: {source}")]
    InvalidObject {
        side: &'static str,
        index: usize,
        #[source]
        source: KeyError,
    },
    #[error("failed to plan: {key} is given twice among the {side} objects")]
    DuplicateObject { side: &'static str, key: String },
}
