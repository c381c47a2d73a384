//! The ApplicationSet reconciler of `driftless serve`: runs in the Application controller's
//! process, under its leader election, watching the ApplicationSets of the app namespace and
//! owning (by controller ownerReference) the Applications each generates.
//!
//! It shares the Application controller's repository cache and ref polling: an
//! ApplicationSet registers its git generators' repositories as a user of
//! [`crate::git::GitWatcher`] under [`keys::git_user`], so they are listed with everyone
//! else's each poll, and a move (or a newly failing repository) wakes it through the
//! controller's trigger channel, which hands such users to [`Router::route`].
//!
//! The decisions are pure: generation and the plan in `driftless_appset`, and here
//! [`keys`], [`owned`], [`status`] and the watch fingerprints in [`watch`]. The edges are
//! [`reconcile`] (one ApplicationSet), [`execute`] (server-side apply and deletion of
//! Applications), [`rolling`] (progressive syncs and `deletionOrder: Reverse`) and the loop
//! in [`queue`]. [`preview`] generates without writing, for the API.

pub mod execute;
pub mod files;
pub mod keys;
pub mod owned;
pub mod preview;
pub mod queue;
pub mod reconcile;
pub mod rolling;
pub mod status;
pub mod watch;

use crate::context::{Context, lock};
use driftless_model::ApplicationSet;
use kube::Api;
use kube::api::{ApiResource, DynamicObject};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// What the ApplicationSet reconciles share.
pub struct AppSets {
    pub(crate) ctx: Arc<Context>,
    triggers: mpsc::UnboundedSender<String>,
    /// The status last written per ApplicationSet: never write the same one twice.
    written: Mutex<HashMap<String, Value>>,
}

impl AppSets {
    pub fn api(&self) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.ctx.client.clone(),
            &self.ctx.config.app_namespace,
            &appset_resource(),
        )
    }

    /// Asks for a reconcile of ApplicationSet `name`.
    pub fn request(&self, name: &str) {
        let _ = self.triggers.send(name.to_string());
    }

    /// Drops what is kept about a deleted ApplicationSet (its repositories stop being polled
    /// for it).
    pub fn forget(&self, name: &str) {
        self.ctx.git.forget(&keys::git_user(name));
        lock(&self.written).remove(name);
    }
}

pub fn appset_resource() -> ApiResource {
    ApiResource::erase::<ApplicationSet>(&())
}

/// Hands git moves meant for an ApplicationSet to its reconciler.
pub struct Router {
    triggers: mpsc::UnboundedSender<String>,
}

impl Router {
    /// Takes a reconcile request made through the Application controller's channel: one for
    /// an ApplicationSet (a repository user from [`keys::git_user`]) is passed on and None
    /// returned; an Application's is given back.
    pub fn route(&self, name: String) -> Option<String> {
        match keys::appset_of_user(&name) {
            Some(appset) => {
                let _ = self.triggers.send(appset.to_string());
                None
            }
            None => Some(name),
        }
    }
}

/// Starts the ApplicationSet reconciler on the controller's background tasks (the watches
/// and the loop; each returns only if it fails for good). Call it once leadership is held.
pub(crate) fn start(ctx: &Arc<Context>, background: &mut JoinSet<&'static str>) -> Router {
    let (tx, rx) = mpsc::unbounded_channel();
    let sets = Arc::new(AppSets {
        ctx: ctx.clone(),
        triggers: tx.clone(),
        written: Mutex::new(HashMap::new()),
    });
    background.spawn(watch::watch_appsets(sets.clone()));
    background.spawn(watch::watch_owned_apps(sets.clone()));
    background.spawn(queue::run(sets, rx));
    Router { triggers: tx }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_moves_for_an_appset_go_to_its_reconciler_and_app_names_are_given_back() {
        let (triggers, mut received) = mpsc::unbounded_channel();
        let router = Router { triggers };
        assert_eq!(router.route("web".into()), Some("web".into()));
        assert_eq!(router.route(keys::git_user("namespaces")), None);
        assert_eq!(received.try_recv().ok(), Some("namespaces".into()));
        assert!(
            received.try_recv().is_err(),
            "an app name is not sent to the appset reconciler"
        );
    }
}
