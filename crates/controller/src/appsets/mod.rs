//! The ApplicationSet reconciler of `driftless serve`: runs in the Application controller's
//! process, under its leader election, watching the ApplicationSets of the app namespace and
//! owning (by controller ownerReference) the Applications each generates.
//!
//! It shares the Application controller's repository cache and ref polling: an
//! ApplicationSet registers its git generators' repositories as a user of
//! [`crate::git::watcher::GitWatcher`] as `Key::AppSet`, so they are listed with everyone
//! else's each poll, and a move (or a newly failing repository) wakes it through the
//! controller's trigger channel, which passes such keys to [`Requests::request`].
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

use crate::runtime::context::Context;
use crate::runtime::mutex::lock;
use driftless_decisions::app_key::Key;
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
        self.ctx.git.forget(&Key::AppSet(name.to_string()));
        lock(&self.written).remove(name);
    }
}

pub fn appset_resource() -> ApiResource {
    ApiResource::erase::<ApplicationSet>(&())
}

/// Asks the ApplicationSet reconciler for runs.
pub struct Requests {
    triggers: mpsc::UnboundedSender<String>,
}

impl Requests {
    /// Asks for a reconcile of ApplicationSet `name`.
    pub fn request(&self, name: String) {
        let _ = self.triggers.send(name);
    }
}

/// Starts the ApplicationSet reconciler on the controller's background tasks (the watches
/// and the loop; each returns only if it fails for good). Call it once leadership is held.
pub(crate) fn start(ctx: &Arc<Context>, background: &mut JoinSet<&'static str>) -> Requests {
    let (tx, rx) = mpsc::unbounded_channel();
    let sets = Arc::new(AppSets {
        ctx: ctx.clone(),
        triggers: tx.clone(),
        written: Mutex::new(HashMap::new()),
    });
    background.spawn(watch::watch_appsets(sets.clone()));
    background.spawn(watch::watch_owned_apps(sets.clone()));
    background.spawn(queue::run(sets, rx));
    Requests { triggers: tx }
}
