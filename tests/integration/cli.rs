//! Running the `driftless` binary against a git repository and the cluster, as a user would.

use driftless_source::testing::ScratchRepo;
use driftless_testkit::TestNamespace;
use std::path::PathBuf;
use std::process::{Command, Output};

/// A git repo holding one app's manifests, an Application file pointing at it, and the
/// namespace the app deploys to. The app is named after the namespace, so tests never share
/// tracked objects.
pub struct AppFixture {
    pub ns: TestNamespace,
    pub repo: ScratchRepo,
    pub app_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl AppFixture {
    /// `files` are (path under `app/`, contents); `spec_extra` is YAML merged into the spec
    /// (e.g. `ignoreDifferences`), indented for `spec:`.
    pub async fn new(
        prefix: &str,
        files: &[(&str, &str)],
        spec_extra: &str,
    ) -> anyhow::Result<Self> {
        let ns = TestNamespace::new(prefix).await?;
        let repo = ScratchRepo::new();
        for (path, body) in files {
            repo.write(&format!("app/{path}"), body);
        }
        repo.commit("initial manifests");
        let dir = tempfile::tempdir()?;
        let app_file = dir.path().join("app.yaml");
        std::fs::write(
            &app_file,
            format!(
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: argocd\n\
                 spec:\n  project: default\n  source:\n    repoURL: {url}\n    targetRevision: HEAD\n    path: app\n\
                 \x20 destination:\n    server: https://kubernetes.default.svc\n    namespace: {name}\n{spec_extra}",
                name = ns.name,
                url = repo.file_url(),
            ),
        )?;
        Ok(Self {
            ns,
            repo,
            app_file,
            _dir: dir,
        })
    }

    /// Runs `driftless <args> -f app.yaml --config-namespace <ns>` with a cache of its own.
    pub fn driftless(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_driftless"));
        cmd.args(args).arg("-f").arg(&self.app_file);
        if matches!(args.first(), Some(&"diff") | Some(&"sync")) {
            cmd.args(["--config-namespace", &self.ns.name]);
        }
        cmd.env("DRIFTLESS_CACHE", self._dir.path().join("cache"));
        cmd.output().expect("failed to run the driftless binary")
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Fails with the command's output when it did not exit with `code`.
pub fn expect_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: expected exit {code}\n--- stdout\n{}\n--- stderr\n{}",
        stdout(out),
        stderr(out)
    );
}
