//! How the client commands reach Applications: through the API server (HTTP) or, with
//! `--core`, straight through the cluster. Both sit behind [`AppBackend`]; the commands and
//! the printing code only see that.

mod cluster;
pub mod config;
mod core_preview;
mod http;
mod http_watch;
pub mod sse;
mod target;

pub use cluster::ClusterBackend;
pub use http::{HttpBackend, HttpTarget};
pub use target::{ConnectArgs, connect, parse_server};

use super::app_source::CommandError;
use futures::stream::BoxStream;
use serde_json::Value;

/// What `app list` asks for (the query of `GET /api/v1/applications`).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub projects: Vec<String>,
    pub selector: Option<String>,
    pub sync: Option<String>,
    pub health: Option<String>,
    pub repo: Option<String>,
    pub namespace: Option<String>,
    pub app_namespace: Option<String>,
    pub search: Option<String>,
    pub limit: Option<usize>,
    pub continue_after: Option<String>,
}

/// One page of Applications, as the API answers it.
#[derive(Debug, Clone, Default)]
pub struct AppList {
    pub items: Vec<Value>,
    /// The token of the next page, if there is one.
    pub continue_after: Option<String>,
    pub remaining: Option<u64>,
}

/// `normal` compares again; `hard` renders again too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    Normal,
    Hard,
}

impl Refresh {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Hard => "hard",
        }
    }
}

pub use driftless_model::requests::SyncRequest;

/// A rollback to a history entry.
#[derive(Debug, Clone, Copy)]
pub struct RollbackRequest {
    pub id: i64,
    pub prune: bool,
    pub dry_run: bool,
}

/// How an Application is deleted.
#[derive(Debug, Clone, Default)]
pub struct DeleteRequest {
    /// Delete the app's objects too.
    pub cascade: bool,
    /// `foreground` or `background` (cascading deletes only).
    pub propagation_policy: Option<String>,
}

/// A change of a watched Application.
#[derive(Debug, Clone)]
pub enum AppChange {
    /// Its object as it is now.
    Changed(Box<Value>),
    Deleted,
}

/// Changes of one Application, the first being its state when the watch began.
pub type AppWatch = BoxStream<'static, Result<AppChange, CommandError>>;

/// Reads and changes Applications (and reads projects and ApplicationSets).
pub trait AppBackend {
    async fn list_apps(&self, query: &ListQuery) -> Result<AppList, CommandError>;
    async fn get_app(&self, name: &str) -> Result<Value, CommandError>;
    /// Asks for a refresh; the app as patched.
    async fn refresh_app(&self, name: &str, refresh: Refresh) -> Result<Value, CommandError>;
    /// Starts a sync operation; the app as patched.
    async fn sync_app(&self, name: &str, request: &SyncRequest) -> Result<Value, CommandError>;
    /// Starts a sync to a history entry; the app as patched.
    async fn rollback_app(
        &self,
        name: &str,
        request: RollbackRequest,
    ) -> Result<Value, CommandError>;
    async fn delete_app(&self, name: &str, request: &DeleteRequest) -> Result<(), CommandError>;
    /// Asks the controller to end the running operation.
    async fn terminate_operation(&self, name: &str) -> Result<(), CommandError>;
    /// The Kubernetes Events about the app, oldest first.
    async fn app_events(&self, name: &str) -> Result<Vec<Value>, CommandError>;
    /// The app's objects with their sync and health status (`status.resources`).
    async fn app_resources(&self, name: &str) -> Result<Vec<Value>, CommandError>;
    /// The app rendered at `revision` (its target when None): its manifests, or its diff
    /// against the live cluster, as the API server answers them.
    async fn app_preview(
        &self,
        name: &str,
        kind: PreviewKind,
        revision: Option<&str>,
    ) -> Result<Value, CommandError>;
    /// The app now, then each change of it.
    async fn watch_app(&self, name: &str) -> Result<AppWatch, CommandError>;
    async fn list_projects(&self) -> Result<Vec<Value>, CommandError>;
    async fn get_project(&self, name: &str) -> Result<Value, CommandError>;
    async fn list_appsets(&self) -> Result<Vec<Value>, CommandError>;
    async fn get_appset(&self, name: &str) -> Result<Value, CommandError>;
    /// What the ApplicationSet `appset` would generate (`{applications, create, update,
    /// delete, refused}`), nothing written.
    async fn generate_appset(&self, appset: &Value) -> Result<Value, CommandError>;
}

/// Which rendering of an app to ask for.
#[derive(Debug, Clone, Copy)]
pub enum PreviewKind {
    Manifests,
    Diff,
    /// The diff of the whole App-of-Apps tree under the app.
    TreeDiff,
}

impl PreviewKind {
    pub fn path(self) -> &'static str {
        match self {
            Self::Manifests => "manifests",
            Self::Diff => "diff",
            Self::TreeDiff => "tree-diff",
        }
    }
}

/// The backend chosen by the flags.
pub enum Backend {
    Http(HttpBackend),
    Cluster(ClusterBackend),
}

/// Calls the same method on whichever backend this is.
macro_rules! delegate {
    ($self:ident, $b:ident => $call:expr) => {
        match $self {
            Backend::Http($b) => $call.await,
            Backend::Cluster($b) => $call.await,
        }
    };
}

impl AppBackend for Backend {
    async fn list_apps(&self, query: &ListQuery) -> Result<AppList, CommandError> {
        delegate!(self, b => b.list_apps(query))
    }
    async fn get_app(&self, name: &str) -> Result<Value, CommandError> {
        delegate!(self, b => b.get_app(name))
    }
    async fn app_preview(
        &self,
        name: &str,
        kind: PreviewKind,
        revision: Option<&str>,
    ) -> Result<Value, CommandError> {
        delegate!(self, b => b.app_preview(name, kind, revision))
    }
    async fn refresh_app(&self, name: &str, refresh: Refresh) -> Result<Value, CommandError> {
        delegate!(self, b => b.refresh_app(name, refresh))
    }
    async fn sync_app(&self, name: &str, request: &SyncRequest) -> Result<Value, CommandError> {
        delegate!(self, b => b.sync_app(name, request))
    }
    async fn rollback_app(
        &self,
        name: &str,
        request: RollbackRequest,
    ) -> Result<Value, CommandError> {
        delegate!(self, b => b.rollback_app(name, request))
    }
    async fn delete_app(&self, name: &str, request: &DeleteRequest) -> Result<(), CommandError> {
        delegate!(self, b => b.delete_app(name, request))
    }
    async fn terminate_operation(&self, name: &str) -> Result<(), CommandError> {
        delegate!(self, b => b.terminate_operation(name))
    }
    async fn app_events(&self, name: &str) -> Result<Vec<Value>, CommandError> {
        delegate!(self, b => b.app_events(name))
    }
    async fn app_resources(&self, name: &str) -> Result<Vec<Value>, CommandError> {
        delegate!(self, b => b.app_resources(name))
    }
    async fn watch_app(&self, name: &str) -> Result<AppWatch, CommandError> {
        delegate!(self, b => b.watch_app(name))
    }
    async fn list_projects(&self) -> Result<Vec<Value>, CommandError> {
        delegate!(self, b => b.list_projects())
    }
    async fn get_project(&self, name: &str) -> Result<Value, CommandError> {
        delegate!(self, b => b.get_project(name))
    }
    async fn list_appsets(&self) -> Result<Vec<Value>, CommandError> {
        delegate!(self, b => b.list_appsets())
    }
    async fn get_appset(&self, name: &str) -> Result<Value, CommandError> {
        delegate!(self, b => b.get_appset(name))
    }
    async fn generate_appset(&self, appset: &Value) -> Result<Value, CommandError> {
        delegate!(self, b => b.generate_appset(appset))
    }
}
