//! Render an Application's desired objects from a commit: directory, Kustomize, Helm; with a render cache.
//!
//! Layers, from the top:
//! - [`render_application`]: an Argo CD `Application` (one or many sources, `ref` sources
//!   for `$ref/…` value files) through a [`RepoResolver`] ([`CachedRepos`] over
//!   driftless-source's cache, or [`DirResolver`] for a directory on disk), with the render
//!   cache, the destination namespace and the identity check; objects come back sorted by
//!   (group, kind, namespace, name). [`output`] prints them.
//! - [`render_at_commit`]: one source from [`TreeSource`]s, through the [`RenderCache`]
//!   (keyed by tree ids, not commits).
//! - [`render_dir`] / [`render_raw`]: one source from files on disk, no git involved.
//! - Pure parts: [`manifest`] parsing, [`kustomize::edit`], [`helm::args`],
//!   [`helm::hooks`], [`finalize`], [`scope`].
//!
//! helm and kustomize run through a [`ToolRunner`] ([`ProcessRunner`] for real,
//! [`RecordingRunner`] to count runs).
//!
//! Config management plugins ([`plugin`]) are read from `DRIFTLESS_PLUGIN_DIR` and run
//! through the same runner, in a clean environment; their renders are never cached.

pub mod app;
pub mod cache;
pub mod charts;
pub mod commit;
pub mod directory;
pub mod envsubst;
pub mod finalize;
pub mod git_tree;
pub mod helm;
pub mod jsonnet;
pub mod kustomize;
pub mod manifest;
pub mod origin;
pub mod output;
pub mod paths;
pub mod plugin;
pub mod render;
mod resident;
pub mod scope;
pub mod spec;
pub mod tools;
pub mod tree;
pub mod workspace;
mod yaml_value;

pub use app::{
    AppRender, DirResolver, Engine, RepoResolver, SourceRender, params_for, render_application,
};
pub use cache::{RenderCache, cache_key};
pub use charts::{ChartFetcher, ChartSources, ChartTree};
pub use commit::{CommitRender, render_at_commit};
pub use finalize::{DesiredObject, FinalizeError};
pub use git_tree::{CachedRepos, GitTree};
pub use manifest::{Manifest, ManifestError, Origin};
pub use origin::{chart_of, is_oci_artifact, revision_of};
pub use plugin::{PluginError, PluginOptions, Plugins};
pub use render::{RenderError, Rendered, StepError, render_dir, render_raw};
pub use scope::{BuiltinScopes, Scope, ScopeLookup};
pub use spec::{
    DirectoryOptions, HelmOptions, JsonnetOptions, JsonnetVar, KustomizeOptions, Method,
    RenderParams,
};
pub use tools::{
    DEFAULT_MEMORY_LIMIT as DEFAULT_TOOL_MEMORY_LIMIT, Invocation, ProcessRunner, RecordingRunner,
    ToolError, ToolRunner, Toolbox, Tools,
};
pub use tree::{DirTree, TreeError, TreeSource, TreeWorkspace};
pub use workspace::{DirWorkspace, SourceId, Workspace};
