//! Running `helm` and `kustomize`: found once, run behind a small trait so tests can
//! count invocations, with a timeout and the tool's stderr kept for error messages.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One run of an external tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
}

impl Invocation {
    pub fn command_line(&self) -> String {
        let mut line = self.program.display().to_string();
        for arg in &self.args {
            line.push(' ');
            line.push_str(arg);
        }
        line
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("failed to start {program}: {message}")]
    Spawn { program: String, message: String },
    #[error("failed to finish {program} within {seconds}s: killed")]
    Timeout { program: String, seconds: u64 },
    #[error("failed to finish {program}: it used more than {mib} MiB of memory and was killed")]
    MemoryLimit { program: String, mib: u64 },
    #[error("failed to finish {program}: it wrote more than {mib} MiB of manifests and was killed")]
    OutputLimit { program: String, mib: u64 },
    #[error("{program} exited with {status}: {stderr}")]
    Failed {
        program: String,
        status: String,
        stderr: String,
    },
    #[error("failed to find {tool}: {hint}")]
    NotFound {
        tool: &'static str,
        hint: &'static str,
    },
}

/// Runs a tool and returns its stdout; a non-zero exit is an error carrying stderr.
pub trait ToolRunner: Send + Sync {
    fn run(&self, invocation: &Invocation) -> Result<Vec<u8>, ToolError>;

    /// Like [`ToolRunner::run`], with `env` set on top of the inherited environment (helm
    /// gets its plugin and config directories pointed at empty ones this way). A runner that
    /// starts no real process may ignore `env`.
    fn run_with_env(
        &self,
        invocation: &Invocation,
        env: &[(String, String)],
    ) -> Result<Vec<u8>, ToolError> {
        let _ = env;
        self.run(invocation)
    }

    /// Like [`ToolRunner::run`], with exactly `env` as the environment (nothing inherited from
    /// driftless, which may hold credentials) and, for a real process, in a process group of
    /// its own that is killed when the command exits or times out: plugin commands start
    /// children that would otherwise outlive them and hold the output open.
    fn run_isolated(
        &self,
        invocation: &Invocation,
        env: &[(String, String)],
    ) -> Result<Vec<u8>, ToolError> {
        let _ = env;
        Err(ToolError::Spawn {
            program: invocation.program.display().to_string(),
            message:
                "failed to isolate it: this runner cannot run a command in a clean environment"
                    .into(),
        })
    }
}

/// Runs tools as child processes, each killed when it runs longer than `timeout`, its
/// resident memory (its whole process group's, for isolated runs) grows past `memory_limit`
/// or its output past `output_limit`.
#[derive(Debug, Clone)]
pub struct ProcessRunner {
    pub timeout: Duration,
    /// Bytes; `None`: unbounded.
    pub memory_limit: Option<u64>,
    /// Bytes of stdout kept; a tool writing more is killed (its output would be parsed and
    /// held in driftless' own memory). `None`: unbounded.
    pub output_limit: Option<u64>,
}

/// A render's tool may use this much memory unless configured otherwise.
pub const DEFAULT_MEMORY_LIMIT: u64 = 2 << 30;
/// A render's tool may write this much unless configured otherwise: twice the cap of one
/// manifest file, far above the largest real charts (a few MiB).
pub const DEFAULT_OUTPUT_LIMIT: u64 = 2 * crate::manifest::MAX_FILE_BYTES;

impl Default for ProcessRunner {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(90),
            memory_limit: Some(DEFAULT_MEMORY_LIMIT),
            output_limit: Some(DEFAULT_OUTPUT_LIMIT),
        }
    }
}

impl ToolRunner for ProcessRunner {
    fn run(&self, invocation: &Invocation) -> Result<Vec<u8>, ToolError> {
        self.run_with_env(invocation, &[])
    }

    fn run_with_env(
        &self,
        invocation: &Invocation,
        env: &[(String, String)],
    ) -> Result<Vec<u8>, ToolError> {
        let mut command = command_for(invocation);
        command.envs(env.iter().map(|(k, v)| (k, v)));
        self.execute(command, invocation, false)
    }

    fn run_isolated(
        &self,
        invocation: &Invocation,
        env: &[(String, String)],
    ) -> Result<Vec<u8>, ToolError> {
        use std::os::unix::process::CommandExt;
        let mut command = command_for(invocation);
        command
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .process_group(0);
        self.execute(command, invocation, true)
    }
}

impl ProcessRunner {
    /// Spawns `command`, drains its output and waits up to the timeout. `group`: the child
    /// leads a process group, killed on timeout and once the child has exited.
    fn execute(
        &self,
        mut command: Command,
        invocation: &Invocation,
        group: bool,
    ) -> Result<Vec<u8>, ToolError> {
        let program = invocation.program.display().to_string();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ToolError::Spawn {
                program: program.clone(),
                message: e.to_string(),
            })?;
        // Drain both pipes on threads so a chatty tool cannot block on a full pipe.
        let overflowed = Arc::new(AtomicBool::new(false));
        let stdout = drain(child.stdout.take(), self.output_limit, overflowed.clone());
        // stderr only makes the error message; a tool spewing there is cut, not killed.
        let stderr = drain(
            child.stderr.take(),
            Some(STDERR_LIMIT),
            Arc::new(AtomicBool::new(false)),
        );
        let started = Instant::now();
        let mut memory_checked = started;
        let stop = |child: &mut std::process::Child| {
            if group {
                kill_group(child);
            }
            let _ = child.kill();
            let _ = child.wait();
        };
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if overflowed.load(Ordering::Relaxed) => {
                    stop(&mut child);
                    return Err(ToolError::OutputLimit {
                        program,
                        mib: self.output_limit.unwrap_or_default() >> 20,
                    });
                }
                Ok(None) if started.elapsed() >= self.timeout => {
                    stop(&mut child);
                    return Err(ToolError::Timeout {
                        program,
                        seconds: self.timeout.as_secs(),
                    });
                }
                Ok(None) => {
                    if let Some(limit) = self.memory_limit
                        && memory_checked.elapsed() >= MEMORY_POLL
                    {
                        memory_checked = Instant::now();
                        if crate::resident::bytes(child.id(), group) > limit {
                            stop(&mut child);
                            return Err(ToolError::MemoryLimit {
                                program,
                                mib: limit >> 20,
                            });
                        }
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    return Err(ToolError::Spawn {
                        program,
                        message: e.to_string(),
                    });
                }
            }
        };
        if group {
            // Background children left behind would keep the pipes open, and the joins waiting.
            kill_group(&child);
        }
        let stdout = stdout.join().unwrap_or_default();
        if overflowed.load(Ordering::Relaxed) {
            return Err(ToolError::OutputLimit {
                program,
                mib: self.output_limit.unwrap_or_default() >> 20,
            });
        }
        let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default())
            .trim()
            .to_string();
        if status.success() {
            Ok(stdout)
        } else {
            Err(ToolError::Failed {
                program,
                status: status.to_string(),
                stderr,
            })
        }
    }
}

/// How often a running tool's memory is looked at: a tool allocating as fast as it can gains
/// a few hundred MiB between two looks at most.
const MEMORY_POLL: Duration = Duration::from_millis(50);

/// Kills the process group `child` leads; errors (the group is already gone) do not matter.
fn kill_group(child: &std::process::Child) {
    use rustix::process::{Pid, Signal, kill_process_group};
    let _ = kill_process_group(Pid::from_child(child), Signal::KILL);
}

/// The command of `invocation`: its program, arguments and directory.
fn command_for(invocation: &Invocation) -> Command {
    let mut command = Command::new(&invocation.program);
    command.args(&invocation.args).current_dir(&invocation.cwd);
    command
}

/// Bytes of a tool's stderr kept for its error message.
const STDERR_LIMIT: u64 = 1 << 20;

/// Reads `pipe` to its end, keeping at most `limit` bytes; past it, raises `overflowed` and
/// stops reading (the tool then gets EPIPE or is killed).
fn drain(
    pipe: Option<impl Read + Send + 'static>,
    limit: Option<u64>,
    overflowed: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(pipe) = pipe {
            let cap = limit.unwrap_or(u64::MAX);
            let _ = pipe.take(cap.saturating_add(1)).read_to_end(&mut buf);
            if buf.len() as u64 > cap {
                buf.truncate(cap as usize);
                overflowed.store(true, Ordering::Relaxed);
            }
        }
        buf
    })
}

/// Wraps a runner and remembers every invocation, so tests can count tool runs.
#[derive(Debug, Default)]
pub struct RecordingRunner<R> {
    inner: R,
    log: Mutex<Vec<Invocation>>,
}

impl<R> RecordingRunner<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            log: Mutex::new(Vec::new()),
        }
    }

    fn record(&self, invocation: &Invocation) {
        if let Ok(mut log) = self.log.lock() {
            log.push(invocation.clone());
        }
    }

    pub fn invocations(&self) -> Vec<Invocation> {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    pub fn clear(&self) {
        if let Ok(mut log) = self.log.lock() {
            log.clear();
        }
    }
}

impl<R: ToolRunner> ToolRunner for RecordingRunner<R> {
    fn run(&self, invocation: &Invocation) -> Result<Vec<u8>, ToolError> {
        self.record(invocation);
        self.inner.run(invocation)
    }

    fn run_with_env(
        &self,
        invocation: &Invocation,
        env: &[(String, String)],
    ) -> Result<Vec<u8>, ToolError> {
        self.record(invocation);
        self.inner.run_with_env(invocation, env)
    }

    fn run_isolated(
        &self,
        invocation: &Invocation,
        env: &[(String, String)],
    ) -> Result<Vec<u8>, ToolError> {
        self.record(invocation);
        self.inner.run_isolated(invocation, env)
    }
}

/// How kustomize is run: its own binary, or the copy built into kubectl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kustomize {
    Standalone(PathBuf),
    Kubectl(PathBuf),
}

impl Kustomize {
    /// The program and leading arguments of `kustomize build <dir>`.
    pub fn build(&self, dir: &Path) -> (PathBuf, Vec<String>) {
        let dir = dir.display().to_string();
        match self {
            Kustomize::Standalone(bin) => (bin.clone(), vec!["build".into(), dir]),
            Kustomize::Kubectl(bin) => (bin.clone(), vec!["kustomize".into(), dir]),
        }
    }

    pub fn program(&self) -> &Path {
        match self {
            Kustomize::Standalone(bin) | Kustomize::Kubectl(bin) => bin,
        }
    }
}

/// The tools found on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tools {
    pub helm: Option<PathBuf>,
    pub kustomize: Option<Kustomize>,
    /// Config management plugins (`DRIFTLESS_PLUGIN_DIR`); none by default.
    pub plugins: crate::plugin::Plugins,
    /// Let kustomize fetch remote bases (URLs in `resources`, `components` …). Off unless
    /// asked for (`DRIFTLESS_KUSTOMIZE_REMOTE_BASES=allow`, `--allow-kustomize-remote-bases`):
    /// their content is not in the repository, so git does not record what was deployed.
    pub kustomize_remote_bases: bool,
}

impl Tools {
    /// `DRIFTLESS_HELM` / `DRIFTLESS_KUSTOMIZE` / `DRIFTLESS_KUBECTL`, else `helm`,
    /// `kustomize`, then `kubectl` (for `kubectl kustomize`) on `PATH`; plugins from the
    /// directory `DRIFTLESS_PLUGIN_DIR` names.
    pub fn discover() -> Self {
        Self::discover_with_plugin_dir(None)
    }

    /// Like [`Tools::discover`], with the plugins of `plugin_dir` (`--plugin-dir`) when given
    /// instead of `DRIFTLESS_PLUGIN_DIR`'s.
    pub fn discover_with_plugin_dir(plugin_dir: Option<&Path>) -> Self {
        let helm = env_path("DRIFTLESS_HELM").or_else(|| on_path("helm"));
        let kustomize = env_path("DRIFTLESS_KUSTOMIZE")
            .or_else(|| on_path("kustomize"))
            .map(Kustomize::Standalone)
            .or_else(|| {
                env_path("DRIFTLESS_KUBECTL")
                    .or_else(|| on_path("kubectl"))
                    .map(Kustomize::Kubectl)
            });
        let plugins = plugin_dir
            .map(Path::to_path_buf)
            .or_else(|| env_path("DRIFTLESS_PLUGIN_DIR"))
            .map(|dir| crate::plugin::Plugins::load(&dir))
            .unwrap_or_default();
        Self {
            helm,
            kustomize,
            plugins,
            kustomize_remote_bases: std::env::var("DRIFTLESS_KUSTOMIZE_REMOTE_BASES")
                .is_ok_and(|v| v == "allow"),
        }
    }

    pub fn helm(&self) -> Result<&Path, ToolError> {
        self.helm.as_deref().ok_or(ToolError::NotFound {
            tool: "helm",
            hint: "set DRIFTLESS_HELM or put helm on PATH (hack/build-tools builds it)",
        })
    }

    pub fn kustomize(&self) -> Result<&Kustomize, ToolError> {
        self.kustomize.as_ref().ok_or(ToolError::NotFound {
            tool: "kustomize",
            hint: "set DRIFTLESS_KUSTOMIZE, or put kustomize or kubectl on PATH",
        })
    }

    /// Identifies the tool binary a render method uses (path, size, modification time) for
    /// the cache key, so upgrading helm or kustomize invalidates its renders without running it.
    pub fn fingerprint_for(&self, method: &crate::spec::Method) -> String {
        use crate::spec::Method;
        match method {
            Method::Directory(_) => String::new(),
            Method::Helm(_) => Tools {
                helm: self.helm.clone(),
                kustomize: None,
                ..Tools::default()
            }
            .fingerprint(),
            Method::Kustomize(_) => Tools {
                helm: None,
                kustomize: self.kustomize.clone(),
                ..Tools::default()
            }
            .fingerprint(),
            // Plugin renders are not cached (`Method::cacheable`).
            Method::Plugin(_) => String::new(),
        }
    }

    /// Identifies all tool binaries (see [`Tools::fingerprint_for`]).
    pub fn fingerprint(&self) -> String {
        let describe = |path: Option<&Path>| match path {
            None => "none".to_string(),
            Some(p) => match std::fs::metadata(p) {
                Ok(meta) => {
                    let mtime = meta
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    format!("{}:{}:{}", p.display(), meta.len(), mtime)
                }
                Err(_) => p.display().to_string(),
            },
        };
        let kustomize = match &self.kustomize {
            Some(Kustomize::Standalone(p)) => format!("standalone:{}", describe(Some(p))),
            Some(Kustomize::Kubectl(p)) => format!("kubectl:{}", describe(Some(p))),
            None => "none".into(),
        };
        format!(
            "helm={};kustomize={}",
            describe(self.helm.as_deref()),
            kustomize
        )
    }
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The tools and the runner that runs them, handed to each render step.
#[derive(Clone, Copy)]
pub struct Toolbox<'a> {
    pub tools: &'a Tools,
    pub runner: &'a dyn ToolRunner,
    /// Fetches chart dependencies that charts do not vendor; `None` offline.
    pub charts: Option<&'a dyn crate::charts::ChartFetcher>,
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    fn shell(script: &str) -> Invocation {
        Invocation {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            cwd: std::env::temp_dir(),
        }
    }

    #[test]
    fn a_tool_writing_past_the_output_limit_is_killed() {
        let runner = ProcessRunner {
            output_limit: Some(1 << 20),
            ..ProcessRunner::default()
        };
        let endless = "while :; do echo 'kind: ConfigMap'; done";
        for result in [
            runner.run(&shell(endless)),
            runner.run_isolated(&shell(endless), &[]),
        ] {
            assert!(
                matches!(result, Err(ToolError::OutputLimit { mib: 1, .. })),
                "{result:?}"
            );
        }
        let within = runner.run(&shell("head -c 1000 /dev/zero"));
        assert_eq!(within.map(|out| out.len()).ok(), Some(1000));
    }

    #[test]
    fn a_tool_growing_past_the_memory_limit_is_killed() {
        let runner = ProcessRunner {
            timeout: Duration::from_secs(60),
            memory_limit: Some(64 << 20),
            ..ProcessRunner::default()
        };
        // The shell holds an ever longer string in a variable.
        let hog = "x=a; while :; do x=\"$x$x\"; done";
        let started = Instant::now();
        for result in [
            runner.run(&shell(hog)),
            runner.run_isolated(&shell(hog), &[]),
        ] {
            assert!(
                matches!(result, Err(ToolError::MemoryLimit { mib: 64, .. })),
                "{result:?}"
            );
        }
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[test]
    fn a_tool_running_past_the_timeout_is_killed() {
        let runner = ProcessRunner {
            timeout: Duration::from_millis(300),
            memory_limit: None,
            output_limit: None,
        };
        let result = runner.run(&shell("exec sleep 30"));
        assert!(
            matches!(result, Err(ToolError::Timeout { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn extra_environment_reaches_the_tool() {
        let runner = RecordingRunner::new(ProcessRunner::default());
        let env = [("DRIFTLESS_TEST_VALUE".to_string(), "set".to_string())];
        let out = runner.run_with_env(&shell("echo \"$DRIFTLESS_TEST_VALUE\""), &env);
        assert_eq!(out.ok(), Some(b"set\n".to_vec()));
        assert_eq!(runner.invocations().len(), 1, "recorded");
    }

    #[test]
    fn a_tool_within_its_limits_answers() {
        let runner = ProcessRunner::default();
        assert_eq!(runner.run(&shell("echo ok")).ok(), Some(b"ok\n".to_vec()));
    }
}
