//! Argo CD Config Management Plugins (CMP): `ConfigManagementPlugin` definitions read from a
//! plugin directory ([`definition`]), picked by name or discovery ([`select`], [`discover`]),
//! run on a private copy of the repository with Argo CD's environment ([`env`], [`run`]), their
//! stdout parsed as the source's objects.
//!
//! Where Argo CD runs a plugin in its own sidecar, driftless runs it as a child process: argv
//! as written, cwd the app path, a clean environment, the runner's timeout, and the process
//! group killed when the command ends or times out.

pub mod definition;
pub mod discover;
pub mod env;
pub mod options;
pub mod run;
pub mod select;

pub use definition::{Plugin, Plugins};
pub use options::{BuildEnv, EnvVar, Parameter, PluginOptions};

use crate::manifest::{self, Format, Manifest, ManifestError};
use crate::tools::Toolbox;
use crate::tree::{TreeSource, TreeWorkspace};
use crate::workspace::{SourceId, Workspace, WorkspaceError, on_disk};
use run::{Step, run_step};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("failed to find {}: no plugins are configured{} (set DRIFTLESS_PLUGIN_DIR or --plugin-dir to a directory of ConfigManagementPlugin files){skipped}",
        wanted.as_ref().map(|n| format!("plugin {n:?}")).unwrap_or_else(|| "a plugin".into()),
        dir.as_ref().map(|d| format!(" in {d}")).unwrap_or_default())]
    NoPlugins {
        wanted: Option<String>,
        dir: Option<String>,
        skipped: String,
    },
    #[error(
        "failed to find plugin {name:?}: the plugins are {available} (a plugin with spec.version is named <name>-<version>){skipped}"
    )]
    UnknownPlugin {
        name: String,
        available: String,
        skipped: String,
    },
    #[error(
        "failed to use plugin {name:?}: its discover rules do not match path {path} (Argo CD uses a named plugin only where its discover rules, if it has any, match)"
    )]
    NamedNotMatching { name: String, path: String },
    #[error(
        "failed to find a plugin for path {path}: no plugin's discover rules match{last_error}{skipped}"
    )]
    NoneMatched {
        path: String,
        last_error: String,
        skipped: String,
    },
    #[error("failed to run the discovery of plugin {plugin}: {message}")]
    Discover { plugin: String, message: String },
    #[error("failed to run plugin {plugin} {step}: no command is set")]
    EmptyCommand { plugin: String, step: Step },
    #[error("failed to start plugin {plugin} {step}: {message}")]
    Spawn {
        plugin: String,
        step: Step,
        message: String,
    },
    #[error("failed to run plugin {plugin} {step}: it exited with {status}: {stderr}")]
    Failed {
        plugin: String,
        step: Step,
        status: String,
        stderr: String,
    },
    #[error("failed to run plugin {plugin} {step}: killed after the {seconds}s timeout")]
    Timeout {
        plugin: String,
        step: Step,
        seconds: u64,
    },
    #[error("failed to read the output of plugin {plugin} generate: {source}")]
    Output {
        plugin: String,
        #[source]
        source: ManifestError,
    },
    #[error(
        "failed to read the output of plugin {plugin} generate: it printed nothing (print an empty List to render no objects on purpose)"
    )]
    EmptyOutput { plugin: String },
    #[error("failed to parse the Kubernetes version {version:?} for KUBE_VERSION")]
    KubeVersion { version: String },
    #[error("failed to find path {0:?} in the repository")]
    MissingPath(String),
    #[error("failed to prepare the plugin's files: {0}")]
    Io(String),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
}

/// Renders the source at `app_path` with the plugin `options` name or discovery picks.
pub fn render(
    toolbox: Toolbox<'_>,
    ws: &mut dyn Workspace,
    app_path: &str,
    options: &PluginOptions,
) -> Result<Vec<Manifest>, PluginError> {
    let io = |e: std::io::Error| PluginError::Io(e.to_string());
    // Like Argo CD's sidecar, the plugin gets the whole repository, in a copy of its own
    // (init commands write files: chart dependencies, generated sources …).
    let root = ws
        .ensure(&SourceId::Main, "")?
        .ok_or_else(|| PluginError::MissingPath(app_path.to_string()))?;
    let scratch = tempfile::Builder::new()
        .prefix("driftless-plugin-")
        .tempdir()
        .map_err(io)?;
    let repo = if ws.writable() {
        root
    } else {
        let copy = scratch.path().join("repo");
        crate::kustomize::copy_tree(&root, &copy).map_err(|e| PluginError::Io(e.to_string()))?;
        copy
    };
    let app_dir = on_disk(&repo, app_path);
    if !app_dir.is_dir() {
        return Err(PluginError::MissingPath(app_path.to_string()));
    }
    let home = scratch.path().join("home");
    std::fs::create_dir_all(&home).map_err(io)?;
    let env = env::environment(options, &home, std::env::var("PATH").ok().as_deref())?;

    let plugins = &toolbox.tools.plugins;
    let plugin = select::select(plugins, options.name.as_deref(), app_path, |p| {
        discover::matches(p, &app_dir, toolbox, &env)
    })?;
    if !plugin.preserve_file_mode {
        reset_modes(&repo).map_err(io)?;
    }
    if plugin.init.is_set() {
        run_step(toolbox, plugin, Step::Init, &plugin.init, &app_dir, &env)?;
    }
    let stdout = run_step(
        toolbox,
        plugin,
        Step::Generate,
        &plugin.generate,
        &app_dir,
        &env,
    )?;
    parse_output(plugin, app_path, &stdout)
}

/// True when a plugin's discovery rules claim a source that does not say how it is rendered:
/// Argo CD asks the plugins before it looks for a kustomization or a Chart.yaml. Only the app
/// path is on disk for this check. Failures count as no match, as in Argo CD.
pub fn claims(
    toolbox: Toolbox<'_>,
    tree: &dyn TreeSource,
    app_path: &str,
    options: &PluginOptions,
) -> bool {
    let plugins = &toolbox.tools.plugins;
    if !plugins.any_discovery() {
        return false;
    }
    let found = (|| -> Result<String, PluginError> {
        let mut ws = TreeWorkspace::new(tree, &BTreeMap::new())?;
        let app_dir = ws
            .ensure(&SourceId::Main, app_path)?
            .filter(|d| d.is_dir())
            .ok_or_else(|| PluginError::MissingPath(app_path.to_string()))?;
        let home = tempfile::tempdir().map_err(|e| PluginError::Io(e.to_string()))?;
        let env = env::environment(options, home.path(), std::env::var("PATH").ok().as_deref())?;
        let plugin = select::select(plugins, None, app_path, |p| {
            discover::matches(p, &app_dir, toolbox, &env)
        })?;
        Ok(plugin.full_name())
    })();
    match found {
        Ok(plugin) => {
            tracing::debug!(%plugin, path = app_path, "a plugin's discovery rules claim the source");
            true
        }
        Err(error) => {
            tracing::debug!(%error, path = app_path, "no plugin claims the source");
            false
        }
    }
}

/// The plugin's stdout as objects. Blank output is an error, unlike in Argo CD: it is what a
/// failing command piped into another (`kustomize build | cat`) prints, and taking it as "no
/// objects" would prune everything the source had.
fn parse_output(
    plugin: &Plugin,
    app_path: &str,
    stdout: &[u8],
) -> Result<Vec<Manifest>, PluginError> {
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return Err(PluginError::EmptyOutput {
            plugin: plugin.full_name(),
        });
    }
    let label = format!(
        "plugin {} output ({})",
        plugin.full_name(),
        if app_path.is_empty() { "." } else { app_path }
    );
    manifest::parse_bytes(&label, stdout, Format::Yaml).map_err(|source| PluginError::Output {
        plugin: plugin.full_name(),
        source,
    })
}

/// Files 0644 and directories 0755, as Argo CD hands a repository to a plugin unless the
/// plugin sets `preserveFileMode`.
fn reset_modes(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o755))?;
            reset_modes(&entry.path())?;
        } else if kind.is_file() {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o644))?;
        }
    }
    Ok(())
}
