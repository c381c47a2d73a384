//! Why a sandboxed evaluation gave no answer.

/// A failure of the sandbox itself, or the evaluation's own error ([`SandboxError::Failed`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SandboxError {
    #[error("failed to start the evaluation process {program}: {reason}")]
    Start { program: String, reason: String },
    #[error("failed to evaluate {kind}: it did not finish within {seconds}s")]
    Deadline { kind: String, seconds: f64 },
    #[error(
        "failed to evaluate {kind}: the evaluation process ended without an answer ({status}); \
         most likely it ran out of memory under the limit of {memory_mib} MiB"
    )]
    Ended {
        kind: String,
        memory_mib: u64,
        status: String,
    },
    #[error("failed to talk to the evaluation process: {0}")]
    Protocol(String),
    /// The evaluation's own error, as the worker's handler gave it.
    #[error("{0}")]
    Failed(String),
}
