//! The parent side: a pool of worker processes, each request bounded by a deadline and
//! each worker by an address-space limit.
//!
//! Replies are read on a thread per worker and handed over a channel, so waiting for them
//! is `recv_timeout`: the deadline holds even when the worker is silent (busy in an
//! evaluator that cannot be interrupted). A worker that misses its deadline is killed
//! (SIGKILL) and reaped, never reused; one that exits without an answer most likely
//! aborted on a failed allocation under the memory limit; the end of its stderr (kept on a
//! second thread, never shown to the user as is) says so in the error.

use crate::error::SandboxError;
use crate::limits::Limits;
use crate::protocol::{FromParent, FromWorker, Request, to_line};
use serde_json::Value;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::Instant;

/// Idle workers kept for reuse; more concurrent evaluations start more, which end after.
const MAX_IDLE: usize = 4;

/// How much of a worker's stderr is kept (its end), to say why it ended.
const STDERR_TAIL: usize = 2048;

/// Runs requests in worker processes started as `program args…`.
#[derive(Debug)]
pub struct Sandbox {
    program: PathBuf,
    args: Vec<OsString>,
    limits: Limits,
    idle: Mutex<Vec<Worker>>,
}

impl Sandbox {
    pub fn new(
        program: impl Into<PathBuf>,
        args: impl IntoIterator<Item = impl Into<OsString>>,
        limits: Limits,
    ) -> Self {
        Self {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            limits,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Workers `program __evaluate` ([`crate::WORKER_ARG`]): the driftless binary at
    /// `program`, which need not be this process's own (tests and embedders name it).
    pub fn driftless(program: impl Into<PathBuf>, limits: Limits) -> Self {
        Self::new(program, [crate::WORKER_ARG], limits)
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Evaluates `input` with the worker's handler `kind`, answering the worker's callbacks
    /// with `callback`. The deadline runs from when a worker is ready and includes the
    /// time spent in callbacks.
    pub fn evaluate(
        &self,
        kind: &str,
        input: Value,
        callback: &mut dyn FnMut(Value) -> Result<Value, String>,
    ) -> Result<Value, SandboxError> {
        let limit = self.limits.deadline(kind);
        let request = to_line(&Request {
            kind: kind.to_string(),
            input,
        });
        // An idle worker that died since (killed from outside) costs a fresh one, not an error.
        let reused = self.take_idle().and_then(|mut worker| {
            let sent = worker.send(&request).is_ok();
            sent.then_some(worker)
        });
        let mut worker = match reused {
            Some(worker) => worker,
            None => {
                let mut worker = self.spawn()?;
                if worker.send(&request).is_err() {
                    return Err(self.ended(kind, &mut worker));
                }
                worker
            }
        };
        match worker.answer(callback, Instant::now() + limit) {
            Ok(answer) => {
                self.give_back(worker);
                answer
            }
            Err(Fault::Deadline) => {
                worker.kill();
                Err(SandboxError::Deadline {
                    kind: kind.to_string(),
                    seconds: limit.as_secs_f64(),
                })
            }
            Err(Fault::Ended) => Err(self.ended(kind, &mut worker)),
            Err(Fault::Protocol(message)) => {
                worker.kill();
                Err(SandboxError::Protocol(message))
            }
        }
    }

    fn ended(&self, kind: &str, worker: &mut Worker) -> SandboxError {
        SandboxError::Ended {
            kind: kind.to_string(),
            memory_mib: self.limits.memory_mib(),
            status: worker.reap(),
        }
    }

    fn take_idle(&self) -> Option<Worker> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(mut worker) = idle.pop() {
            // One that died while idle (killed from outside) is not worth a failed request.
            if matches!(worker.child.try_wait(), Ok(None)) {
                return Some(worker);
            }
        }
        None
    }

    fn give_back(&self, worker: Worker) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(worker);
        }
    }

    fn spawn(&self) -> Result<Worker, SandboxError> {
        let start_error = |reason: String| SandboxError::Start {
            program: self.program.display().to_string(),
            reason,
        };
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| start_error(e.to_string()))?;
        let mut worker_parts = || -> Result<Parts, String> {
            if let Some(bytes) = self.limits.memory_bytes {
                limit_memory(&child, bytes)?;
            }
            let stdin = child.stdin.take().ok_or("it has no stdin")?;
            let stderr = child.stderr.take().ok_or("it has no stderr")?;
            let stdout = child.stdout.take().ok_or("it has no stdout")?;
            let (tx, rx) = channel();
            std::thread::Builder::new()
                .name("sandbox-reader".into())
                .spawn(move || {
                    let mut reader = BufReader::new(stdout);
                    loop {
                        let mut line = String::new();
                        match reader.read_line(&mut line) {
                            Ok(0) => break,
                            Ok(_) => {
                                if tx.send(Ok(line)).is_err() {
                                    break;
                                }
                            }
                            Err(e) => {
                                let _ = tx.send(Err(e));
                                break;
                            }
                        }
                    }
                })
                .map_err(|e| format!("failed to start its reader thread: {e}"))?;
            let stderr = std::thread::Builder::new()
                .name("sandbox-stderr".into())
                .spawn(move || tail(stderr))
                .map_err(|e| format!("failed to start its stderr thread: {e}"))?;
            Ok((stdin, rx, stderr))
        };
        match worker_parts() {
            Ok((stdin, lines, stderr)) => Ok(Worker {
                child,
                stdin,
                lines,
                stderr: Some(stderr),
            }),
            Err(reason) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(start_error(reason))
            }
        }
    }
}

type Parts = (
    ChildStdin,
    Receiver<std::io::Result<String>>,
    JoinHandle<Vec<u8>>,
);

/// Sets the worker's address-space limit. It runs already, but only the serve loop, which
/// allocates next to nothing before its first request.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn limit_memory(child: &Child, bytes: u64) -> Result<(), String> {
    use rustix::process::{Pid, Resource, Rlimit, prlimit};
    let limit = Rlimit {
        current: Some(bytes),
        maximum: Some(bytes),
    };
    prlimit(Some(Pid::from_child(child)), Resource::As, limit)
        .map(drop)
        .map_err(|e| format!("failed to set its memory limit: {e}"))
}

/// Other systems have no `prlimit` of another process: the deadline is the only bound.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn limit_memory(_: &Child, _: u64) -> Result<(), String> {
    Ok(())
}

/// The last [`STDERR_TAIL`] bytes of `stderr`, once it ends.
fn tail(mut stderr: impl Read) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut chunk = [0u8; 1024];
    while let Ok(n @ 1..) = stderr.read(&mut chunk) {
        kept.extend_from_slice(&chunk[..n]);
        if kept.len() > STDERR_TAIL {
            kept.drain(..kept.len() - STDERR_TAIL);
        }
    }
    kept
}

/// Why a worker gave no answer; the worker is not reusable after any of these.
enum Fault {
    Deadline,
    Ended,
    Protocol(String),
}

#[derive(Debug)]
struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<std::io::Result<String>>,
    /// The end of its stderr, when it ends.
    stderr: Option<JoinHandle<Vec<u8>>>,
}

impl Worker {
    /// The rest of one request, once sent: answer callbacks, return the worker's answer.
    fn answer(
        &mut self,
        callback: &mut dyn FnMut(Value) -> Result<Value, String>,
        deadline: Instant,
    ) -> Result<Result<Value, SandboxError>, Fault> {
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(remaining) {
                Ok(Ok(line)) => line,
                Ok(Err(e)) => return Err(Fault::Protocol(format!("failed to read: {e}"))),
                Err(RecvTimeoutError::Timeout) => return Err(Fault::Deadline),
                Err(RecvTimeoutError::Disconnected) => return Err(Fault::Ended),
            };
            let message: FromWorker = serde_json::from_str(&line).map_err(|e| {
                Fault::Protocol(format!("failed to parse the worker's line {line:?}: {e}"))
            })?;
            match message {
                FromWorker::Callback(question) => {
                    let reply = match callback(question) {
                        Ok(value) => FromParent::Reply(value),
                        Err(message) => FromParent::ReplyError(message),
                    };
                    self.send(&to_line(&reply))?;
                }
                FromWorker::Result(value) => return Ok(Ok(value)),
                FromWorker::Error(message) => return Ok(Err(SandboxError::Failed(message))),
            }
        }
    }

    /// A write fails when the worker has gone; its exit status tells why.
    fn send(&mut self, line: &str) -> Result<(), Fault> {
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|_| Fault::Ended)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for an ended worker and describes how it ended: its exit status and the last
    /// lines of its stderr ("memory allocation of … bytes failed").
    fn reap(&mut self) -> String {
        let status = match self.child.wait() {
            Ok(status) => status.to_string(),
            Err(e) => format!("its status is unknown: {e}"),
        };
        let said = self
            .stderr
            .take()
            .and_then(|thread| thread.join().ok())
            .map(|bytes| last_words(&String::from_utf8_lossy(&bytes)))
            .unwrap_or_default();
        if said.is_empty() {
            status
        } else {
            format!("{status}: {said}")
        }
    }
}

/// The last few meaningful lines of a worker's stderr, on one line; Rust's
/// "note: run with `RUST_BACKTRACE=1`" is left out.
fn last_words(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("note: "))
        .collect();
    let said = lines[lines.len().saturating_sub(3)..].join("; ");
    match said.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &said[..cut]),
        None => said,
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}
