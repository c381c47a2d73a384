//! Running one command of a plugin (`init`, `generate`, `discover.find.command`): argv exactly
//! as written, in a clean environment, through the toolbox's runner (and its timeout).

use super::PluginError;
use super::definition::{Command, Plugin};
use crate::tools::{Invocation, ToolError, Toolbox};
use std::fmt;
use std::path::{Path, PathBuf};

/// How much of a failed command's stderr an error keeps (its end, where the cause usually is).
const STDERR_LIMIT: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Init,
    Generate,
    Discover,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Init => "init",
            Step::Generate => "generate",
            Step::Discover => "discover.find.command",
        })
    }
}

/// Runs `command` in `cwd` with exactly `env`; returns its stdout.
pub fn run_step(
    toolbox: Toolbox<'_>,
    plugin: &Plugin,
    step: Step,
    command: &Command,
    cwd: &Path,
    env: &[(String, String)],
) -> Result<Vec<u8>, PluginError> {
    let name = plugin.full_name();
    let argv = command.argv();
    let Some((program, args)) = argv.split_first() else {
        return Err(PluginError::EmptyCommand { plugin: name, step });
    };
    let invocation = Invocation {
        program: PathBuf::from(program),
        args: args.to_vec(),
        cwd: cwd.to_path_buf(),
    };
    // The command line only: variable values (parameters, env) are never logged.
    tracing::debug!(plugin = %name, %step, dir = %cwd.display(), "running plugin command");
    toolbox
        .runner
        .run_isolated(&invocation, env)
        .map_err(|error| match error {
            ToolError::Failed { status, stderr, .. } => PluginError::Failed {
                plugin: name,
                step,
                status,
                stderr: tail(&stderr, STDERR_LIMIT),
            },
            ToolError::Timeout { seconds, .. } => PluginError::Timeout {
                plugin: name,
                step,
                seconds,
            },
            other => PluginError::Spawn {
                plugin: name,
                step,
                message: other.to_string(),
            },
        })
}

/// The last `limit` bytes of `text` (on a character boundary), marked when cut.
fn tail(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[…{} bytes cut] {}", start, &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_stderr_keeps_its_end() {
        let text = format!("{}the cause", "x".repeat(10_000));
        let cut = tail(&text, 100);
        assert!(cut.ends_with("the cause"));
        assert!(cut.len() < 150, "{}", cut.len());
        assert!(cut.starts_with("[…9909 bytes cut]"), "{cut}");
        assert_eq!(tail("short", 100), "short");
        assert!(
            tail("éééé", 3).ends_with('é'),
            "cut on a character boundary"
        );
    }
}
