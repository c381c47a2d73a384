//! Shared helpers: the real tools, the fixture repository, and git repositories made with
//! the `git` CLI in temp dirs.
#![allow(dead_code)]

use driftless_render::manifest::parse_yaml_stream;
use driftless_render::tools::Kustomize;
use driftless_render::{Tools, TreeError, TreeSource};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

pub fn repo() -> PathBuf {
    testdata().join("repo")
}

/// helm from `DRIFTLESS_HELM`, `PATH`, or the cache `hack/build-tools` builds into.
/// Tests need the real tool: without it they fail and say how to get it.
pub fn helm() -> PathBuf {
    Tools::discover()
        .helm
        .or_else(driftless_testkit::built_helm)
        .expect("helm not found: set DRIFTLESS_HELM, put helm on PATH, or run hack/build-tools")
}

pub fn tools() -> Tools {
    let discovered = Tools::discover();
    let kustomize = discovered
        .kustomize
        .expect("kustomize not found: put kustomize or kubectl on PATH");
    Tools {
        helm: Some(helm()),
        kustomize: Some(kustomize),
        ..Tools::default()
    }
}

/// Runs a command and returns stdout, failing the test with stderr.
pub fn run(program: &Path, args: &[&str], cwd: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("tool starts");
    assert!(
        out.status.success(),
        "{} {:?}: {}",
        program.display(),
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `kustomize build DIR` by hand, with whichever kustomize the tools use.
pub fn kustomize_by_hand(tools: &Tools, dir: &Path) -> String {
    match tools.kustomize.as_ref().expect("kustomize") {
        Kustomize::Standalone(bin) => run(bin, &["build", &dir.display().to_string()], dir),
        Kustomize::Kubectl(bin) => run(bin, &["kustomize", &dir.display().to_string()], dir),
    }
}

/// Objects of a YAML stream, sorted by identity, for comparing renders.
pub fn objects(text: &str) -> Vec<Value> {
    let mut objects: Vec<Value> = parse_yaml_stream("by hand", text)
        .expect("tool output parses")
        .into_iter()
        .map(|m| m.object)
        .collect();
    objects.sort_by_key(identity);
    objects
}

pub fn identity(object: &Value) -> String {
    let text = |p: &str| {
        object
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    format!(
        "{}/{}/{}/{}",
        text("/apiVersion"),
        text("/kind"),
        text("/metadata/namespace"),
        text("/metadata/name")
    )
}

pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            panic!(
                "no {kind} {name} in {:#?}",
                objects.iter().map(identity).collect::<Vec<_>>()
            )
        })
}

/// Copies a directory tree (test setup).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A git repository in a temp dir, driven by the `git` CLI.
pub struct GitRepo {
    pub dir: tempfile::TempDir,
}

impl GitRepo {
    pub fn new() -> Self {
        let repo = Self {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=test",
                "-c",
                "user.email=test@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Commits everything and returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    pub fn at(&self, commit: &str) -> GitCliTree {
        GitCliTree {
            repo: self.path().to_path_buf(),
            commit: commit.to_string(),
        }
    }
}

/// A commit of a git repository as a tree source, read with the `git` CLI.
pub struct GitCliTree {
    pub repo: PathBuf,
    pub commit: String,
}

impl GitCliTree {
    fn spec(&self, path: &str) -> String {
        if path.is_empty() {
            format!("{}^{{tree}}", self.commit)
        } else {
            format!("{}:{}", self.commit, path)
        }
    }

    fn git(&self, args: &[&str]) -> Result<std::process::Output, TreeError> {
        Command::new("git")
            .args(args)
            .current_dir(&self.repo)
            .output()
            .map_err(|e| TreeError(e.to_string()))
    }
}

impl TreeSource for GitCliTree {
    fn tree_id(&self, path: &str) -> Result<Option<String>, TreeError> {
        let out = self.git(&["rev-parse", "--verify", "--quiet", &self.spec(path)])?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()))
    }

    fn export(&self, path: &str, dest: &Path) -> Result<(), TreeError> {
        let spec = self.spec(path);
        let kind = self.git(&["cat-file", "-t", &spec])?;
        if String::from_utf8_lossy(&kind.stdout).trim() == "blob" {
            let blob = self.git(&["cat-file", "blob", &spec])?;
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| TreeError(e.to_string()))?;
            }
            return std::fs::write(dest, blob.stdout).map_err(|e| TreeError(e.to_string()));
        }
        std::fs::create_dir_all(dest).map_err(|e| TreeError(e.to_string()))?;
        let archive = self.git(&["archive", "--format=tar", &spec])?;
        let mut tar = Command::new("tar")
            .args(["-x", "-C", &dest.display().to_string()])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| TreeError(e.to_string()))?;
        use std::io::Write;
        tar.stdin
            .take()
            .ok_or_else(|| TreeError("no stdin".into()))?
            .write_all(&archive.stdout)
            .map_err(|e| TreeError(e.to_string()))?;
        let status = tar.wait().map_err(|e| TreeError(e.to_string()))?;
        if status.success() {
            Ok(())
        } else {
            Err(TreeError(format!("tar failed for {spec}")))
        }
    }

    fn describe(&self) -> String {
        format!("{}@{}", self.repo.display(), self.commit)
    }
}
