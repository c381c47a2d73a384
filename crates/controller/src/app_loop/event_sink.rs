//! Writes an app's Events ([`driftless_decisions::events`] decides which) into its namespace,
//! at best effort: an Event that cannot be written is logged and never fails a reconcile.

use driftless_decisions::events::{AppEvent, COMPONENT, EventType};
use driftless_model::Application;
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

/// Writes the Events of one app into its namespace.
#[derive(Clone)]
pub struct EventSink {
    api: Api<Event>,
    involved: serde_json::Value,
    name: String,
    annotations: serde_json::Value,
}

impl EventSink {
    pub fn new(client: kube::Client, app: &Application) -> Self {
        let namespace = app.metadata.namespace.clone().unwrap_or_default();
        let name = app.metadata.name.clone().unwrap_or_default();
        let destination = &app.spec.destination;
        Self {
            api: Api::namespaced(client, &namespace),
            involved: json!({
                "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "name": name, "namespace": namespace,
                "uid": app.metadata.uid, "resourceVersion": app.metadata.resource_version,
            }),
            annotations: json!({
                "dest-server": destination.server.clone().unwrap_or_default(),
                "dest-namespace": destination.namespace.clone().unwrap_or_default(),
            }),
            name,
        }
    }

    /// Writes `events` in the background; one that fails is logged.
    pub fn emit(&self, events: Vec<AppEvent>) {
        if events.is_empty() {
            return;
        }
        let sink = self.clone();
        tokio::spawn(async move {
            for event in events {
                if let Err(error) = sink.create(&event).await {
                    tracing::warn!(app = %sink.name, reason = event.reason, %error, "failed to write an Event");
                }
            }
        });
    }

    async fn create(&self, event: &AppEvent) -> Result<(), kube::Error> {
        let now = driftless_decisions::time::time_of(crate::runtime::clock::now_secs());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut annotations = self.annotations.clone();
        if let Some(user) = &event.user {
            annotations["user"] = json!(user);
        }
        let object: Event = serde_json::from_value(json!({
            "metadata": {
                "name": format!("{}.{nanos:x}", self.name),
                "annotations": annotations,
            },
            "involvedObject": self.involved,
            "reason": event.reason,
            "message": event.message,
            "type": match event.kind { EventType::Normal => "Normal", EventType::Warning => "Warning" },
            "source": {"component": COMPONENT},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }))
        .map_err(kube::Error::SerdeError)?;
        self.api.create(&PostParams::default(), &object).await?;
        Ok(())
    }
}
