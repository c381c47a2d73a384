//! A scratch git repository driven by the `git` CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A non-bare repository with branch `main` in a temporary directory (removed on drop). The
/// `git` CLI runs without any system or global configuration, with a fixed identity.
pub struct ScratchRepo {
    _root: tempfile::TempDir,
    path: PathBuf,
}

impl ScratchRepo {
    /// `git init` in a fresh temporary directory; the repository directory is named `repo`.
    pub fn new() -> Self {
        Self::named("repo")
    }

    /// Like [`Self::new`] with the repository directory called `name` (e.g. to serve several
    /// over HTTP from one root).
    pub fn named(name: &str) -> Self {
        let root = tempfile::Builder::new()
            .prefix("driftless-scratch-")
            .tempdir()
            .expect("create temp dir");
        let path = root.path().join(name);
        std::fs::create_dir_all(&path).expect("create repo dir");
        let repo = ScratchRepo { _root: root, path };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo
    }

    /// The working directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory holding the repository directory: a `GIT_PROJECT_ROOT` for HTTP serving.
    pub fn root(&self) -> &Path {
        self.path.parent().expect("repo dir has a parent")
    }

    /// The repository directory's name, i.e. its path under [`Self::root`].
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .expect("repo dir has a name")
            .to_string_lossy()
            .into_owned()
    }

    /// `file:///…/repo`.
    pub fn file_url(&self) -> String {
        format!("file://{}", self.path.display())
    }

    /// Runs git in the repository and returns its trimmed stdout; panics if git fails.
    pub fn git(&self, args: &[&str]) -> String {
        let output = isolated_git()
            .current_dir(&self.path)
            .args(args)
            .output()
            .expect("run git");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Writes a file (creating directories) without committing.
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) -> &Self {
        let full = self.path.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&full, contents).expect("write file");
        self
    }

    /// Removes a file or directory from the working tree and the index.
    pub fn remove(&self, path: &str) -> &Self {
        self.git(&["rm", "-r", "--quiet", path]);
        self
    }

    /// Makes a file executable (mode 0755 on disk, so `git add` records it as such).
    #[cfg(unix)]
    pub fn make_executable(&self, path: &str) -> &Self {
        use std::os::unix::fs::PermissionsExt;
        let full = self.path.join(path);
        std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        self
    }

    /// Creates a symlink `path` → `target`.
    #[cfg(unix)]
    pub fn symlink(&self, path: &str, target: &str) -> &Self {
        let full = self.path.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::os::unix::fs::symlink(target, &full).expect("create symlink");
        self
    }

    /// Stages everything and commits; returns the new commit id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message]);
        self.head()
    }

    /// The commit id of HEAD.
    pub fn head(&self) -> String {
        self.rev_parse("HEAD")
    }

    /// `git rev-parse --verify <rev>^{commit}`.
    pub fn rev_parse(&self, rev: &str) -> String {
        self.git(&["rev-parse", "--verify", &format!("{rev}^{{commit}}")])
    }

    /// The name of the branch checked out.
    pub fn branch(&self) -> String {
        self.git(&["rev-parse", "--abbrev-ref", "HEAD"])
            .trim()
            .to_string()
    }

    /// Creates branch `name` at HEAD and switches to it.
    pub fn checkout_new_branch(&self, name: &str) -> &Self {
        self.git(&["checkout", "--quiet", "-b", name]);
        self
    }

    /// Switches to an existing branch.
    pub fn checkout(&self, name: &str) -> &Self {
        self.git(&["checkout", "--quiet", name]);
        self
    }

    /// A lightweight tag at HEAD.
    pub fn tag(&self, name: &str) -> &Self {
        self.git(&["tag", name]);
        self
    }

    /// An annotated tag at HEAD; returns the id of the tag object (not the commit).
    pub fn annotated_tag(&self, name: &str, message: &str) -> String {
        self.git(&["tag", "-a", name, "-m", message]);
        self.git(&["rev-parse", name])
    }

    pub fn delete_branch(&self, name: &str) -> &Self {
        self.git(&["branch", "--quiet", "-D", name]);
        self
    }

    pub fn delete_tag(&self, name: &str) -> &Self {
        self.git(&["tag", "-d", name]);
        self
    }
}

impl Default for ScratchRepo {
    fn default() -> Self {
        Self::new()
    }
}

/// `git` with no system or global configuration and a fixed identity.
pub(crate) fn isolated_git() -> Command {
    let mut command = Command::new("git");
    command
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Driftless Test")
        .env("GIT_AUTHOR_EMAIL", "test@driftless.invalid")
        .env("GIT_COMMITTER_NAME", "Driftless Test")
        .env("GIT_COMMITTER_EMAIL", "test@driftless.invalid")
        .env("GIT_TERMINAL_PROMPT", "0");
    command
}
