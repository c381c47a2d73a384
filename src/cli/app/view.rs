//! What the app commands show of an Application (pure): the list, the summary of `app get`,
//! its resources, history, events and the results of a sync, from the Application's JSON.

use super::table::{Cell, Fields, Table};
use serde_json::Value;

/// The text at `pointer`, or "".
pub fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The resourceVersion as a number (etcd's revision), to tell a newer copy from an older one.
pub fn version_of(object: &Value) -> Option<u64> {
    text(object, "/metadata/resourceVersion").parse().ok()
}

/// `object` is a later copy than `then` (by resourceVersion; not numbers: just another one).
pub fn newer_than(object: &Value, then: &Value) -> bool {
    match (version_of(object), version_of(then)) {
        (Some(now), Some(then)) => now > then,
        _ => object["metadata"]["resourceVersion"] != then["metadata"]["resourceVersion"],
    }
}

pub fn name_of(app: &Value) -> &str {
    text(app, "/metadata/name")
}

pub fn project_of(app: &Value) -> &str {
    match text(app, "/spec/project") {
        "" => "default",
        project => project,
    }
}

pub fn sync_of(app: &Value) -> &str {
    text(app, "/status/sync/status")
}

pub fn health_of(app: &Value) -> &str {
    text(app, "/status/health/status")
}

/// The string items of a JSON list (none when it is not one).
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

/// A commit's first 7 characters; anything else (a tag, a chart version) whole.
pub fn short_revision(revision: &str) -> &str {
    let is_commit = revision.len() >= 40 && revision.chars().all(|c| c.is_ascii_hexdigit());
    if is_commit { &revision[..7] } else { revision }
}

/// The revision(s) the app was last compared at, shortened.
fn revision_of(app: &Value) -> String {
    let revisions: Vec<&str> = app["status"]["sync"]["revisions"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if revisions.is_empty() {
        short_revision(text(app, "/status/sync/revision")).to_string()
    } else {
        revisions
            .iter()
            .map(|r| short_revision(r))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The app's sources: `spec.sources`, else `spec.source`.
pub fn sources_of(app: &Value) -> Vec<&Value> {
    match app["spec"]["sources"].as_array() {
        Some(sources) if !sources.is_empty() => sources.iter().collect(),
        _ if app["spec"]["source"].is_object() => vec![&app["spec"]["source"]],
        _ => Vec::new(),
    }
}

/// Where in its repository a source is: its path, or its chart.
fn place_of(source: &Value) -> String {
    match (text(source, "/path"), text(source, "/chart")) {
        ("", "") => String::new(),
        ("", chart) => format!("chart {chart}"),
        (path, _) => path.to_string(),
    }
}

/// `cluster/namespace`: the destination's name, else its server without the scheme.
fn destination_of(app: &Value) -> String {
    let destination = &app["spec"]["destination"];
    let cluster = match text(destination, "/name") {
        "" => {
            let server = text(destination, "/server");
            server.split_once("://").map_or(server, |(_, rest)| rest)
        }
        name => name,
    };
    match text(destination, "/namespace") {
        "" => cluster.to_string(),
        namespace => format!("{cluster}/{namespace}"),
    }
}

/// With more than one source, the first one and how many more.
fn first_and_more(app: &Value, field: impl Fn(&Value) -> String) -> String {
    let sources = sources_of(app);
    match sources.as_slice() {
        [] => String::new(),
        [one] => field(one),
        [first, rest @ ..] => format!("{} (+{})", field(first), rest.len()),
    }
}

/// `app list`: NAME PROJECT SYNC HEALTH REVISION, and REPO PATH DESTINATION when wide.
pub fn app_table(apps: &[Value], wide: bool) -> Table {
    let mut headers = vec!["name", "project", "sync", "health", "revision"];
    if wide {
        headers.extend(["repo", "path", "destination"]);
    }
    let mut table = Table::new(&headers);
    for app in apps {
        let mut row = vec![
            Cell::plain(name_of(app)),
            Cell::plain(project_of(app)),
            Cell::status(sync_of(app)),
            Cell::status(health_of(app)),
            Cell::plain(revision_of(app)),
        ];
        if wide {
            row.push(Cell::plain(first_and_more(app, |s| {
                text(s, "/repoURL").to_string()
            })));
            row.push(Cell::plain(first_and_more(app, place_of)));
            row.push(Cell::plain(destination_of(app)));
        }
        table.row(row);
    }
    table
}

fn sync_policy_of(app: &Value) -> String {
    let automated = &app["spec"]["syncPolicy"]["automated"];
    if !automated.is_object() || automated["enabled"] == false {
        return "Manual".into();
    }
    let flags: Vec<&str> = [
        ("prune", "Prune"),
        ("selfHeal", "SelfHeal"),
        ("allowEmpty", "AllowEmpty"),
    ]
    .into_iter()
    .filter(|(key, _)| automated[key] == true)
    .map(|(_, word)| word)
    .collect();
    if flags.is_empty() {
        "Automated".into()
    } else {
        format!("Automated ({})", flags.join(", "))
    }
}

/// `app get`: the summary, the conditions, the operation state and the resources.
pub fn app_details(app: &Value, wide: bool, colour: bool) -> String {
    let mut fields = Fields::default();
    let namespace = text(app, "/metadata/namespace");
    let name = name_of(app);
    fields.add(
        "Name",
        if namespace.is_empty() {
            name.to_string()
        } else {
            format!("{namespace}/{name}")
        },
    );
    fields.add("Project", project_of(app));
    let destination = &app["spec"]["destination"];
    match text(destination, "/name") {
        "" => fields.add("Server", text(destination, "/server")),
        cluster => fields.add("Cluster", cluster),
    }
    fields.add("Namespace", text(destination, "/namespace"));
    let sources = sources_of(app);
    for (i, source) in sources.iter().enumerate() {
        let suffix = if sources.len() > 1 {
            format!(" {}", i + 1)
        } else {
            String::new()
        };
        fields.add(&format!("Repo{suffix}"), text(source, "/repoURL"));
        let target = match text(source, "/targetRevision") {
            "" => "HEAD",
            target => target,
        };
        fields.add(&format!("Target{suffix}"), target);
        match (text(source, "/path"), text(source, "/chart")) {
            ("", "") => {}
            ("", chart) => fields.add(&format!("Chart{suffix}"), chart),
            (path, _) => fields.add(&format!("Path{suffix}"), path),
        }
    }
    fields.add("Sync Policy", sync_policy_of(app));
    let sync = match sync_of(app) {
        "" => "Unknown",
        sync => sync,
    };
    let revision = revision_of(app);
    let sync_line = if revision.is_empty() {
        sync.to_string()
    } else {
        format!("{sync} ({revision})")
    };
    fields.add(
        "Sync Status",
        Cell {
            text: sync_line,
            style: Cell::status(sync).style,
        },
    );
    let health = match health_of(app) {
        "" => "Unknown",
        health => health,
    };
    let health_line = match text(app, "/status/health/message") {
        "" => health.to_string(),
        message => format!("{health} ({message})"),
    };
    fields.add(
        "Health Status",
        Cell {
            text: health_line,
            style: Cell::status(health).style,
        },
    );
    let mut out = fields.render(colour);

    let conditions = conditions_table(app);
    if !conditions.is_empty() {
        out.push('\n');
        out.push_str(&conditions.render(colour));
    }
    if let Some(operation) = operation_fields(app) {
        out.push('\n');
        out.push_str(&operation.render(colour));
    }
    let resources = resource_table(
        app["status"]["resources"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default(),
        wide,
    );
    out.push('\n');
    out.push_str(&resources.render(colour));
    out
}

fn conditions_table(app: &Value) -> Table {
    let mut table = Table::new(&["condition", "message", "last transition"]);
    for condition in app["status"]["conditions"].as_array().into_iter().flatten() {
        table.row(vec![
            Cell::plain(text(condition, "/type")),
            Cell::plain(text(condition, "/message").replace('\n', " ")),
            Cell::plain(text(condition, "/lastTransitionTime")),
        ]);
    }
    table
}

/// The last (or running) operation: what, who, its phase, when, and its message.
fn operation_fields(app: &Value) -> Option<Fields> {
    let op = app["status"]["operationState"].as_object()?;
    let op = Value::Object(op.clone());
    let mut fields = Fields::default();
    fields.add(
        "Operation",
        if op["operation"]["sync"].is_object() {
            "Sync"
        } else {
            "Unknown"
        },
    );
    let revision = match text(&op, "/syncResult/revision") {
        "" => text(&op, "/operation/sync/revision"),
        revision => revision,
    };
    if !revision.is_empty() {
        fields.add("Sync Revision", revision);
    }
    let by = &op["operation"]["initiatedBy"];
    if by["automated"] == true {
        fields.add("Initiated By", "automated sync policy");
    } else if let Some(user) = by["username"].as_str() {
        fields.add("Initiated By", user);
    }
    let phase = text(&op, "/phase");
    fields.add("Phase", Cell::status(phase));
    fields.add("Start", text(&op, "/startedAt"));
    let finished = text(&op, "/finishedAt");
    if !finished.is_empty() {
        fields.add("Finished", finished);
        if let Some(took) = duration_between(text(&op, "/startedAt"), finished) {
            fields.add("Duration", took);
        }
    }
    if let Some(retries) = op["retryCount"].as_i64().filter(|r| *r > 0) {
        fields.add("Retries", retries.to_string());
    }
    let message = text(&op, "/message");
    if !message.is_empty() {
        fields.add("Message", message.replace('\n', " "));
    }
    Some(fields)
}

/// `1m5s` between two RFC 3339 times.
fn duration_between(start: &str, end: &str) -> Option<String> {
    use driftless_windows::jiff::Timestamp;
    let start: Timestamp = start.parse().ok()?;
    let end: Timestamp = end.parse().ok()?;
    let seconds = end.as_second() - start.as_second();
    (seconds >= 0).then(|| human_seconds(seconds as u64))
}

pub fn human_seconds(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// An object's place in a resource table: GROUP KIND NAMESPACE NAME.
fn key_cells(resource: &Value) -> Vec<Cell> {
    ["/group", "/kind", "/namespace", "/name"]
        .iter()
        .map(|p| Cell::plain(text(resource, p)))
        .collect()
}

/// `status.resources`: GROUP KIND NAMESPACE NAME STATUS HEALTH, and WAVE MESSAGE when wide.
pub fn resource_table(resources: &[Value], wide: bool) -> Table {
    let mut headers = vec!["group", "kind", "namespace", "name", "status", "health"];
    if wide {
        headers.extend(["wave", "message"]);
    }
    let mut table = Table::new(&headers);
    for resource in resources {
        let mut row = key_cells(resource);
        let mut status = text(resource, "/status").to_string();
        if resource["requiresPruning"] == true {
            status.push_str(" (requires pruning)");
        }
        row.push(Cell {
            style: Cell::status(text(resource, "/status")).style,
            text: status,
        });
        row.push(Cell::status(text(resource, "/health/status")));
        if wide {
            row.push(Cell::plain(
                resource["syncWave"]
                    .as_i64()
                    .map(|w| w.to_string())
                    .unwrap_or_default(),
            ));
            row.push(Cell::plain(text(resource, "/health/message")));
        }
        table.row(row);
    }
    table
}

/// The health `status.resources` records for the object of a sync result.
pub fn health_of_result<'a>(app: &'a Value, result: &Value) -> &'a str {
    let same = |r: &&Value| {
        ["/group", "/kind", "/namespace", "/name"]
            .iter()
            .all(|p| text(r, p) == text(result, p))
    };
    app["status"]["resources"]
        .as_array()
        .and_then(|resources| resources.iter().find(same))
        .map(|r| text(r, "/health/status"))
        .unwrap_or("")
}

/// What the operation did, object by object: GROUP KIND NAMESPACE NAME STATUS HEALTH HOOK MESSAGE.
pub fn result_table(app: &Value) -> Table {
    let mut table = Table::new(&[
        "group",
        "kind",
        "namespace",
        "name",
        "status",
        "health",
        "hook",
        "message",
    ]);
    let results = app["status"]["operationState"]["syncResult"]["resources"].as_array();
    for result in results.into_iter().flatten() {
        let mut row = key_cells(result);
        let status = match text(result, "/hookPhase") {
            "" => text(result, "/status"),
            phase => phase,
        };
        row.push(Cell::status(status));
        row.push(Cell::status(health_of_result(app, result)));
        row.push(Cell::plain(text(result, "/hookType")));
        row.push(Cell::plain(text(result, "/message").replace('\n', " ")));
        table.row(row);
    }
    table
}

/// A history entry's (or an operation's) source(s): `repoURL path`, joined.
fn sources_text(entry: &Value) -> String {
    let mut sources: Vec<&Value> = entry["sources"]
        .as_array()
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    if sources.is_empty() && entry["source"].is_object() {
        sources.push(&entry["source"]);
    }
    sources
        .iter()
        .map(|s| {
            let place = place_of(s);
            let repo = text(s, "/repoURL");
            if place.is_empty() {
                repo.to_string()
            } else {
                format!("{repo} {place}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `status.history`: ID DATE REVISION SOURCE.
pub fn history_table(app: &Value) -> Table {
    let mut table = Table::new(&["id", "date", "revision", "source"]);
    for entry in app["status"]["history"].as_array().into_iter().flatten() {
        let revisions: Vec<&str> = entry["revisions"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let revision = if revisions.is_empty() {
            text(entry, "/revision").to_string()
        } else {
            revisions.join(",")
        };
        table.row(vec![
            Cell::plain(
                entry["id"]
                    .as_i64()
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
            ),
            Cell::plain(text(entry, "/deployedAt")),
            Cell::plain(revision),
            Cell::plain(sources_text(entry)),
        ]);
    }
    table
}

/// Kubernetes Events: LAST SEEN TYPE REASON MESSAGE.
pub fn event_table(events: &[Value]) -> Table {
    let mut table = Table::new(&["last seen", "type", "reason", "message"]);
    for event in events {
        let when = [
            "/lastTimestamp",
            "/eventTime",
            "/firstTimestamp",
            "/metadata/creationTimestamp",
        ]
        .iter()
        .map(|p| text(event, p))
        .find(|t| !t.is_empty())
        .unwrap_or("");
        let kind = text(event, "/type");
        let style = (kind == "Warning").then_some(super::colour::Style::Yellow);
        table.row(vec![
            Cell::plain(when),
            Cell {
                text: kind.to_string(),
                style,
            },
            Cell::plain(text(event, "/reason")),
            Cell::plain(text(event, "/message").replace('\n', " ")),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn fixture(name: &str) -> String {
        let path = format!("{}/testdata/cli/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn json(name: &str) -> Value {
        serde_json::from_str(&fixture(name)).expect("fixture JSON")
    }

    #[test]
    fn the_list_shows_short_revisions_and_wide_adds_where_from_and_to() {
        let apps = json("apps.json");
        let apps = apps.as_array().expect("a list");
        assert_eq!(
            app_table(apps, false).render(false),
            fixture("app-list.txt")
        );
        assert_eq!(
            app_table(apps, true).render(false),
            fixture("app-list-wide.txt")
        );
    }

    #[test]
    fn get_shows_summary_conditions_operation_and_resources() {
        let apps = json("apps.json");
        assert_eq!(app_details(&apps[0], false, false), fixture("app-get.txt"));
        assert_eq!(
            history_table(&apps[0]).render(false),
            fixture("app-history.txt")
        );
        assert_eq!(
            result_table(&apps[0]).render(false),
            fixture("app-results.txt")
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_seconds(5), "5s");
        assert_eq!(human_seconds(65), "1m5s");
        assert_eq!(human_seconds(3725), "1h2m5s");
        assert_eq!(
            duration_between("2024-05-01T10:00:00Z", "2024-05-01T10:01:30Z").as_deref(),
            Some("1m30s")
        );
        assert_eq!(
            short_revision("0123456789abcdef0123456789abcdef01234567"),
            "0123456"
        );
        assert_eq!(short_revision("v1.2.0"), "v1.2.0");
    }
}
