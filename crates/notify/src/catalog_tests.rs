//! The catalog's default triggers against app fixtures (testdata/), and the once-per state
//! across evaluations.

use crate::config::{self, NotifyConfig};
use crate::engine::{Finding, Plan, plan};
use crate::expression::ExpressionError;
use crate::state::ANNOTATION;
use crate::template::{Vars, render};
use crate::triggers::Triggers;
use jiff::Timestamp;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const TRIGGERS: &[&str] = &[
    "on-created",
    "on-deleted",
    "on-deployed",
    "on-health-degraded",
    "on-sync-failed",
    "on-sync-running",
    "on-sync-status-unknown",
    "on-sync-succeeded",
];

fn testdata(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn catalog() -> NotifyConfig {
    let manifest: Value = serde_norway::from_str(&testdata("catalog.yaml")).unwrap();
    let data: BTreeMap<String, String> = serde_json::from_value(manifest["data"].clone()).unwrap();
    let parsed = config::parse(&data, &BTreeMap::new());
    assert_eq!(parsed.problems, vec![]);
    parsed.config
}

/// The fixture `name`, subscribed to every catalog trigger through the webhook `hook`.
fn app(name: &str) -> Value {
    let mut app: Value = serde_norway::from_str(&testdata(&format!("apps/{name}.yaml"))).unwrap();
    let annotations: serde_json::Map<String, Value> = TRIGGERS
        .iter()
        .map(|t| {
            (
                format!("notifications.argoproj.io/subscribe.{t}.hook"),
                json!(""),
            )
        })
        .collect();
    app["metadata"]["annotations"] = Value::Object(annotations);
    app
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn run(config: &NotifyConfig, app: &Value, now: &str) -> Plan {
    plan(
        config,
        &Triggers::compile(&config.triggers),
        app,
        None,
        at(now),
    )
}

fn fired(plan: &Plan) -> Vec<String> {
    plan.deliveries.iter().map(|d| d.trigger.clone()).collect()
}

/// The app with the state `plan` leaves written into its annotation.
fn remember(mut app: Value, plan: &Plan) -> Value {
    app["metadata"]["annotations"][ANNOTATION] = json!(plan.state.to_annotation());
    app
}

#[test]
fn each_catalog_trigger_fires_for_its_state_only() {
    let config = catalog();
    let triggers = Triggers::compile(&config.triggers);
    assert_eq!(triggers.problems(), vec![]);
    let cases: &[(&str, &[&str])] = &[
        ("created", &["on-created"]),
        ("running", &["on-created", "on-sync-running"]),
        (
            "succeeded",
            &["on-created", "on-deployed", "on-sync-succeeded"],
        ),
        ("failed", &["on-created", "on-sync-failed"]),
        ("degraded", &["on-created", "on-health-degraded"]),
        ("unknown", &["on-created", "on-sync-status-unknown"]),
        ("deleting", &["on-created", "on-deleted"]),
    ];
    for (fixture, expected) in cases {
        let plan = run(&config, &app(fixture), "2026-01-01T12:30:00Z");
        assert_eq!(fired(&plan), *expected, "{fixture}");
    }
}

#[test]
fn a_missing_status_section_counts_as_false_and_is_reported() {
    let plan = run(&catalog(), &app("created"), "2026-01-01T12:30:00Z");
    // `app.status.health.status` with no health: Argo CD's expressions fail there too.
    assert!(plan.findings.iter().any(|f| matches!(f,
        Finding::Evaluation { trigger, error: ExpressionError::Evaluate { .. } } if trigger == "on-health-degraded")));
}

#[test]
fn deployed_needs_health_from_this_sync() {
    let config = catalog();
    let mut stale = app("succeeded");
    // Healthy since before the sync started: deployed.
    stale["status"]["health"]["lastTransitionTime"] = json!("2026-01-01T09:00:00Z");
    assert!(
        fired(&run(&config, &stale, "2026-01-01T12:30:00Z")).contains(&"on-deployed".to_string())
    );
    // Healthy since early in a sync that ended minutes later: the health is not this sync's.
    let mut late = app("succeeded");
    late["status"]["operationState"]["finishedAt"] = json!("2026-01-01T10:05:00Z");
    late["status"]["reconciledAt"] = json!("2026-01-01T10:05:10Z");
    late["status"]["health"]["lastTransitionTime"] = json!("2026-01-01T10:00:20Z");
    assert!(
        !fired(&run(&config, &late, "2026-01-01T12:30:00Z")).contains(&"on-deployed".to_string())
    );
}

#[test]
fn once_per_revision_survives_in_the_annotation_and_a_new_revision_fires_again() {
    let config = catalog();
    let first = run(&config, &app("succeeded"), "2026-01-01T12:30:00Z");
    assert_eq!(first.deliveries.len(), 3);
    let key = first
        .deliveries
        .iter()
        .find(|d| d.trigger == "on-sync-succeeded")
        .map(|d| d.entry.clone())
        .unwrap();
    assert!(key.starts_with("abc123:on-sync-succeeded:[0]."), "{key}");
    assert!(key.ends_with(":hook:"), "{key}");

    let again = run(
        &config,
        &remember(app("succeeded"), &first),
        "2026-01-01T12:31:00Z",
    );
    assert_eq!(fired(&again), Vec::<String>::new());
    assert_eq!(again.state, again.previous);

    let mut next = remember(app("succeeded"), &first);
    next["status"]["operationState"]["syncResult"]["revision"] = json!("def456");
    assert_eq!(
        fired(&run(&config, &next, "2026-01-01T12:32:00Z")),
        vec!["on-deployed", "on-sync-succeeded"]
    );
}

#[test]
fn without_once_per_it_fires_again_after_being_false() {
    let mut config = catalog();
    for conditions in config.triggers.values_mut() {
        for c in conditions.iter_mut() {
            c.once_per.clear();
        }
    }
    let degraded = app("degraded");
    let first = run(&config, &degraded, "2026-01-01T12:00:00Z");
    assert_eq!(fired(&first), vec!["on-created", "on-health-degraded"]);
    let still = run(
        &config,
        &remember(degraded.clone(), &first),
        "2026-01-01T12:01:00Z",
    );
    assert_eq!(fired(&still), Vec::<String>::new());
    let mut healthy = remember(degraded.clone(), &first);
    healthy["status"]["health"]["status"] = json!("Healthy");
    let recovered = run(&config, &healthy, "2026-01-01T12:02:00Z");
    assert_eq!(fired(&recovered), Vec::<String>::new());
    let degraded_again = run(
        &config,
        &remember(degraded, &recovered),
        "2026-01-01T12:03:00Z",
    );
    assert_eq!(fired(&degraded_again), vec!["on-health-degraded"]);
}

#[test]
fn nothing_is_evaluated_until_the_status_is_refreshed_after_the_sync() {
    let mut app = app("succeeded");
    app["status"]["reconciledAt"] = json!("2026-01-01T10:00:10Z");
    let plan = run(&catalog(), &app, "2026-01-01T12:30:00Z");
    assert_eq!(fired(&plan), Vec::<String>::new());
    assert_eq!(plan.state, plan.previous);
}

#[test]
fn time_based_conditions_read_the_clock() {
    let mut config = catalog();
    config.triggers.insert(
        "on-sync-stuck".into(),
        serde_norway::from_str(
            "- when: app.status.operationState.phase == 'Running' and time.Now().Sub(time.Parse(app.status.operationState.startedAt)).Minutes() >= 5\n  send: [app-sync-running]\n",
        )
        .unwrap(),
    );
    let mut app = app("running");
    app["metadata"]["annotations"] =
        json!({"notifications.argoproj.io/subscribe.on-sync-stuck.hook": ""});
    assert_eq!(
        fired(&run(&config, &app, "2026-01-01T10:03:00Z")),
        Vec::<String>::new()
    );
    assert_eq!(
        fired(&run(&config, &app, "2026-01-01T10:06:00Z")),
        vec!["on-sync-stuck"]
    );
}

#[test]
fn an_expression_outside_the_subset_sends_nothing_and_names_its_trigger() {
    let mut config = catalog();
    config.triggers.insert(
        "on-author".into(),
        serde_norway::from_str("- when: repo.GetCommitMetadata(app.status.sync.revision).Author == 'me'\n  send: [app-created]\n").unwrap(),
    );
    let triggers = Triggers::compile(&config.triggers);
    let problems = triggers.problems();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].0, "on-author");
    assert!(matches!(problems[0].1, ExpressionError::Unsupported { .. }));
    let mut app = app("succeeded");
    app["metadata"]["annotations"] = json!({"notifications.argoproj.io/subscribe.on-author.hook": "",
        "notifications.argoproj.io/subscribe.on-missing.hook": ""});
    let plan = plan(&config, &triggers, &app, None, at("2026-01-01T12:00:00Z"));
    assert_eq!(plan.deliveries, vec![]);
    assert_eq!(
        plan.findings,
        vec![Finding::UnknownTrigger {
            trigger: "on-missing".into()
        }]
    );
}

#[test]
fn project_annotations_subscribe_the_app_and_templates_render_for_it() {
    let config = catalog();
    let mut app = app("succeeded");
    app["metadata"]["annotations"] = json!({});
    let project = json!({"metadata": {"name": "default", "annotations": {
        "notifications.argoproj.io/subscribe.on-sync-succeeded.hook": ""}}});
    let plan = plan(
        &config,
        &Triggers::compile(&config.triggers),
        &app,
        Some(&project),
        at("2026-01-01T12:00:00Z"),
    );
    assert_eq!(fired(&plan), vec!["on-sync-succeeded"]);
    let delivery = &plan.deliveries[0];
    let vars = Vars {
        app: &app,
        app_project: Some(&project),
        context: &config.context,
        service: &delivery.destination.service,
        recipient: &delivery.destination.recipient,
    };
    let notification = render(&config.templates, &delivery.templates, &vars).unwrap();
    assert_eq!(
        notification.message,
        "Application web has been successfully synced at 2026-01-01T10:00:30Z.\n\
         Details: https://cd.example/applications/web?operation=true\n"
    );
}
