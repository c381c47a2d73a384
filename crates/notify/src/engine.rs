//! The pure core: from the configuration, an Application (and its AppProject) and the clock,
//! what to send and the notified state to keep.
//!
//! As in Argo CD: a condition that holds is sent to each destination once per `oncePer` value
//! (or once while it holds); when it stops holding its entries without `oncePer` are forgotten,
//! so it can fire again. After an operation ends, nothing is evaluated until the app's sync
//! status was refreshed after it (`reconciledAt` or `observedAt` past `finishedAt`), so a
//! notification never describes the status from before the sync.

use crate::config::NotifyConfig;
use crate::expression::ExpressionError;
use crate::state::{ANNOTATION, NotifiedState, entry_key};
use crate::subscriptions::{self, Defaults, Destination, Destinations};
use crate::triggers::{Outcome, Triggers};
use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;

/// One notification to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub trigger: String,
    pub destination: Destination,
    /// The templates rendered into it.
    pub templates: Vec<String>,
    /// Its entry in the notified state (forgotten again when sending fails).
    pub entry: String,
}

/// Something the configuration or an expression got wrong, to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A subscription names a trigger the ConfigMap does not define.
    UnknownTrigger { trigger: String },
    /// A subscription names a service the ConfigMap does not define.
    UnknownService { trigger: String, service: String },
    /// A condition or `oncePer` failed to evaluate for this app.
    Evaluation {
        trigger: String,
        error: ExpressionError,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub deliveries: Vec<Delivery>,
    /// The state to keep once the deliveries are made.
    pub state: NotifiedState,
    /// The state the app had.
    pub previous: NotifiedState,
    pub findings: Vec<Finding>,
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The destinations of `app`: its annotations, its project's, and the global subscriptions.
pub fn destinations(config: &NotifyConfig, app: &Value, project: Option<&Value>) -> Destinations {
    let defaults = Defaults {
        triggers: &config.default_triggers,
        by_service: &config.service_default_triggers,
    };
    let labels = string_map(&app["metadata"]["labels"]);
    let mut found = subscriptions::global(&config.subscriptions, &labels, &config.default_triggers);
    found = subscriptions::merge(
        found,
        subscriptions::from_annotations(&string_map(&app["metadata"]["annotations"]), defaults),
    );
    if let Some(project) = project {
        found = subscriptions::merge(
            found,
            subscriptions::from_annotations(
                &string_map(&project["metadata"]["annotations"]),
                defaults,
            ),
        );
    }
    found
}

fn time_at(value: &Value) -> Option<Timestamp> {
    value.as_str().and_then(|s| s.parse().ok())
}

/// Whether the app's sync status was refreshed after its last operation ended.
pub fn sync_status_refreshed(app: &Value) -> bool {
    let operation = &app["status"]["operationState"];
    let Some(phase) = operation["phase"].as_str() else {
        return true;
    };
    if !matches!(phase, "Succeeded" | "Failed" | "Error") {
        return true;
    }
    let Some(finished) = time_at(&operation["finishedAt"]) else {
        return false;
    };
    let after = |field: &str| time_at(&app["status"][field]).is_some_and(|t| t >= finished);
    after("reconciledAt") || after("observedAt")
}

/// What to send for `app` at `now`.
pub fn plan(
    config: &NotifyConfig,
    triggers: &Triggers,
    app: &Value,
    project: Option<&Value>,
    now: Timestamp,
) -> Plan {
    let previous =
        NotifiedState::from_annotation(app["metadata"]["annotations"][ANNOTATION].as_str());
    let mut plan = Plan {
        state: previous.clone(),
        previous,
        ..Plan::default()
    };
    let destinations = destinations(config, app, project);
    if destinations.is_empty() || !sync_status_refreshed(app) {
        return plan;
    }
    for (trigger, to) in &destinations {
        let Some(results) = triggers.run(trigger, app, now) else {
            plan.findings.push(Finding::UnknownTrigger {
                trigger: trigger.clone(),
            });
            continue;
        };
        for result in results {
            let once_per = match result.outcome {
                Outcome::Broken => continue,
                Outcome::NotFired | Outcome::Failed(_) => {
                    if let Outcome::Failed(error) = result.outcome {
                        plan.findings.push(Finding::Evaluation {
                            trigger: trigger.clone(),
                            error,
                        });
                    }
                    for destination in to {
                        plan.state
                            .forget(&entry_key(trigger, &result.key, "", destination));
                    }
                    continue;
                }
                Outcome::Fired { once_per } => once_per,
            };
            if let Some(error) = result.once_per_error {
                plan.findings.push(Finding::Evaluation {
                    trigger: trigger.clone(),
                    error,
                });
            }
            for destination in to {
                if !config.services.contains_key(&destination.service) {
                    plan.findings.push(Finding::UnknownService {
                        trigger: trigger.clone(),
                        service: destination.service.clone(),
                    });
                    continue;
                }
                let entry = entry_key(trigger, &result.key, &once_per, destination);
                if plan.state.mark_sent(&entry, now.as_second()) {
                    plan.deliveries.push(Delivery {
                        trigger: trigger.clone(),
                        destination: destination.clone(),
                        templates: result.send.clone(),
                        entry,
                    });
                }
            }
        }
    }
    plan
}
