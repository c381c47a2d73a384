//! The parent process: runs each target in child processes (so that a stack overflow, an
//! allocation failure or a hang ends only a child), finds the input of a crash by replaying
//! the last stretch with every input saved, and goes on after it until N executions are done.

use crate::args::Args;
use crate::child::{HANG_EXIT, PROGRESS_EVERY};
use crate::targets::Target;
use crate::{FuzzError, probes};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Give up on a target after this many crashes and hangs.
const MAX_ABNORMAL: usize = 8;

#[derive(Debug)]
pub struct Finding {
    pub kind: &'static str,
    pub index: u64,
    pub file: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub execs: u64,
    pub busy: Duration,
    pub panics: u64,
    pub slowest: Duration,
    pub slowest_index: u64,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Default)]
struct Outcome {
    progress: u64,
    last_at: Option<u64>,
    hang: Option<u64>,
    done: bool,
    status: Option<ExitStatus>,
    stderr: String,
    /// The child's own time for its executions (start-up and seed loading left out).
    busy: Option<Duration>,
}

fn command(args: &Args) -> Result<Command, FuzzError> {
    let exe = std::env::current_exe().map_err(|e| FuzzError::Io("current executable".into(), e))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--seed")
        .arg(args.seed.to_string())
        .arg("--timeout")
        .arg(args.timeout.as_secs().to_string())
        .arg("--artifacts")
        .arg(&args.artifacts)
        .arg("--memory-mb")
        .arg(args.memory_mb.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Ok(cmd)
}

fn tail_of(stderr: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut s) = stderr {
            let _ = s.read_to_string(&mut text);
        }
        let start = text.len().saturating_sub(600);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text[start..].trim().replace('\n', " | ")
    })
}

/// Runs one child over `from..to` and reads what it reports.
fn run_child(
    args: &Args,
    target: &Target,
    from: u64,
    to: u64,
    save: Option<&Path>,
    report: &mut Report,
) -> Result<Outcome, FuzzError> {
    let mut cmd = command(args)?;
    cmd.arg("--child")
        .arg("--target")
        .arg(target.name)
        .arg("--from")
        .arg(from.to_string())
        .arg("--to")
        .arg(to.to_string());
    if let Some(save) = save {
        cmd.arg("--save-inputs").arg(save);
    }
    let mut child: Child = cmd
        .spawn()
        .map_err(|e| FuzzError::Io("spawning a child".into(), e))?;
    let stderr = tail_of(child.stderr.take());
    let mut outcome = Outcome {
        progress: from,
        ..Outcome::default()
    };
    let started = Instant::now();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(FuzzError::Stdout)?;
            let mut words = line.splitn(4, ' ');
            let (kind, a, b, rest) = (words.next(), words.next(), words.next(), words.next());
            let n = |w: Option<&str>| w.and_then(|w| w.parse::<u64>().ok()).unwrap_or(0);
            match kind {
                Some("progress") => {
                    outcome.progress = n(a);
                    if outcome.progress.is_multiple_of(100_000) && save.is_none() {
                        eprintln!("[{}] {} / {}", target.name, outcome.progress, args.runs);
                    }
                }
                Some("at") => outcome.last_at = Some(n(a)),
                Some("panic") => {
                    report.panics += 1;
                    if b != Some("-") {
                        report.findings.push(Finding {
                            kind: "panic",
                            index: n(a),
                            file: b.unwrap_or("-").into(),
                            message: rest.unwrap_or("").into(),
                        });
                    }
                }
                Some("hang") => {
                    outcome.hang = Some(n(a));
                    let message =
                        format!("an execution ran longer than {}s", args.timeout.as_secs());
                    report.findings.push(Finding {
                        kind: "hang",
                        index: n(a),
                        file: b.unwrap_or("-").into(),
                        message,
                    });
                }
                Some("done") => {
                    outcome.done = true;
                    outcome.busy = Some(Duration::from_millis(n(b)));
                    let mut last = rest.unwrap_or("").splitn(2, ' ');
                    let (slowest, index) = (Duration::from_micros(n(last.next())), n(last.next()));
                    if slowest > report.slowest {
                        (report.slowest, report.slowest_index) = (slowest, index);
                    }
                }
                _ => {}
            }
        }
    }
    outcome.status = Some(
        child
            .wait()
            .map_err(|e| FuzzError::Io("waiting for a child".into(), e))?,
    );
    outcome.stderr = stderr.join().unwrap_or_default();
    if save.is_none() {
        report.busy += outcome.busy.unwrap_or_else(|| started.elapsed());
    }
    Ok(outcome)
}

/// Fuzzes one target for `args.runs` executions.
pub fn fuzz(args: &Args, target: &Target) -> Result<Report, FuzzError> {
    let mut report = Report::default();
    let mut from = 0;
    let mut abnormal = 0;
    while from < args.runs && abnormal < MAX_ABNORMAL {
        let outcome = run_child(args, target, from, args.runs, None, &mut report)?;
        if outcome.done {
            report.execs += args.runs - from;
            break;
        }
        abnormal += 1;
        if let Some(index) = outcome
            .hang
            .filter(|_| outcome.status.and_then(|s| s.code()) == Some(HANG_EXIT))
        {
            report.execs += index + 1 - from;
            from = index + 1;
            continue;
        }
        // A crash: replay from the last progress mark, saving each input first.
        let start = outcome.progress;
        let current: PathBuf = args.artifacts.join(target.name).join("current.in");
        let replay = run_child(
            args,
            target,
            start,
            (start + PROGRESS_EVERY).min(args.runs),
            Some(&current),
            &mut Report::default(),
        )?;
        let status = outcome.status.map(|s| format!("{s}")).unwrap_or_default();
        match replay.last_at.filter(|_| !replay.done) {
            Some(index) => {
                let file = args
                    .artifacts
                    .join(target.name)
                    .join(format!("crash-s{}-{index}.in", args.seed));
                let file = std::fs::rename(&current, &file)
                    .map(|()| file.display().to_string())
                    .unwrap_or_else(|_| "-".into());
                report.findings.push(Finding {
                    kind: "crash",
                    index,
                    file,
                    message: format!("{status}: {}", replay.stderr),
                });
                report.execs += index + 1 - from;
                from = index + 1;
            }
            None => {
                report.findings.push(Finding {
                    kind: "crash",
                    index: start,
                    file: "-".into(),
                    message: format!(
                        "{status} ({}): {}",
                        if replay.done {
                            "not reproduced when replayed"
                        } else {
                            "the child died before its first execution"
                        },
                        outcome.stderr
                    ),
                });
                report.execs += start - from;
                from = (start + PROGRESS_EVERY).min(args.runs);
            }
        }
    }
    Ok(report)
}

/// Runs one probe in a child with the run's timeout; describes how it ended.
pub fn probe(args: &Args, probe: &probes::Probe) -> Result<String, FuzzError> {
    let mut cmd = command(args)?;
    cmd.arg("--probe").arg(probe.name);
    let mut child = cmd
        .spawn()
        .map_err(|e| FuzzError::Io("spawning a probe".into(), e))?;
    let stderr = tail_of(child.stderr.take());
    let started = Instant::now();
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| FuzzError::Io("waiting for a probe".into(), e))?
        {
            let mut out = String::new();
            if let Some(mut stdout) = child.stdout.take() {
                let _ = stdout.read_to_string(&mut out);
            }
            let took = started.elapsed();
            return Ok(match out.trim().strip_prefix("probe ") {
                Some(result) if status.success() => {
                    format!("bounded: stopped after {took:.1?}: {result}")
                }
                _ => format!(
                    "NOT bounded: the process died after {took:.1?} ({status}): {}",
                    stderr.join().unwrap_or_default()
                ),
            });
        }
        if started.elapsed() > args.timeout {
            // Our own child, ended through its handle.
            let _ = child.kill();
            let _ = child.wait();
            return Ok(format!(
                "NOT bounded: still running after {}s (killed)",
                args.timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
