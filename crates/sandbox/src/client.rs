//! The parent side: a pool of worker processes, each request bounded by a deadline and
//! each worker by an address-space limit.
//!
//! Replies are read on a thread per worker and handed over a channel, so waiting for them
//! is `recv_timeout`: the deadline holds even when the worker is silent (busy in an
//! evaluator that cannot be interrupted). A worker that misses its deadline is killed
//! (SIGKILL) and reaped, never reused; one that exits without an answer most likely
//! aborted on a failed allocation under the memory limit.

use crate::error::SandboxError;
use crate::protocol::{FromParent, FromWorker, Request, to_line};
use rustix::process::{Pid, Resource, Rlimit, prlimit};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// Idle workers kept for reuse; more concurrent evaluations start more, which end after.
const MAX_IDLE: usize = 4;

/// Deadlines by request kind, and the memory every worker may map.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Deadline of each kind; kinds not named get `default_deadline`.
    pub deadlines: BTreeMap<String, Duration>,
    pub default_deadline: Duration,
    /// Address-space limit (`RLIMIT_AS`) of a worker; `None` for no limit.
    pub memory_bytes: Option<u64>,
}

impl Default for Limits {
    /// jq 1 s (Argo CD's jq timeout), Jsonnet 60 s, 1 GiB of address space.
    fn default() -> Self {
        Self {
            deadlines: BTreeMap::from([
                ("jq-paths".to_string(), Duration::from_secs(1)),
                ("jsonnet".to_string(), Duration::from_secs(60)),
            ]),
            default_deadline: Duration::from_secs(60),
            memory_bytes: Some(1024 << 20),
        }
    }
}

impl Limits {
    /// The deadline of one request of `kind`.
    pub fn deadline(&self, kind: &str) -> Duration {
        self.deadlines
            .get(kind)
            .copied()
            .unwrap_or(self.default_deadline)
    }

    pub fn with_deadline(mut self, kind: &str, deadline: Duration) -> Self {
        self.deadlines.insert(kind.to_string(), deadline);
        self
    }

    pub fn with_memory_bytes(mut self, bytes: Option<u64>) -> Self {
        self.memory_bytes = bytes;
        self
    }

    fn memory_mib(&self) -> u64 {
        self.memory_bytes.map_or(0, |b| b >> 20)
    }
}

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
        let mut worker = match self.take_idle() {
            Some(worker) => worker,
            None => self.spawn()?,
        };
        let limit = self.limits.deadline(kind);
        let request = Request {
            kind: kind.to_string(),
            input,
        };
        match worker.run(&request, callback, Instant::now() + limit) {
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
            Err(Fault::Ended) => Err(SandboxError::Ended {
                kind: kind.to_string(),
                memory_mib: self.limits.memory_mib(),
                status: worker.reap(),
            }),
            Err(Fault::Protocol(message)) => {
                worker.kill();
                Err(SandboxError::Protocol(message))
            }
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
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| start_error(e.to_string()))?;
        let mut worker_parts =
            || -> Result<(ChildStdin, Receiver<std::io::Result<String>>), String> {
                if let Some(bytes) = self.limits.memory_bytes {
                    let limit = Rlimit {
                        current: Some(bytes),
                        maximum: Some(bytes),
                    };
                    prlimit(Some(Pid::from_child(&child)), Resource::As, limit)
                        .map_err(|e| format!("failed to set its memory limit: {e}"))?;
                }
                let stdin = child.stdin.take().ok_or("it has no stdin")?;
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
                Ok((stdin, rx))
            };
        match worker_parts() {
            Ok((stdin, lines)) => Ok(Worker {
                child,
                stdin,
                lines,
            }),
            Err(reason) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(start_error(reason))
            }
        }
    }
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
}

impl Worker {
    /// One request: send it, answer callbacks, return the worker's answer.
    fn run(
        &mut self,
        request: &Request,
        callback: &mut dyn FnMut(Value) -> Result<Value, String>,
        deadline: Instant,
    ) -> Result<Result<Value, SandboxError>, Fault> {
        self.send(&to_line(request))?;
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

    /// Waits for an ended worker and describes how it ended.
    fn reap(&mut self) -> String {
        match self.child.wait() {
            Ok(status) => status.to_string(),
            Err(e) => format!("its status is unknown: {e}"),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}
