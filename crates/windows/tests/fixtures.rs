//! Table tests: every `testdata/*.yaml` file is a list of groups, each a set of AppProject
//! `syncWindows` and an app, with cases of (now, manual, started) and the expected verdict.
//! A case with `started` asks `can_continue` (a sync already running), otherwise `can_sync`.

#![allow(clippy::unwrap_used)]

use driftless_model::project::SyncWindow;
use driftless_windows::jiff::Timestamp;
use driftless_windows::{AppRef, can_continue, can_sync, describe};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    name: String,
    windows: Vec<SyncWindow>,
    #[serde(default)]
    app: App,
    cases: Vec<Case>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
struct App {
    name: String,
    namespace: String,
    cluster: String,
    server: String,
}

impl Default for App {
    fn default() -> App {
        App {
            name: "guestbook".into(),
            namespace: "default".into(),
            cluster: "in-cluster".into(),
            server: "https://kubernetes.default.svc".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// RFC 3339 instants, e.g. "2025-01-15T21:00:30Z".
    now: String,
    #[serde(default)]
    manual: bool,
    started: Option<String>,
    /// Replaces the group's app for this case.
    app: Option<App>,
    expect: Expect,
    /// The verdict's display, exactly.
    reason: Option<String>,
    /// `describe(...)`'s display, exactly.
    describe: Option<String>,
}

#[derive(Deserialize, Debug, PartialEq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Permitted,
    Blocked,
}

#[test]
fn testdata_tables() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());

    let (mut failures, mut count) = (Vec::new(), 0);
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let groups: Vec<Group> = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("failed to read {}: {e}", file.display()));
        let file_name = file.file_name().unwrap().to_string_lossy();
        for group in &groups {
            for (i, case) in group.cases.iter().enumerate() {
                count += 1;
                let where_ = format!("{file_name}: {} (case {i}, now {})", group.name, case.now);
                failures.extend(
                    check(&group.windows, group, case)
                        .err()
                        .map(|e| format!("{where_}: {e}")),
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn check(windows: &[SyncWindow], group: &Group, case: &Case) -> Result<(), String> {
    let app = case.app.as_ref().unwrap_or(&group.app);
    let app = AppRef {
        name: &app.name,
        namespace: &app.namespace,
        cluster_name: &app.cluster,
        cluster_server: &app.server,
    };
    let instant = |text: &str| {
        text.parse::<Timestamp>()
            .map_err(|e| format!("bad instant {text:?}: {e}"))
    };
    let now = instant(&case.now)?;
    let verdict = match &case.started {
        Some(started) => can_continue(windows, &app, now, case.manual, instant(started)?),
        None => can_sync(windows, &app, now, case.manual),
    };
    let got = if verdict.permitted {
        Expect::Permitted
    } else {
        Expect::Blocked
    };
    if got != case.expect {
        return Err(format!("expected {:?}, got {verdict}", case.expect));
    }
    if let Some(reason) = &case.reason
        && verdict.to_string() != *reason
    {
        return Err(format!(
            "reason\n  expected: {reason}\n  got:      {verdict}"
        ));
    }
    if let Some(expected) = &case.describe {
        let got = describe(windows, &app, now, case.manual).to_string();
        if got != expected.trim_end() {
            return Err(format!(
                "description\n--- expected\n{expected}\n--- got\n{got}"
            ));
        }
    }
    Ok(())
}
