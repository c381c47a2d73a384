//! The live progress of an operation (pure): Application snapshots in, the lines that say
//! what changed since the last one out. Wave by wave, each object's result as the operation
//! state records it (`syncResult.resources`: status, hook phase, message), the operation's
//! message and its phase; each change is printed once, so the output reads well in a log.

use super::colour::Style;
use super::view::text;
use serde_json::Value;
use std::collections::HashMap;

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Succeeded, Failed or Error.
    pub phase: String,
    pub message: String,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.phase == "Succeeded"
    }
}

/// The operation state is a new one (not `baseline`, the one before the request) and it has
/// ended, its request cleared from `operation`.
pub fn outcome(app: &Value, baseline: &Value) -> Option<Outcome> {
    let op = &app["status"]["operationState"];
    let phase = text(op, "/phase");
    let ended = matches!(phase, "Succeeded" | "Failed" | "Error");
    (app["operation"].is_null() && op.is_object() && op != baseline && ended).then(|| Outcome {
        phase: phase.to_string(),
        message: text(op, "/message").to_string(),
    })
}

/// The request was removed without running: a copy newer than `requested` (the app as the
/// request left it) has no `operation` and still the operation state from before. The
/// controller does that to a request equal to the last operation, taking it as already run.
pub fn dropped(app: &Value, baseline: &Value, requested: &Value) -> bool {
    app["operation"].is_null()
        && app["status"]["operationState"] == *baseline
        && super::view::newer_than(app, requested)
}

/// What has been printed so far.
#[derive(Debug)]
pub struct Progress {
    baseline: Value,
    colour: bool,
    phase: String,
    message: String,
    retries: i64,
    wave: Option<(String, i64)>,
    /// By object: the status, hook phase and message last printed.
    results: HashMap<String, String>,
}

/// The order of the sync phases.
fn phase_rank(phase: &str) -> u8 {
    match phase {
        "PreSync" => 0,
        "Sync" => 1,
        "PostSync" => 2,
        "SyncFail" => 3,
        _ => 4,
    }
}

impl Progress {
    /// `baseline`: `status.operationState` before the request (Null if none); it is not shown.
    pub fn new(baseline: Value, colour: bool) -> Self {
        Self {
            baseline,
            colour,
            phase: String::new(),
            message: String::new(),
            retries: 0,
            wave: None,
            results: HashMap::new(),
        }
    }

    fn paint(&self, word: &str) -> String {
        match Style::of_status(word) {
            Some(style) if self.colour => style.paint(word),
            _ => word.to_string(),
        }
    }

    /// The lines that `app` adds to what was printed.
    pub fn update(&mut self, app: &Value) -> Vec<String> {
        let op = &app["status"]["operationState"];
        if !op.is_object() || *op == self.baseline {
            return Vec::new();
        }
        let mut lines = Vec::new();
        let phase = text(op, "/phase").to_string();
        let ended = matches!(phase.as_str(), "Succeeded" | "Failed" | "Error");
        if phase != self.phase && !ended {
            let by = match text(op, "/operation/initiatedBy/username") {
                "" if op["operation"]["initiatedBy"]["automated"] == true => {
                    " (automated)".to_string()
                }
                "" => String::new(),
                user => format!(" (by {user})"),
            };
            lines.push(format!("Operation {}{by}", self.paint(&phase)));
        }
        let retries = op["retryCount"].as_i64().unwrap_or(0);
        if retries > self.retries {
            lines.push(format!("Retry {retries}"));
            self.retries = retries;
        }
        self.results_lines(app, &mut lines);
        let current = &op["driftlessSyncState"]["current"]["wave"];
        if let (Some(wave_phase), Some(wave)) =
            (current["phase"].as_str(), current["wave"].as_i64())
        {
            self.header(wave_phase, wave, &mut lines);
        }
        let message = text(op, "/message").to_string();
        if !ended && message != self.message && !message.is_empty() {
            lines.push(format!("  {message}"));
        }
        self.message = message;
        if ended && phase != self.phase {
            let message = if self.message.is_empty() {
                String::new()
            } else {
                format!(": {}", self.message)
            };
            lines.push(format!("Operation {}{message}", self.paint(&phase)));
        }
        self.phase = phase;
        lines
    }

    fn header(&mut self, phase: &str, wave: i64, lines: &mut Vec<String>) {
        let wanted = (phase.to_string(), wave);
        if self.wave.as_ref() != Some(&wanted) {
            lines.push(format!("{phase} wave {wave}"));
            self.wave = Some(wanted);
        }
    }

    /// New or changed object results, in wave order, each under its wave.
    fn results_lines(&mut self, app: &Value, lines: &mut Vec<String>) {
        let op = &app["status"]["operationState"];
        let current = &op["driftlessSyncState"]["current"]["wave"];
        let mut changed: Vec<(u8, i64, &Value)> = Vec::new();
        for result in op["syncResult"]["resources"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let phase = match text(result, "/syncPhase") {
                "" => "Sync",
                phase => phase,
            };
            let key = format!(
                "{phase}:{}/{}/{}/{}",
                text(result, "/group"),
                text(result, "/kind"),
                text(result, "/namespace"),
                text(result, "/name")
            );
            let signature = format!(
                "{}|{}|{}",
                text(result, "/status"),
                text(result, "/hookPhase"),
                text(result, "/message")
            );
            if self.results.get(&key) == Some(&signature) {
                continue;
            }
            self.results.insert(key, signature);
            let wave = wave_of(app, result).unwrap_or_else(|| {
                if current["phase"].as_str() == Some(phase) {
                    current["wave"].as_i64().unwrap_or(0)
                } else {
                    0
                }
            });
            changed.push((phase_rank(phase), wave, result));
        }
        changed.sort_by_key(|(rank, wave, _)| (*rank, *wave));
        for (_, wave, result) in changed {
            let phase = match text(result, "/syncPhase") {
                "" => "Sync",
                phase => phase,
            };
            self.header(phase, wave, lines);
            lines.push(self.result_line(result));
        }
    }

    fn result_line(&self, result: &Value) -> String {
        let status = match text(result, "/hookPhase") {
            "" => text(result, "/status"),
            hook_phase => hook_phase,
        };
        let kind = match text(result, "/group") {
            "" => text(result, "/kind").to_string(),
            group => format!("{group}/{}", text(result, "/kind")),
        };
        let object = match text(result, "/namespace") {
            "" => text(result, "/name").to_string(),
            namespace => format!("{namespace}/{}", text(result, "/name")),
        };
        let hook = match text(result, "/hookType") {
            "" => String::new(),
            hook_type => format!(" ({hook_type} hook)"),
        };
        let message = match text(result, "/message") {
            "" => String::new(),
            message => format!("  {}", message.replace('\n', " ")),
        };
        // Padded before painting: the colour codes take no room.
        let padded = format!("{status:<12}");
        let painted = padded.replacen(status, &self.paint(status), 1);
        format!("  {painted} {kind} {object}{hook}{message}")
            .trim_end()
            .to_string()
    }
}

/// The sync wave `status.resources` records for a result's object (none recorded: 0); None
/// when the object is not there (a hook).
fn wave_of(app: &Value, result: &Value) -> Option<i64> {
    let same = |r: &&Value| {
        ["/group", "/kind", "/namespace", "/name"]
            .iter()
            .all(|p| text(r, p) == text(result, p))
    };
    let resource = app["status"]["resources"].as_array()?.iter().find(same)?;
    Some(resource["syncWave"].as_i64().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn fixture(name: &str) -> String {
        let path = format!("{}/testdata/cli/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Every snapshot of the fixture in turn, the lines each one added.
    fn replay(snapshots: &[Value]) -> (String, Option<Outcome>) {
        let baseline = snapshots[0]["status"]["operationState"].clone();
        let mut progress = Progress::new(baseline.clone(), false);
        let mut out = String::new();
        let mut ended = None;
        for app in snapshots {
            for line in progress.update(app) {
                out.push_str(&line);
                out.push('\n');
            }
            ended = ended.or_else(|| outcome(app, &baseline));
        }
        (out, ended)
    }

    #[test]
    fn a_sync_with_a_hook_and_two_waves_prints_each_change_once() {
        let snapshots: Vec<Value> =
            serde_json::from_str(&fixture("progress-waves.json")).expect("fixture");
        let (out, ended) = replay(&snapshots);
        assert_eq!(out, fixture("progress-waves.txt"));
        assert_eq!(ended.map(|o| o.phase), Some("Succeeded".to_string()));
    }

    #[test]
    fn a_failed_render_ends_in_error_with_its_reason() {
        let snapshots: Vec<Value> =
            serde_json::from_str(&fixture("progress-error.json")).expect("fixture");
        let (out, ended) = replay(&snapshots);
        assert_eq!(out, fixture("progress-error.txt"));
        let ended = ended.expect("ended");
        assert!(
            !ended.succeeded() && ended.message.contains("yaml"),
            "{ended:?}"
        );
    }

    #[test]
    fn the_operation_before_the_request_is_not_taken_for_its_end() {
        let old = serde_json::json!({"phase": "Succeeded", "message": "old", "startedAt": "t"});
        let app = serde_json::json!({"status": {"operationState": old.clone()}});
        assert_eq!(outcome(&app, &old), None);
        assert!(Progress::new(old.clone(), false).update(&app).is_empty());
        let pending = serde_json::json!({"operation": {"sync": {}}, "status": {"operationState": {"phase": "Succeeded", "startedAt": "u"}}});
        assert_eq!(
            outcome(&pending, &old),
            None,
            "the request is not cleared yet"
        );
    }

    #[test]
    fn a_request_removed_without_running_is_told_from_an_older_copy() {
        let old = serde_json::json!({"phase": "Succeeded", "startedAt": "t"});
        let requested = serde_json::json!({"metadata": {"resourceVersion": "20"}, "operation": {"sync": {}},
            "status": {"operationState": old.clone()}});
        let stale = serde_json::json!({"metadata": {"resourceVersion": "19"}, "status": {"operationState": old.clone()}});
        let cleared = serde_json::json!({"metadata": {"resourceVersion": "21"}, "status": {"operationState": old.clone()}});
        assert!(
            !dropped(&stale, &old, &requested),
            "a copy from before the request"
        );
        assert!(!dropped(&requested, &old, &requested));
        assert!(dropped(&cleared, &old, &requested));
    }
}
