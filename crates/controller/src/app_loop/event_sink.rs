//! Writes an app's Events ([`driftless_decisions::events`] decides which) into its namespace,
//! at best effort: an Event that cannot be written is logged and never fails a reconcile.
//!
//! Each Event names the replica that wrote it as Kubernetes' own controllers do
//! (`source.host`, `reportingComponent`, `reportingInstance`) and when, to the microsecond
//! (`eventTime`: the status write it reports, not its own later creation), so the cluster
//! records which replica wrote an app and in what order.

use crate::runtime::config::Replica;
use driftless_decisions::event_fields::{action_of, note_of};
use driftless_decisions::events::{AppEvent, COMPONENT, EventType};
use driftless_model::Application;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};

/// Writes the Events of one app into its namespace.
#[derive(Clone)]
pub struct EventSink {
    api: Api<Event>,
    about: About,
}

/// What every Event of one app's sink shares: the app, and the replica writing.
#[derive(Clone)]
struct About {
    involved: Value,
    name: String,
    annotations: Value,
    replica: Replica,
}

impl EventSink {
    /// A sink for `app`'s Events, written by `replica`.
    pub fn new(client: kube::Client, app: &Application, replica: &Replica) -> Self {
        let namespace = app.metadata.namespace.clone().unwrap_or_default();
        Self {
            api: Api::namespaced(client, &namespace),
            about: About::new(app, replica),
        }
    }

    /// Writes `events` in the background; one that fails is logged. They carry the time of
    /// this call: the write they report has just happened.
    pub fn emit(&self, events: Vec<AppEvent>) {
        if events.is_empty() {
            return;
        }
        let at = Timestamp::now();
        let sink = self.clone();
        tokio::spawn(async move {
            for (index, event) in events.iter().enumerate() {
                if let Err(error) = sink.create(event, at, index).await {
                    tracing::warn!(app = %sink.about.name, reason = event.reason, %error, "failed to write an Event");
                }
            }
        });
    }

    async fn create(
        &self,
        event: &AppEvent,
        at: Timestamp,
        index: usize,
    ) -> Result<(), kube::Error> {
        let object: Event = serde_json::from_value(self.about.event(event, at, index))
            .map_err(kube::Error::SerdeError)?;
        self.api.create(&PostParams::default(), &object).await?;
        Ok(())
    }
}

impl About {
    fn new(app: &Application, replica: &Replica) -> Self {
        let namespace = app.metadata.namespace.clone().unwrap_or_default();
        let name = app.metadata.name.clone().unwrap_or_default();
        let destination = &app.spec.destination;
        Self {
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
            replica: replica.clone(),
        }
    }

    /// The `index`th Event of a write at `at`: its name is unique per app and instant, as
    /// Kubernetes' recorder names Events (`<object>.<nanoseconds in hex>`).
    fn event(&self, event: &AppEvent, at: Timestamp, index: usize) -> Value {
        let nanos = at.as_nanosecond().max(0).unsigned_abs() + index as u128;
        let mut annotations = self.annotations.clone();
        if let Some(user) = &event.user {
            annotations["user"] = json!(user);
        }
        json!({
            "metadata": {
                "name": format!("{}.{nanos:x}", self.name),
                "annotations": annotations,
            },
            "involvedObject": self.involved,
            "reason": event.reason,
            "message": note_of(&event.message),
            "type": match event.kind { EventType::Normal => "Normal", EventType::Warning => "Warning" },
            "source": {"component": COMPONENT, "host": self.replica.host},
            "reportingComponent": COMPONENT,
            "reportingInstance": self.replica.identity,
            "action": action_of(event.reason),
            "eventTime": MicroTime(at),
            "firstTimestamp": Time(at),
            "lastTimestamp": Time(at),
            "count": 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> Application {
        serde_json::from_value(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "shop", "namespace": "argocd", "uid": "u-1", "resourceVersion": "7"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://git.example/shop", "path": "."},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
            },
        }))
        .unwrap()
    }

    fn about() -> About {
        let replica = Replica {
            host: "driftless-0".into(),
            identity: "driftless-0-42".into(),
        };
        About::new(&app(), &replica)
    }

    fn completed() -> AppEvent {
        AppEvent {
            kind: EventType::Normal,
            reason: "OperationCompleted",
            message: "Sync operation to abc succeeded".into(),
            user: Some("alice".into()),
        }
    }

    #[test]
    fn an_event_names_the_replica_that_wrote_it_and_when_to_the_microsecond() {
        let at: Timestamp = "2026-12-07T06:00:01.234567891Z".parse().unwrap();
        let event = about().event(&completed(), at, 0);
        assert_eq!(
            event["source"],
            json!({"component": COMPONENT, "host": "driftless-0"})
        );
        assert_eq!(event["reportingComponent"], COMPONENT);
        assert_eq!(event["reportingInstance"], "driftless-0-42");
        assert_eq!(event["action"], "Sync");
        assert_eq!(event["eventTime"], "2026-12-07T06:00:01.234567Z");
        assert_eq!(event["firstTimestamp"], "2026-12-07T06:00:01Z");
        assert_eq!(event["lastTimestamp"], "2026-12-07T06:00:01Z");
        // The fields it carried before stay.
        assert_eq!(event["reason"], "OperationCompleted");
        assert_eq!(event["message"], "Sync operation to abc succeeded");
        assert_eq!(event["type"], "Normal");
        assert_eq!(event["count"], 1);
        assert_eq!(event["involvedObject"]["uid"], "u-1");
        assert_eq!(event["metadata"]["annotations"]["user"], "alice");
        assert_eq!(event["metadata"]["annotations"]["dest-namespace"], "shop");
        serde_json::from_value::<Event>(event).expect("a core/v1 Event");
    }

    #[test]
    fn the_events_of_one_write_have_distinct_names() {
        let at = Timestamp::now();
        let (about, event) = (about(), completed());
        let first = about.event(&event, at, 0);
        let second = about.event(&event, at, 1);
        assert_ne!(first["metadata"]["name"], second["metadata"]["name"]);
        assert_eq!(first["eventTime"], second["eventTime"]);
        assert!(
            first["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("shop.")
        );
    }

    #[test]
    fn a_long_message_is_cut_to_what_the_api_server_accepts() {
        let mut event = completed();
        event.message = "x".repeat(5000);
        let written = about().event(&event, Timestamp::now(), 0);
        let note = written["message"].as_str().unwrap();
        assert!(note.len() <= driftless_decisions::event_fields::NOTE_LIMIT);
    }
}
