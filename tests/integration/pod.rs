//! The environment a pod gives `driftless serve`, emulated on this machine: no kubeconfig,
//! `KUBERNETES_SERVICE_HOST`/`PORT`, and the projected token, CA and namespace under
//! /var/run/secrets/kubernetes.io/serviceaccount, which a private mount namespace puts in
//! place for the process alone (so it needs root, as `make test` on its machine has).

use crate::faults::Serve;
use driftless_testkit::TestCluster;
use std::path::{Path, PathBuf};

pub(crate) struct Pod {
    dir: tempfile::TempDir,
    api_port: String,
}

impl Pod {
    /// A pod of the namespace `ns` whose ServiceAccount token is `token`.
    pub(crate) fn new(ns: &str, token: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let endpoint = TestCluster::Main.endpoint()?;
        let pod = Self {
            api_port: endpoint
                .port()
                .ok_or_else(|| anyhow::anyhow!("no port in {}", endpoint.server))?
                .to_string(),
            dir,
        };
        std::fs::create_dir_all(pod.account_dir())?;
        std::fs::create_dir_all(pod.dir.path().join("home"))?;
        std::fs::write(pod.account_dir().join("ca.crt"), &endpoint.ca_pem)?;
        std::fs::write(pod.account_dir().join("namespace"), ns)?;
        pod.rotate(token)?;
        Ok(pod)
    }

    /// /run/secrets/kubernetes.io/serviceaccount as the process sees it (/var/run links to /run).
    fn account_dir(&self) -> PathBuf {
        self.dir
            .path()
            .join("run/secrets/kubernetes.io/serviceaccount")
    }

    /// Replaces the token in one step, as the kubelet swaps a projected volume's files.
    pub(crate) fn rotate(&self, token: &str) -> std::io::Result<()> {
        let path = self.account_dir().join("token");
        let next = path.with_extension("next");
        std::fs::write(&next, token)?;
        std::fs::rename(next, path)
    }

    /// `driftless serve` for the app namespace `ns` with `extra` flags, in this pod.
    pub(crate) fn serve(&self, ns: &str, cache: &Path, extra: &[&str]) -> anyhow::Result<Serve> {
        let home = self.home();
        let serve = Serve::in_namespace(ns, cache, extra, &self.env(&home, &[]))?;
        Ok(self.contain(serve))
    }

    /// The driftless command `args` as a container's args give it, with the container's
    /// `envs` (HOME aside: the pod's own), in this pod.
    pub(crate) fn run(&self, args: Vec<String>, envs: &[(&str, &str)]) -> anyhow::Result<Serve> {
        let home = self.home();
        let serve = Serve::with_args(args, &self.env(&home, envs))?;
        Ok(self.contain(serve))
    }

    fn home(&self) -> String {
        self.dir.path().join("home").display().to_string()
    }

    /// What the kubelet puts in a container's environment, and `extra`.
    fn env<'a>(&'a self, home: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut env = vec![
            ("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
            ("KUBERNETES_SERVICE_PORT", self.api_port.as_str()),
        ];
        env.extend(extra.iter().filter(|(name, _)| *name != "HOME"));
        env.push(("HOME", home));
        env
    }

    /// `serve` with no kubeconfig and the pod's files over /run, in a mount namespace of its own.
    fn contain(&self, serve: Serve) -> Serve {
        let run = self.dir.path().join("run").display().to_string();
        serve.without_env("KUBECONFIG").wrapped_in(&[
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            "mount --bind \"$0\" /run && exec \"$@\"",
            &run,
        ])
    }
}

/// A port free on 127.0.0.1 a moment ago.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
