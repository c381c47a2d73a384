//! What every handler shares: the cluster client, the configuration, the stores, the login
//! throttle, and the hook into the controller for webhooks.

use crate::auth::identity::ReviewCache;
use crate::auth::throttle::LoginThrottle;
use crate::settings::Settings;
use crate::store::Stores;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the webhook asks of the controller: check these repositories now. Returns how many
/// apps saw their repository move.
pub trait RepositoryCheck: Send + Sync {
    fn check(
        &self,
        urls: Vec<String>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = usize> + Send + '_>>;
}

/// The controller running in the same process checks the repositories itself.
impl RepositoryCheck for driftless_controller::Handle {
    fn check(
        &self,
        urls: Vec<String>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = usize> + Send + '_>> {
        Box::pin(async move { self.check_repositories(&urls).await })
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
    pub repositories: Option<Arc<dyn RepositoryCheck>>,
    /// argocd-rbac-cm's policy with the projects' roles, and what it was built from.
    pub combined_policy: Mutex<Option<(crate::policy::PolicyKey, Arc<driftless_rbac::Policy>)>>,
    /// Webhook requests admitted in the current second (a crude global rate limit).
    pub webhook_budget: Mutex<(i64, u32)>,
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
