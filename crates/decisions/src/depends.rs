//! `driftless.dev/depends-on: app-a,app-b` (pure): the apps (same namespace) an app waits for
//! before it syncs, and which of them are not Synced and Healthy yet.

use driftless_model::annotations::DEPENDS_ON;
use driftless_model::{Application, HealthStatusCode, SyncStatusCode};
use std::collections::BTreeSet;

/// The names in the app's `depends-on` annotation: trimmed, non-empty, unique, in order.
pub fn dependencies(app: &Application) -> Vec<String> {
    let text = app
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DEPENDS_ON))
        .map(String::as_str)
        .unwrap_or("");
    parse(text)
}

pub fn parse(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty() && seen.insert(name.to_string()))
        .map(str::to_string)
        .collect()
}

/// What is known of a dependency: None when no such app exists.
pub type DependencyState = Option<(SyncStatusCode, HealthStatusCode)>;

/// The dependencies that hold the app back, each with why (e.g. `app-a (OutOfSync, Progressing)`).
/// An app naming itself is ignored.
pub fn waiting_for(
    app_name: &str,
    names: &[String],
    state_of: impl Fn(&str) -> DependencyState,
) -> Vec<String> {
    names
        .iter()
        .filter(|name| name.as_str() != app_name)
        .filter_map(|name| match state_of(name) {
            None => Some(format!("{name} (not found)")),
            Some((SyncStatusCode::Synced, HealthStatusCode::Healthy)) => None,
            Some((sync, health)) => Some(format!("{name} ({sync}, {health})")),
        })
        .collect()
}

/// The sync and health an Application reports in its status.
pub fn reported_state(app: &Application) -> (SyncStatusCode, HealthStatusCode) {
    let status = app.status.clone().unwrap_or_default();
    let sync = status.sync.map(|s| s.status).unwrap_or_default();
    let health = status
        .health
        .and_then(|h| h.status)
        .unwrap_or(HealthStatusCode::Unknown);
    (sync, health)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn names_are_trimmed_and_deduplicated() {
        assert_eq!(parse(" app-a, app-b ,,app-a"), vec!["app-a", "app-b"]);
        assert!(parse("").is_empty());
    }

    #[test]
    fn only_synced_and_healthy_dependencies_let_the_app_go() {
        let names = parse("db,cache,queue,self");
        let waiting = waiting_for("self", &names, |name| match name {
            "db" => Some((SyncStatusCode::Synced, HealthStatusCode::Healthy)),
            "cache" => Some((SyncStatusCode::Synced, HealthStatusCode::Progressing)),
            _ => None,
        });
        assert_eq!(
            waiting,
            vec!["cache (Synced, Progressing)", "queue (not found)"]
        );
    }
}
