//! Writes to Application objects: status through the status subresource as a merge patch from
//! what was last written (so lists and removed fields come out right and an unchanged status
//! is not written at all), and small patches of the object itself (operation, annotations,
//! finalizers).

use crate::app_loop::event_sink::EventSink;
use crate::runtime::app_store::AppStore;
use driftless_decisions::status::merge_patch;
use driftless_model::{Application, ApplicationStatus};
use kube::Api;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The field manager of the controller's own writes (server-side applies use `driftless`).
pub const CONTROLLER_MANAGER: &str = "driftless-controller";

pub fn application_resource() -> ApiResource {
    ApiResource::erase::<Application>(&())
}

fn params() -> PatchParams {
    PatchParams {
        field_manager: Some(CONTROLLER_MANAGER.into()),
        ..PatchParams::default()
    }
}

/// The status of one app as last read or written, and how to change it.
pub struct StatusWriter {
    object: AppObject,
    current: ApplicationStatus,
    /// A status the next write starts from, not written yet (see [`StatusWriter::stage`]).
    staged: Option<ApplicationStatus>,
    writes: Arc<AtomicU64>,
    /// Where the Events a write means go (none in tests of the writer alone).
    events: Option<EventSink>,
    /// Where the audit records a write means go, and the app (`namespace/name`, project) they
    /// are about.
    audit: Option<(crate::audit::AuditLog, String, String)>,
    /// The metrics each write updates, and the app (key, object) they are about.
    metrics: Option<(
        Arc<crate::runtime::metrics::Metrics>,
        String,
        Box<driftless_model::Application>,
    )>,
}

impl StatusWriter {
    pub fn new(
        object: AppObject,
        current: Option<ApplicationStatus>,
        writes: Arc<AtomicU64>,
    ) -> Self {
        Self {
            object,
            current: current.unwrap_or_default(),
            staged: None,
            writes,
            events: None,
            audit: None,
            metrics: None,
        }
    }

    /// The writer of app `name`'s status, from `current` (as the API server has it), with its
    /// Events, metrics and audit records.
    pub fn for_app(
        ctx: &crate::runtime::context::Context,
        name: &str,
        app: &Application,
        current: Option<ApplicationStatus>,
    ) -> Self {
        Self::new(ctx.app_object(name), current, ctx.status_writes.clone())
            .with_events(EventSink::new(ctx.client.clone(), app, &ctx.config.replica))
            .with_metrics(ctx.metrics.clone(), name, app)
            .with_audit(ctx.audit.clone(), app)
    }

    /// Emits the Events each write means (see [`driftless_decisions::events`]) through `sink`.
    pub fn with_events(mut self, sink: EventSink) -> Self {
        self.events = Some(sink);
        self
    }

    /// Updates `metrics` with each write (the app's info, syncs that ended, loops tripped).
    pub fn with_metrics(
        mut self,
        metrics: Arc<crate::runtime::metrics::Metrics>,
        key: &str,
        app: &driftless_model::Application,
    ) -> Self {
        self.metrics = Some((metrics, key.to_string(), Box::new(app.clone())));
        self
    }

    /// Records in `log` what each write means (see [`crate::audit::records`]).
    pub fn with_audit(
        mut self,
        log: crate::audit::AuditLog,
        app: &driftless_model::Application,
    ) -> Self {
        if log.is_enabled() {
            let project = driftless_decisions::validate::project_name(app).to_string();
            self.audit = Some((log, crate::audit::records::app_name(app), project));
        }
        self
    }

    /// The status as last read or written.
    pub fn current(&self) -> &ApplicationStatus {
        &self.current
    }

    /// Keeps `status` as the one the next write builds on, without writing it: a reconcile that
    /// starts a sync at once lets the sync's first write carry its comparison too (one patch,
    /// not two).
    pub fn stage(&mut self, status: ApplicationStatus) {
        self.staged = Some(status);
    }

    /// What the next write builds on: the staged status, else the current one.
    pub fn base(&self) -> &ApplicationStatus {
        self.staged.as_ref().unwrap_or(&self.current)
    }

    /// Writes `status` if it differs from the current one; returns whether it wrote.
    pub async fn write(&mut self, status: &ApplicationStatus) -> Result<bool, kube::Error> {
        let old = serde_json::to_value(&self.current).unwrap_or(Value::Null);
        let new = serde_json::to_value(status).unwrap_or(Value::Null);
        let Some(patch) = merge_patch(&old, &new) else {
            self.staged = None;
            return Ok(false);
        };
        self.object.patch_status(patch).await?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        if let Some(sink) = &self.events {
            sink.emit(driftless_decisions::events::of_status_change(
                &self.current,
                status,
            ));
        }
        if let Some((log, key, project)) = &self.audit {
            let app = crate::audit::records::AppRef { key, project };
            let now = driftless_audit::now();
            log.record(crate::audit::records::of_status_change(
                app,
                &self.current,
                status,
                &now,
            ));
        }
        if let Some((metrics, key, app)) = &self.metrics {
            metrics.status_written(key, app, &self.current, status);
        }
        self.current = status.clone();
        self.staged = None;
        Ok(true)
    }
}

/// One Application's object in the API server, for the controller's reads and small writes.
/// Every write is noted in the [`AppStore`], so no reconcile reads an older copy from it.
#[derive(Clone)]
pub struct AppObject {
    api: Api<DynamicObject>,
    /// Its name in its namespace.
    name: String,
    /// Its key (see [`driftless_decisions::app_key`]).
    key: String,
    store: Arc<AppStore>,
}

impl AppObject {
    pub fn new(api: Api<DynamicObject>, name: &str, key: &str, store: Arc<AppStore>) -> Self {
        Self {
            api,
            name: name.to_string(),
            key: key.to_string(),
            store,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads the object from the API server (None: it is gone).
    pub async fn get(&self) -> Result<Option<DynamicObject>, kube::Error> {
        let object = self.api.get_opt(&self.name).await?;
        if let Some(object) = &object {
            self.store
                .fetched(&self.key, object.metadata.resource_version.as_deref());
        }
        Ok(object)
    }

    async fn patch(&self, patch: Value) -> Result<(), kube::Error> {
        let written = self
            .api
            .patch(&self.name, &params(), &Patch::Merge(patch))
            .await;
        self.noted(written)
    }

    async fn patch_status(&self, status: Value) -> Result<(), kube::Error> {
        let written = self
            .api
            .patch_status(
                &self.name,
                &params(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await;
        self.noted(written)
    }

    fn noted(&self, written: Result<DynamicObject, kube::Error>) -> Result<(), kube::Error> {
        match written {
            Ok(object) => {
                let version = object.metadata.resource_version.clone();
                let app = crate::runtime::app_store::kept(&object);
                self.store.wrote(&self.key, version, app);
                Ok(())
            }
            Err(error) => {
                // A write that failed may still have landed (a timeout): trust no copy.
                self.store.wrote(&self.key, None, None);
                Err(error)
            }
        }
    }

    /// Removes `Application.operation` (the requested operation has run).
    pub async fn clear_operation(&self) -> Result<(), kube::Error> {
        self.patch(json!({"operation": null})).await
    }

    /// Removes one annotation (the refresh request, once served).
    pub async fn clear_annotation(&self, annotation: &str) -> Result<(), kube::Error> {
        self.patch(json!({"metadata": {"annotations": {annotation: null}}}))
            .await
    }

    /// Sets one annotation.
    pub async fn set_annotation(&self, annotation: &str, value: &str) -> Result<(), kube::Error> {
        self.patch(json!({"metadata": {"annotations": {annotation: value}}}))
            .await
    }

    /// Sets the finalizers to `keep`, provided the object was not changed since
    /// `resource_version`.
    pub async fn set_finalizers(
        &self,
        keep: &[String],
        resource_version: Option<&str>,
    ) -> Result<(), kube::Error> {
        let mut patch = json!({"metadata": {"finalizers": keep}});
        if let Some(rv) = resource_version {
            patch["metadata"]["resourceVersion"] = json!(rv);
        }
        self.patch(patch).await
    }

    /// Writes only `status.conditions` (for an object that cannot even be read as an
    /// Application).
    pub async fn write_conditions(&self, conditions: Value) -> Result<(), kube::Error> {
        self.patch_status(json!({"conditions": conditions})).await
    }
}
