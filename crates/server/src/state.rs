//! What every handler shares: the cluster client, the configuration, the stores, the login
//! throttle, and the hook into the controller for webhooks.

use crate::auth::identity::ReviewCache;
use crate::auth::throttle::LoginThrottle;
use crate::settings::Settings;
use crate::store::Stores;
use driftless_controller::appsets::preview::{GeneratePreview, GeneratePreviewError};
use driftless_controller::preview::children::ChildrenError;
use driftless_controller::preview::tree::TreePreview;
use driftless_controller::preview::{Preview, PreviewError};
use driftless_model::{Application, ApplicationSet};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What the API asks of the controller: check repositories now (a verified webhook; returns
/// how many apps saw their repository move), render and diff an app without syncing it, and
/// generate an ApplicationSet's apps without writing them.
pub trait Engine: Send + Sync {
    fn check(&self, urls: Vec<String>) -> Boxed<'_, usize>;

    fn preview(
        &self,
        app: Application,
        revision: Option<String>,
    ) -> Boxed<'_, Result<Preview, PreviewError>>;

    fn preview_tree(
        &self,
        root: Application,
        revision: Option<String>,
    ) -> Boxed<'_, Result<TreePreview, PreviewError>>;

    /// The live objects below the app's own (ReplicaSets, Pods …), each naming its owners.
    fn children(
        &self,
        app: Application,
    ) -> Boxed<'_, Result<Vec<serde_json::Value>, ChildrenError>>;

    /// The controller's metrics, in Prometheus's text format.
    fn metrics(&self) -> String;

    fn generate(
        &self,
        appset: ApplicationSet,
    ) -> Boxed<'_, Result<GeneratePreview, GeneratePreviewError>>;
}

/// The controller running in the same process does both itself.
impl Engine for driftless_controller::Handle {
    fn check(&self, urls: Vec<String>) -> Boxed<'_, usize> {
        Box::pin(async move { self.check_repositories(&urls).await })
    }

    fn preview(
        &self,
        app: Application,
        revision: Option<String>,
    ) -> Boxed<'_, Result<Preview, PreviewError>> {
        Box::pin(async move {
            driftless_controller::Handle::preview(self, &app, revision.as_deref()).await
        })
    }

    fn preview_tree(
        &self,
        root: Application,
        revision: Option<String>,
    ) -> Boxed<'_, Result<TreePreview, PreviewError>> {
        Box::pin(async move {
            driftless_controller::Handle::preview_tree(self, &root, revision.as_deref()).await
        })
    }

    fn children(
        &self,
        app: Application,
    ) -> Boxed<'_, Result<Vec<serde_json::Value>, ChildrenError>> {
        Box::pin(async move { driftless_controller::Handle::children(self, &app).await })
    }

    fn metrics(&self) -> String {
        self.metrics_text()
    }

    fn generate(
        &self,
        appset: ApplicationSet,
    ) -> Boxed<'_, Result<GeneratePreview, GeneratePreviewError>> {
        Box::pin(async move { self.generate_appset(&appset).await })
    }
}

pub struct AppState {
    pub client: kube::Client,
    pub settings: Settings,
    pub stores: Stores,
    pub throttle: Mutex<LoginThrottle>,
    pub reviews: ReviewCache,
    /// Session ids logged out before they expired, with their expiry.
    pub revoked: Mutex<HashMap<String, i64>>,
    pub engine: Option<Arc<dyn Engine>>,
    /// The OIDC provider of `oidc.config`, discovered on first use.
    pub oidc: crate::auth::oidc::provider::Providers,
    /// Whether the server speaks HTTPS (for the cookies' `Secure` and the callback's scheme).
    pub tls: bool,
    /// argocd-rbac-cm's policy with the projects' roles, and what it was built from.
    pub combined_policy: Mutex<Option<(crate::policy::PolicyKey, Arc<driftless_rbac::Policy>)>>,
    /// Webhook requests admitted in the current second (a crude global rate limit).
    pub webhook_budget: Mutex<(i64, u32)>,
    /// The audit log's database, when the server serves it.
    pub audit: Option<crate::api::audit::AuditReader>,
}

impl AppState {
    pub fn namespace(&self) -> &str {
        self.settings.namespace()
    }
}

pub type Shared = Arc<AppState>;

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
