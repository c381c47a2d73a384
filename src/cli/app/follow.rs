//! Watching one app until something holds: the operation ends (printing its progress), or a
//! condition the caller checks. Shared by sync, rollback, wait, refresh and delete.

use super::progress::{Outcome, Progress, dropped, outcome};
use super::view;
use crate::cli::app_source::CommandError;
use crate::cli::client::{AppBackend, AppChange, AppWatch};
use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

/// When to give up: `--timeout` from now, or never.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Option<Instant>,
    after: Option<Duration>,
}

impl Deadline {
    pub fn after(timeout: Option<Duration>) -> Self {
        Self {
            at: timeout.map(|t| Instant::now() + t),
            after: timeout,
        }
    }

    /// "90s", for messages.
    pub fn shown(&self) -> String {
        self.after
            .map(|d| view::human_seconds(d.as_secs()))
            .unwrap_or_else(|| "no limit".into())
    }
}

/// The next change of the app; None once the deadline passed.
pub async fn next(
    watch: &mut AppWatch,
    deadline: Deadline,
) -> Result<Option<AppChange>, CommandError> {
    let item = match deadline.at {
        Some(at) => match tokio::time::timeout_at(at, watch.next()).await {
            Ok(item) => item,
            Err(_) => return Ok(None),
        },
        None => watch.next().await,
    };
    match item {
        Some(Ok(change)) => Ok(Some(change)),
        Some(Err(error)) => Err(error),
        None => Err(CommandError::Failed(
            "failed to watch the application: the watch ended".into(),
        )),
    }
}

/// Prints the progress of the operation `requested` (the app as the request left it) asked
/// for until it ends; the app as it was then, and how it ended.
pub async fn operation(
    backend: &impl AppBackend,
    name: &str,
    requested: &Value,
    deadline: Deadline,
    colour: bool,
) -> Result<(Value, Outcome), CommandError> {
    // The operation state the request found: what is there until the controller starts ours.
    let baseline = requested["status"]["operationState"].clone();
    let mut watch = backend.watch_app(name).await?;
    let mut progress = Progress::new(baseline.clone(), colour);
    loop {
        let Some(change) = next(&mut watch, deadline).await? else {
            return Err(CommandError::Timeout(format!(
                "timed out after {} waiting for the operation of app {name} to end; it goes on \
                 (stop it with `driftless app terminate-op {name}`)",
                deadline.shown()
            )));
        };
        let app = match change {
            AppChange::Changed(app) => *app,
            AppChange::Deleted => {
                return Err(CommandError::Failed(format!(
                    "app {name} was deleted while its operation ran"
                )));
            }
        };
        for line in progress.update(&app) {
            println!("{line}");
        }
        if dropped(&app, &baseline, requested) {
            return Err(CommandError::Failed(format!(
                "failed to run the operation on app {name}: the controller removed the request \
                 without running it, as it asks the same as the last operation (change a flag, \
                 e.g. --prune, to run it again)"
            )));
        }
        if let Some(ended) = outcome(&app, &baseline) {
            let app = compared_after(&mut watch, app, deadline).await;
            return Ok((app, ended));
        }
    }
}

/// How long to wait, after an operation, for the comparison that shows its objects' health.
const SETTLE: Duration = Duration::from_secs(5);

/// `app`, or a later state of it whose comparison ran after the operation ended (so the
/// results table shows fresh health); gives up after [`SETTLE`].
async fn compared_after(watch: &mut AppWatch, mut app: Value, deadline: Deadline) -> Value {
    let settle = Deadline::after(Some(SETTLE));
    let until = match (deadline.at, settle.at) {
        (Some(a), Some(b)) => Deadline {
            at: Some(a.min(b)),
            after: settle.after,
        },
        _ => settle,
    };
    while !compared_since_operation(&app) {
        match next(watch, until).await {
            Ok(Some(AppChange::Changed(later))) => app = *later,
            _ => break,
        }
    }
    app
}

/// The app was compared at or after its operation finished (RFC 3339 UTC times compare as text).
fn compared_since_operation(app: &Value) -> bool {
    let finished = view::text(app, "/status/operationState/finishedAt");
    let reconciled = view::text(app, "/status/reconciledAt");
    !finished.is_empty() && !reconciled.is_empty() && reconciled >= finished
}

/// After [`operation`]: the results table, and an error unless it succeeded.
pub fn report(
    name: &str,
    what: &str,
    app: &Value,
    ended: &Outcome,
    colour: bool,
) -> Result<(), CommandError> {
    let table = view::result_table(app);
    if !table.is_empty() {
        println!();
        print!("{}", table.render(colour));
    }
    if ended.succeeded() {
        return Ok(());
    }
    let reason = if ended.message.is_empty() {
        "no reason given".to_string()
    } else {
        ended.message.clone()
    };
    Err(CommandError::Failed(format!(
        "the {what} of app {name} ended {}: {reason}",
        ended.phase
    )))
}
