//! Faults against the real control plane: `driftless serve` killed with SIGKILL at random
//! points of multi-wave syncs with hooks, the git server down, a helm that hangs or eats
//! memory, two apps claiming one object, an Application edited while it syncs, replicas sharing
//! the apps through shard Leases as one is killed and another joins, and (in the
//! long run on a control plane of its own, `make faults`) the API server and etcd restarted
//! mid-sync. For each: every sync completes, no object is lost or wrongly pruned, hooks run
//! once per sync, the status is right, and other apps keep going.
//!
//! `make test` runs the short forms; `make faults` sets `DRIFTLESS_FAULT_SCALE=long` (more
//! rounds, longer outages) and runs the restart cases too. Each case prints one row of the
//! fault table (`fault | injected | syncs completed | objects lost`).

mod contention;
pub(crate) mod handover;
mod kills;
mod outages;
mod renders;
mod shard_leases;

use crate::gitops::Gitops;
use futures::StreamExt;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::watcher;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// Whether this is the long run of `make faults`.
pub(crate) fn long_run() -> bool {
    std::env::var("DRIFTLESS_FAULT_SCALE").is_ok_and(|s| s == "long")
}

/// One row of the fault table, printed for the report.
pub(crate) fn report(fault: &str, injected: usize, completed: usize, lost: usize) {
    println!("fault table | {fault} | {injected} | {completed} | {lost}");
}

/// The `value` of a live ConfigMap, if it exists.
pub(crate) async fn value_of(
    cms: &Api<k8s_openapi::api::core::v1::ConfigMap>,
    name: &str,
) -> anyhow::Result<Option<String>> {
    Ok(cms
        .get_opt(name)
        .await?
        .and_then(|c| c.data)
        .and_then(|d| d.get("value").cloned()))
}

/// `driftless serve` as a child process that can be killed with SIGKILL and started again
/// with the same flags and cache, its output appended to one log.
pub(crate) struct Serve {
    args: Vec<String>,
    envs: Vec<(String, String)>,
    /// A program (and its arguments) that runs the driftless command, which it is given last.
    wrapper: Vec<String>,
    /// Variables of the test's own environment the process does not inherit.
    cleared: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Serve {
    pub(crate) fn new(env: &Gitops, extra: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::in_namespace(&env.ns.name, env.cache.path(), extra, envs)
    }

    /// `driftless serve` of the app namespace `ns` (its installation id too), caching in
    /// `cache` unless `extra` names a `--cache-dir`.
    pub(crate) fn in_namespace(
        ns: &str,
        cache: &std::path::Path,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let mut args: Vec<String> = ["serve", "--app-namespace", ns, "--installation-id", ns]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(["--poll-interval".into(), "1s".into()]);
        if !extra.contains(&"--cache-dir") {
            args.extend(["--cache-dir".into(), cache.display().to_string()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        Self::with_args(args, envs)
    }

    /// The driftless command `args` (its subcommand first), as they stand.
    pub(crate) fn with_args(args: Vec<String>, envs: &[(&str, &str)]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        Ok(Self {
            args,
            envs: envs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            wrapper: Vec::new(),
            cleared: Vec::new(),
            log: dir.path().join("serve.log"),
            child: None,
            _dir: dir,
        })
    }

    /// Runs the driftless command through `wrapper` (a program and its arguments).
    pub(crate) fn wrapped_in(mut self, wrapper: &[&str]) -> Self {
        self.wrapper = wrapper.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Leaves the variable `name` of the test's environment out of the process's.
    pub(crate) fn without_env(mut self, name: &str) -> Self {
        self.cleared.push(name.to_string());
        self
    }

    pub(crate) fn start(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let driftless = env!("CARGO_BIN_EXE_driftless");
        let mut command = match self.wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(driftless);
                command
            }
            None => Command::new(driftless),
        };
        for name in &self.cleared {
            command.env_remove(name);
        }
        let child = command
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            // DRIFTLESS_FAULT_LOG=debug shows more of what the controller did.
            .env(
                "RUST_LOG",
                std::env::var("DRIFTLESS_FAULT_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?;
        self.child = Some(child);
        Ok(())
    }

    /// SIGTERM, then waits (up to `within`) for the exit; returns its status and how long it took.
    pub(crate) fn terminate(
        &mut self,
        within: std::time::Duration,
    ) -> anyhow::Result<(std::process::ExitStatus, std::time::Duration)> {
        let mut child = self
            .child
            .take()
            .ok_or_else(|| anyhow::anyhow!("not running"))?;
        let started = std::time::Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        anyhow::ensure!(sent.success(), "kill -TERM failed");
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok((status, started.elapsed()));
            }
            if started.elapsed() > within {
                let _ = child.kill();
                let _ = child.wait();
                anyhow::bail!("still running {within:?} after SIGTERM");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// SIGKILL: no clean-up, no lease release, whatever was in flight is cut.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The kinds a hooked, waved sync creates: its hook Jobs, ConfigMaps and Deployments.
pub(crate) const WAVE_KINDS: &[(&str, &str, &str)] = &[
    ("batch", "v1", "Job"),
    ("", "v1", "ConfigMap"),
    ("apps", "v1", "Deployment"),
];

/// Everything the API server told a watcher about objects of some kinds in the namespace:
/// each (kind, name, uid) seen, and each one deleted.
#[derive(Clone, Default)]
pub(crate) struct Recorder {
    seen: Arc<Mutex<BTreeSet<(String, String, String)>>>,
    deleted: Arc<Mutex<BTreeSet<(String, String, String)>>>,
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Recorder {
    /// Watches `kinds` (group, version, kind) in the test namespace from now on.
    pub(crate) async fn watch(env: &Gitops, kinds: &[(&str, &str, &str)]) -> anyhow::Result<Self> {
        let recorder = Self::default();
        for (group, version, kind) in kinds {
            let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
            let api: Api<DynamicObject> =
                Api::namespaced_with(env.ns.client.clone(), &env.ns.name, &resource);
            let (seen, deleted, kind) = (
                recorder.seen.clone(),
                recorder.deleted.clone(),
                kind.to_string(),
            );
            let task = tokio::spawn(async move {
                let mut events = watcher(api, watcher::Config::default()).boxed();
                while let Some(event) = events.next().await {
                    let entry = |o: &DynamicObject| {
                        (
                            kind.clone(),
                            o.metadata.name.clone().unwrap_or_default(),
                            o.metadata.uid.clone().unwrap_or_default(),
                        )
                    };
                    match event {
                        Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                            seen.lock().map(|mut s| s.insert(entry(&o))).ok();
                        }
                        Ok(watcher::Event::Delete(o)) => {
                            deleted.lock().map(|mut s| s.insert(entry(&o))).ok();
                        }
                        _ => {}
                    }
                }
            });
            if let Ok(mut tasks) = recorder.tasks.lock() {
                tasks.push(task.abort_handle());
            }
        }
        // The watch is established before the test goes on.
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        Ok(recorder)
    }

    /// How many distinct objects named `name` of `kind` existed (a hook run creates one).
    pub(crate) fn created(&self, kind: &str, name: &str) -> usize {
        self.seen
            .lock()
            .map(|s| s.iter().filter(|(k, n, _)| k == kind && n == name).count())
            .unwrap_or_default()
    }

    /// The (kind, name) of every deleted object.
    pub(crate) fn deleted(&self) -> Vec<(String, String)> {
        self.deleted
            .lock()
            .map(|s| s.iter().map(|(k, n, _)| (k.clone(), n.clone())).collect())
            .unwrap_or_default()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if Arc::strong_count(&self.tasks) == 1
            && let Ok(tasks) = self.tasks.lock()
        {
            tasks.iter().for_each(tokio::task::AbortHandle::abort);
        }
    }
}
