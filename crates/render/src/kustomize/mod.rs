//! Kustomize sources: Argo CD's edits applied to a copy, then `kustomize build` (or
//! `kubectl kustomize`), and its output parsed.
//!
//! Nothing from the repository is run: the build never gets `--enable-alpha-plugins`,
//! `--enable-exec` or `--enable-helm`, so exec and KRM function plugins (a transformer whose
//! config has `config.kubernetes.io/function`, a legacy plugin found by apiVersion and kind)
//! and `helmCharts` fail in kustomize with its own message; remote bases are refused here
//! unless [`crate::Tools::kustomize_remote_bases`] is on.

pub mod deps;
pub mod edit;
pub mod image;

use crate::manifest::{self, Manifest, ManifestError};
use crate::paths;
use crate::spec::KustomizeOptions;
use crate::tools::{Invocation, ToolError, Toolbox};
use crate::workspace::{SourceId, Workspace, WorkspaceError, on_disk};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum KustomizeError {
    #[error("failed to find path {0:?} in the repository")]
    MissingPath(String),
    #[error(
        "failed to find a kustomization file (kustomization.yaml, kustomization.yml or Kustomization) in {0:?}"
    )]
    NoKustomization(String),
    #[error(
        "failed to add component {0:?}: it does not exist (set ignoreMissingComponents to skip it)"
    )]
    MissingComponent(String),
    #[error("failed to follow {reference:?} from {path:?}: it leaves the repository")]
    OutsideRepo { path: String, reference: String },
    #[error("failed to read {path}: {message}")]
    Io { path: String, message: String },
    #[error("failed to read {0}: it is a symlink that leaves the repository")]
    SymlinkOutside(String),
    #[error(
        "failed to build {path:?}: it uses the remote base {url}, and remote bases are off (run with --allow-kustomize-remote-bases or DRIFTLESS_KUSTOMIZE_REMOTE_BASES=allow to fetch them)"
    )]
    RemoteBase { path: String, url: String },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Edit(#[from] edit::EditError),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    Tool(#[from] ToolError),
}

/// What a kustomize render produced, and whether its inputs are all in the repository.
pub struct KustomizeOutput {
    pub manifests: Vec<Manifest>,
    pub remote: Vec<String>,
}

pub fn render(
    toolbox: Toolbox<'_>,
    ws: &mut dyn Workspace,
    app_path: &str,
    options: &KustomizeOptions,
) -> Result<KustomizeOutput, KustomizeError> {
    let kustomize = toolbox.tools.kustomize()?;
    let dir = ws
        .ensure(&SourceId::Main, app_path)?
        .ok_or_else(|| KustomizeError::MissingPath(app_path.to_string()))?;
    let file = deps::kustomization_file(&dir)
        .ok_or_else(|| KustomizeError::NoKustomization(app_path.to_string()))?;
    let file_name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("kustomization.yaml")
        .to_string();
    let edited = if options.has_edits() {
        let original = deps::read_kustomization(&file, &format!("{app_path}/{file_name}"))?;
        let components = present_components(ws, app_path, options)?;
        Some(edit::apply(&original, options, &components)?)
    } else {
        None
    };
    let found = deps::walk(ws, app_path, edited.as_ref())?;
    let root = ws.root(&SourceId::Main)?;
    for path in &found.paths {
        if let Some(link) = symlink_leaving(&root, &on_disk(&root, path)) {
            return Err(KustomizeError::SymlinkOutside(link));
        }
    }
    if let Some(url) = found.remote.first()
        && !toolbox.tools.kustomize_remote_bases
    {
        return Err(KustomizeError::RemoteBase {
            path: app_path.to_string(),
            url: url.clone(),
        });
    }

    // Edits go to a private copy: the workspace itself when it is one, else a temp dir
    // holding every path the build reads (bases may live outside the source path).
    let scratch;
    let build_dir = match &edited {
        None => dir,
        Some(kustomization) => {
            let target = if ws.writable() {
                dir
            } else {
                scratch = tempfile::tempdir().map_err(|e| io("temp dir", &e))?;
                let root = ws.root(&SourceId::Main)?;
                for path in &found.paths {
                    copy_tree(&on_disk(&root, path), &on_disk(scratch.path(), path))?;
                }
                on_disk(scratch.path(), app_path)
            };
            let text = driftless_model::yaml::to_string(kustomization).map_err(|e| {
                KustomizeError::Io {
                    path: file_name.clone(),
                    message: e.to_string(),
                }
            })?;
            std::fs::write(target.join(&file_name), text).map_err(|e| io(&file_name, &e))?;
            target
        }
    };
    let (program, args) = kustomize.build(&build_dir);
    let stdout = toolbox.runner.run(&Invocation {
        program,
        args,
        cwd: build_dir.clone(),
    })?;
    let text = String::from_utf8_lossy(&stdout);
    let label = format!(
        "kustomize build {}",
        if app_path.is_empty() { "." } else { app_path }
    );
    Ok(KustomizeOutput {
        manifests: manifest::parse_yaml_stream(&label, &text)?,
        remote: found.remote,
    })
}

/// Argo CD adds components that exist; a missing one is an error unless
/// `ignoreMissingComponents` is set, then it is left out.
fn present_components(
    ws: &mut dyn Workspace,
    app_path: &str,
    options: &KustomizeOptions,
) -> Result<Vec<String>, KustomizeError> {
    let mut present = Vec::new();
    for component in &options.components {
        let exists = match paths::join(app_path, component) {
            Some(path) => ws.ensure(&SourceId::Main, &path)?.is_some(),
            None => false,
        };
        if exists {
            present.push(component.clone());
        } else if !options.ignore_missing_components {
            return Err(KustomizeError::MissingComponent(component.clone()));
        }
    }
    Ok(present)
}

/// The first symlink at or under `path` (a file or directory) whose target, resolved all the
/// way, is not inside `root`, named relative to `root`. A git export already refuses such
/// links (chains included); this also covers trees that are not exports (a local
/// `--repo-root` directory), which helm and kustomize would otherwise follow. Symlinks are
/// not followed into directories: one resolving inside `root` is walked where it really is.
pub fn symlink_leaving(root: &Path, path: &Path) -> Option<String> {
    let real_root = root.canonicalize().ok()?;
    let mut pending = vec![path.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&next) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            // A dangling link reads as a missing file; the tools report that.
            let inside = next
                .canonicalize()
                .map_or(true, |real| real.starts_with(&real_root));
            if !inside {
                let shown = next.strip_prefix(root).unwrap_or(&next);
                return Some(shown.display().to_string());
            }
        } else if meta.is_dir() {
            let Ok(entries) = std::fs::read_dir(&next) else {
                continue;
            };
            pending.extend(entries.filter_map(Result::ok).map(|e| e.path()));
        }
    }
    None
}

/// Copies a file or directory tree; symlinks are copied as the files they point to.
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), KustomizeError> {
    if from.is_dir() {
        std::fs::create_dir_all(to).map_err(|e| io(&to.display().to_string(), &e))?;
        let entries = std::fs::read_dir(from).map_err(|e| io(&from.display().to_string(), &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io(&from.display().to_string(), &e))?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(&parent.display().to_string(), &e))?;
        }
        std::fs::copy(from, to)
            .map(|_| ())
            .map_err(|e| io(&from.display().to_string(), &e))
    }
}

fn io(path: &str, e: &std::io::Error) -> KustomizeError {
    KustomizeError::Io {
        path: path.to_string(),
        message: e.to_string(),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::symlink_leaving;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_symlink_resolving_outside_the_root_is_named_and_inside_ones_pass() {
        let outside = tempfile::tempdir().expect("temp dir");
        let root = tempfile::tempdir().expect("temp dir");
        let app = root.path().join("app");
        std::fs::create_dir_all(app.join("sub")).expect("dirs");
        std::fs::write(app.join("sub/cm.yaml"), "kind: ConfigMap\n").expect("write");
        symlink("sub/cm.yaml", app.join("inside.yaml")).expect("link");
        symlink("missing.yaml", app.join("dangling.yaml")).expect("link");
        assert_eq!(symlink_leaving(root.path(), &app), None);
        symlink(outside.path(), app.join("sub/away")).expect("link");
        assert_eq!(
            symlink_leaving(root.path(), &app).as_deref(),
            Some("app/sub/away")
        );
    }
}
