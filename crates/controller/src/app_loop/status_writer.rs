//! Writes to Application objects: status through the status subresource as a merge patch from
//! what was last written (so lists and removed fields come out right and an unchanged status
//! is not written at all), and small patches of the object itself (operation, annotations,
//! finalizers).

use crate::app_loop::event_sink::EventSink;
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
    api: Api<DynamicObject>,
    name: String,
    current: ApplicationStatus,
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
        api: Api<DynamicObject>,
        name: &str,
        current: Option<ApplicationStatus>,
        writes: Arc<AtomicU64>,
    ) -> Self {
        Self {
            api,
            name: name.to_string(),
            current: current.unwrap_or_default(),
            writes,
            events: None,
            audit: None,
            metrics: None,
        }
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

    pub fn current(&self) -> &ApplicationStatus {
        &self.current
    }

    /// Writes `status` if it differs from the current one; returns whether it wrote.
    pub async fn write(&mut self, status: &ApplicationStatus) -> Result<bool, kube::Error> {
        let old = serde_json::to_value(&self.current).unwrap_or(Value::Null);
        let new = serde_json::to_value(status).unwrap_or(Value::Null);
        let Some(patch) = merge_patch(&old, &new) else {
            return Ok(false);
        };
        self.api
            .patch_status(
                &self.name,
                &params(),
                &Patch::Merge(json!({ "status": patch })),
            )
            .await?;
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
        Ok(true)
    }
}

/// Removes `Application.operation` (the requested operation has run).
pub async fn clear_operation(api: &Api<DynamicObject>, name: &str) -> Result<(), kube::Error> {
    api.patch(name, &params(), &Patch::Merge(json!({"operation": null})))
        .await
        .map(|_| ())
}

/// Removes one annotation (the refresh request, once served).
pub async fn clear_annotation(
    api: &Api<DynamicObject>,
    name: &str,
    annotation: &str,
) -> Result<(), kube::Error> {
    let patch = json!({"metadata": {"annotations": {annotation: null}}});
    api.patch(name, &params(), &Patch::Merge(patch))
        .await
        .map(|_| ())
}

/// Sets one annotation.
pub async fn set_annotation(
    api: &Api<DynamicObject>,
    name: &str,
    annotation: &str,
    value: &str,
) -> Result<(), kube::Error> {
    let patch = json!({"metadata": {"annotations": {annotation: value}}});
    api.patch(name, &params(), &Patch::Merge(patch))
        .await
        .map(|_| ())
}

/// Sets the finalizers to `keep`, provided the object was not changed since `resource_version`.
pub async fn set_finalizers(
    api: &Api<DynamicObject>,
    name: &str,
    keep: &[String],
    resource_version: Option<&str>,
) -> Result<(), kube::Error> {
    let mut patch = json!({"metadata": {"finalizers": keep}});
    if let Some(rv) = resource_version {
        patch["metadata"]["resourceVersion"] = json!(rv);
    }
    api.patch(name, &params(), &Patch::Merge(patch))
        .await
        .map(|_| ())
}

/// Writes only `status.conditions` (for an object that cannot even be read as an Application).
pub async fn write_conditions(
    api: &Api<DynamicObject>,
    name: &str,
    conditions: Value,
) -> Result<(), kube::Error> {
    api.patch_status(
        name,
        &params(),
        &Patch::Merge(json!({"status": {"conditions": conditions}})),
    )
    .await
    .map(|_| ())
}
