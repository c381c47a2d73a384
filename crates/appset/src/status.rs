//! The ApplicationSet's status, in Argo CD's shape: conditions (`ParametersGenerated`,
//! `ResourcesUpToDate`, `ErrorOccurred`) and `resources`, one entry per generated
//! Application with the sync and health status of the live one.

use std::collections::BTreeMap;

use driftless_model::appset::ApplicationSetCondition;
use driftless_model::status::ResourceStatus;
use driftless_model::{GROUP, HealthStatus, VERSION};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

use crate::applications::AppSetError;

pub const PARAMETERS_GENERATED: &str = "ParametersGenerated";
pub const RESOURCES_UP_TO_DATE: &str = "ResourcesUpToDate";
pub const ERROR_OCCURRED: &str = "ErrorOccurred";

fn condition(kind: &str, status: bool, reason: &str, message: &str) -> ApplicationSetCondition {
    ApplicationSetCondition {
        condition_type: kind.into(),
        status: if status { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: message.into(),
        ..Default::default()
    }
}

/// Conditions after Applications were generated and the plan carried out.
pub fn success_conditions() -> Vec<ApplicationSetCondition> {
    let up_to_date = "All applications have been generated successfully";
    vec![
        condition(
            PARAMETERS_GENERATED,
            true,
            "ParametersGenerated",
            "Successfully generated parameters for all Applications",
        ),
        condition(
            RESOURCES_UP_TO_DATE,
            true,
            "ApplicationSetUpToDate",
            up_to_date,
        ),
        condition(ERROR_OCCURRED, false, "ApplicationSetUpToDate", up_to_date),
    ]
}

/// Conditions after generation failed (and nothing was changed).
pub fn error_conditions(error: &AppSetError) -> Vec<ApplicationSetCondition> {
    let message = error.to_string();
    let parameters = if error.parameters_generated() {
        condition(
            PARAMETERS_GENERATED,
            true,
            "ParametersGenerated",
            "Successfully generated parameters for all Applications",
        )
    } else {
        condition(PARAMETERS_GENERATED, false, "ErrorOccurred", &message)
    };
    vec![
        parameters,
        condition(ERROR_OCCURRED, true, error.reason(), &message),
        condition(RESOURCES_UP_TO_DATE, false, "ErrorOccurred", &message),
    ]
}

/// Conditions when carrying out the plan failed (`reason`: Argo CD's, e.g.
/// `CreateApplicationError`, `UpdateApplicationError`, `DeleteApplicationError`).
pub fn apply_error_conditions(reason: &str, message: &str) -> Vec<ApplicationSetCondition> {
    vec![
        condition(
            PARAMETERS_GENERATED,
            true,
            "ParametersGenerated",
            "Successfully generated parameters for all Applications",
        ),
        condition(ERROR_OCCURRED, true, reason, message),
        condition(RESOURCES_UP_TO_DATE, false, "ErrorOccurred", message),
    ]
}

/// Sets `lastTransitionTime`: kept from the previous condition of the same type when its
/// status did not change, `now` otherwise (the clock is the caller's).
pub fn with_transition_times(
    previous: &[ApplicationSetCondition],
    mut conditions: Vec<ApplicationSetCondition>,
    now: &Time,
) -> Vec<ApplicationSetCondition> {
    for c in &mut conditions {
        let before = previous
            .iter()
            .find(|p| p.condition_type == c.condition_type);
        c.last_transition_time = match before {
            Some(p) if p.status == c.status && p.last_transition_time.is_some() => {
                p.last_transition_time.clone()
            }
            _ => Some(now.clone()),
        };
    }
    conditions
}

/// `status.resources`: each generated Application (sorted by name), with the sync status
/// and health of the live Application of that name when there is one.
pub fn resources(generated: &[Value], live: &[Value]) -> Vec<ResourceStatus> {
    let live: BTreeMap<&str, &Value> = live
        .iter()
        .filter_map(|app| Some((app["metadata"]["name"].as_str()?, app)))
        .collect();
    let mut out: Vec<ResourceStatus> = generated
        .iter()
        .map(|app| {
            let name = app["metadata"]["name"].as_str().unwrap_or("");
            let current = live.get(name);
            let sync = current
                .and_then(|a| a["status"]["sync"]["status"].as_str())
                .map(Into::into);
            let health = current
                .and_then(|a| a["status"]["health"]["status"].as_str())
                .map(|s| HealthStatus {
                    status: Some(s.into()),
                    ..Default::default()
                });
            ResourceStatus {
                group: Some(GROUP.into()),
                version: Some(VERSION.into()),
                kind: Some("Application".into()),
                namespace: app["metadata"]["namespace"].as_str().map(str::to_string),
                name: Some(name.to_string()),
                status: sync,
                health,
                ..Default::default()
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
