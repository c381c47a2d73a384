//! Bounded evaluation of user-supplied programs.
//!
//! jq path expressions (jaq) and Jsonnet (rsjsonnet-lang) come from repositories and
//! Applications, and neither evaluator can be interrupted: `[range(1e13)]` or
//! `std.range(0, 1e9)` runs for minutes and takes gigabytes. The only bound that always
//! holds is a process that can be killed, so evaluations run in a child process of the
//! driftless binary (`driftless __evaluate`), which the parent kills at a deadline and
//! starts under an address-space limit.
//!
//! - [`Sandbox`] (parent side) keeps a few idle workers so that an evaluation usually
//!   costs a round trip, not a process start;
//! - [`serve`] (worker side) answers requests with the handlers it is given;
//! - [`install`] / [`installed`] make one sandbox the process-wide one. Callers that find
//!   none installed evaluate in-process (library use, unit tests). The driftless binary
//!   installs `Sandbox::driftless(current_exe, Limits::from_env())`; a process that runs
//!   the controller in-process (the integration tests) can install one naming the binary.
//!
//! The protocol ([`protocol`]) is JSON lines over the worker's stdin and stdout.

mod client;
mod error;
mod limits;
pub mod protocol;
mod worker;

pub use client::Sandbox;
pub use error::SandboxError;
pub use limits::{JQ_PATHS_KIND, JQ_TIMEOUT_ENV, JSONNET_KIND, Limits, MEMORY_ENV, TIMEOUT_ENV};
pub use worker::{Callback, Handler, serve};

/// The hidden subcommand of the driftless binary that serves evaluations.
pub const WORKER_ARG: &str = "__evaluate";

use std::sync::OnceLock;

static INSTALLED: OnceLock<Sandbox> = OnceLock::new();

/// Makes `sandbox` the process-wide one; a second call keeps the first and returns the
/// sandbox it was given.
pub fn install(sandbox: Sandbox) -> Result<(), Box<Sandbox>> {
    INSTALLED.set(sandbox).map_err(Box::new)
}

/// The process-wide sandbox, when the program installed one.
pub fn installed() -> Option<&'static Sandbox> {
    INSTALLED.get()
}
