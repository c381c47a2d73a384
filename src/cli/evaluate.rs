//! `driftless __evaluate` (hidden): the sandbox's worker process, answering jq and Jsonnet
//! requests on stdin/stdout (see `driftless_sandbox`); and [`install`], which every other
//! subcommand calls first so that those evaluations run in such workers, bounded in time
//! and memory, instead of in this process where nothing can stop them.

use driftless_sandbox::{Handler, Limits, Sandbox};
use std::process::ExitCode;

/// Answers requests until stdin ends.
pub fn run() -> ExitCode {
    let handlers: [(&str, Handler); 2] = [
        (
            driftless_diff::jq::JQ_PATHS_KIND,
            driftless_diff::jq::sandbox_handler,
        ),
        (
            driftless_render::jsonnet::JSONNET_KIND,
            driftless_render::jsonnet::sandbox_handler,
        ),
    ];
    match driftless_sandbox::serve(&handlers) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: failed to serve evaluations: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Installs the process-wide sandbox: this binary's `__evaluate`, with limits from
/// `DRIFTLESS_EVAL_TIMEOUT_SECONDS` (Jsonnet, default 60), `DRIFTLESS_JQ_TIMEOUT_SECONDS`
/// (default 1) and `DRIFTLESS_EVAL_MEMORY_MIB` (default 1024; 0 for no limit). Without a
/// path to this binary evaluations stay in-process, with a warning.
pub fn install() {
    let program = match std::env::current_exe() {
        Ok(program) => program,
        Err(e) => {
            eprintln!("warning: jq and Jsonnet run unbounded: failed to find this program: {e}");
            return;
        }
    };
    let (limits, warnings) = Limits::from_env();
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    let _ = driftless_sandbox::install(Sandbox::driftless(program, limits));
}
