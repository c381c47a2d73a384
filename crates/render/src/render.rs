//! Renders one source from files on disk, independent of git: a [`Workspace`] supplies
//! the files, a [`Toolbox`] runs helm and kustomize.

use crate::directory::{self, DirectoryError};
use crate::finalize::{self, DesiredObject, FinalizeError};
use crate::helm::{self, HelmError};
use crate::kustomize::{self, KustomizeError};
use crate::manifest::Manifest;
use crate::plugin::{self, PluginError};
use crate::scope::ScopeLookup;
use crate::spec::{Method, RenderParams};
use crate::tools::Toolbox;
use crate::workspace::{DirWorkspace, SourceId, Workspace, WorkspaceError};
use std::path::Path;

/// What a render produced before the namespace and identity step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rendered {
    pub manifests: Vec<Manifest>,
    /// Inputs fetched from outside the repository (URLs); such a render is not cached.
    pub remote: Vec<String>,
}

/// A failed render, naming the Application and the step that failed.
#[derive(Debug, thiserror::Error)]
#[error("failed to render app {app}: {step}: {source}")]
pub struct RenderError {
    pub app: String,
    pub step: String,
    #[source]
    pub source: Box<StepError>,
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("failed to find path {0:?} in the repository")]
    MissingPath(String),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Kustomize(#[from] KustomizeError),
    #[error(transparent)]
    Helm(#[from] HelmError),
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    Finalize(#[from] FinalizeError),
    #[error("{0}")]
    Other(String),
}

impl RenderError {
    pub fn new(app: &str, step: &str, source: impl Into<StepError>) -> Self {
        Self {
            app: app.to_string(),
            step: step.to_string(),
            source: Box::new(source.into()),
        }
    }
}

/// Runs the source's render method; the files come from `ws`.
pub fn render_raw(
    toolbox: Toolbox<'_>,
    ws: &mut dyn Workspace,
    params: &RenderParams,
) -> Result<Rendered, StepError> {
    let path = crate::paths::normalize(&params.path)
        .ok_or_else(|| StepError::MissingPath(params.path.clone()))?;
    match &params.method {
        Method::Directory(options) => {
            // Plain manifests straight from the tree when it can give them: no temp files.
            if let Some(files) = ws.files(&SourceId::Main, &path, options.recurse)?
                && let Some(manifests) = directory::read_files(&files, &path, options)?
            {
                return Ok(Rendered {
                    manifests,
                    remote: Vec::new(),
                });
            }
            let dir = ws
                .ensure(&SourceId::Main, &path)?
                .ok_or_else(|| StepError::MissingPath(params.path.clone()))?;
            if !dir.is_dir() {
                return Err(StepError::MissingPath(params.path.clone()));
            }
            let root = ws.root(&SourceId::Main)?;
            let real_root = root.canonicalize().map_err(|e| DirectoryError::Io {
                path: root.display().to_string(),
                message: e.to_string(),
            })?;
            // Jsonnet imports go through the workspace, so the cache sees them as reads.
            let mut read = |file: &str| directory::read_repo_file(ws, &real_root, file);
            let manifests = directory::read_directory(&dir, &root, &path, options, &mut read)?;
            Ok(Rendered {
                manifests,
                remote: Vec::new(),
            })
        }
        Method::Kustomize(options) => {
            let out = kustomize::render(toolbox, ws, &path, options)?;
            Ok(Rendered {
                manifests: out.manifests,
                remote: out.remote,
            })
        }
        Method::Helm(options) => {
            let (manifests, remote) = helm::render(toolbox, ws, &path, options)?;
            Ok(Rendered { manifests, remote })
        }
        Method::Plugin(options) => Ok(Rendered {
            manifests: plugin::render(toolbox, ws, &path, options)?,
            remote: Vec::new(),
        }),
    }
}

/// Renders a source from a directory on disk (`repo_root` holds the repository; `refs`
/// the roots of `ref` sources), with the destination namespace applied and identities
/// checked. The directory is never modified.
pub fn render_dir(
    toolbox: Toolbox<'_>,
    app: &str,
    repo_root: &Path,
    refs: &[(&str, &Path)],
    params: &RenderParams,
    destination_namespace: &str,
    discovery: Option<&dyn ScopeLookup>,
) -> Result<Vec<DesiredObject>, RenderError> {
    let mut ws = DirWorkspace::new(repo_root);
    for (name, root) in refs {
        ws = ws.with_ref(name, *root);
    }
    let step = params.method.step();
    let rendered =
        render_raw(toolbox, &mut ws, params).map_err(|e| RenderError::new(app, step, e))?;
    finalize::finalize(rendered.manifests, destination_namespace, discovery)
        .map_err(|e| RenderError::new(app, "check objects", e))
}
