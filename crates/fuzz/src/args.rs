//! The command line: `fuzz [--target NAME] [--runs N] [--seed S] [--timeout SECS]
//! [--artifacts DIR] [--input FILE] [--list]`, plus the flags the fuzzer passes to its own
//! child processes.

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "usage: fuzz [--target NAME] [--runs N] [--seed S] [--timeout SECS] [--artifacts DIR] [--memory-mb MB]
       fuzz --target NAME --input FILE     run one saved input
       fuzz --target NAME --seed S --dump I   print the input of execution I
       fuzz --list                         list the targets and probes
Runs every target (or NAME) N times (default 1000000) from seed S (default 1); a reproducing
input of each panic, crash or hang is saved under DIR (default $TMPDIR/driftless-fuzz).";

#[derive(Debug, Clone)]
pub struct Args {
    pub target: Option<String>,
    pub runs: u64,
    pub seed: u64,
    /// An execution running longer than this is a hang.
    pub timeout: Duration,
    pub artifacts: PathBuf,
    /// Address-space limit of each child process, so a memory bomb aborts the child only.
    pub memory_mb: u64,
    pub input: Option<PathBuf>,
    /// Print the input of this execution instead of running anything.
    pub dump: Option<u64>,
    pub list: bool,
    /// Internal: run executions `from..to` of `target` in this process.
    pub child: bool,
    pub from: u64,
    pub to: Option<u64>,
    /// Internal: write each input to this file before running it (to find a crash).
    pub save_inputs: Option<PathBuf>,
    /// Internal: run one probe in this process.
    pub probe: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error("{0} needs a value\n{USAGE}")]
    Missing(String),
    #[error("{flag} {value:?} is not a number\n{USAGE}")]
    NotANumber { flag: String, value: String },
    #[error("unknown argument {0:?}\n{USAGE}")]
    Unknown(String),
}

pub fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, ArgsError> {
    let mut args = Args {
        target: None,
        runs: 1_000_000,
        seed: 1,
        timeout: Duration::from_secs(10),
        artifacts: std::env::temp_dir().join("driftless-fuzz"),
        memory_mb: 4096,
        input: None,
        dump: None,
        list: false,
        child: false,
        from: 0,
        to: None,
        save_inputs: None,
        probe: None,
    };
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| ArgsError::Missing(flag.clone()));
        match flag.as_str() {
            "--target" => args.target = Some(value()?),
            "--runs" => args.runs = number(&flag, &value()?)?,
            "--seed" => args.seed = number(&flag, &value()?)?,
            "--timeout" => args.timeout = Duration::from_secs(number(&flag, &value()?)?),
            "--artifacts" => args.artifacts = PathBuf::from(value()?),
            "--memory-mb" => args.memory_mb = number(&flag, &value()?)?,
            "--input" => args.input = Some(PathBuf::from(value()?)),
            "--dump" => args.dump = Some(number(&flag, &value()?)?),
            "--list" => args.list = true,
            "--child" => args.child = true,
            "--from" => args.from = number(&flag, &value()?)?,
            "--to" => args.to = Some(number(&flag, &value()?)?),
            "--save-inputs" => args.save_inputs = Some(PathBuf::from(value()?)),
            "--probe" => args.probe = Some(value()?),
            "-h" | "--help" => return Err(ArgsError::Unknown(flag)),
            _ => return Err(ArgsError::Unknown(flag)),
        }
    }
    Ok(args)
}

fn number(flag: &str, value: &str) -> Result<u64, ArgsError> {
    value
        .replace('_', "")
        .parse()
        .map_err(|_| ArgsError::NotANumber {
            flag: flag.to_string(),
            value: value.to_string(),
        })
}
