//! `driftless app wait`: until each app is as asked (synced and healthy by default).

use super::follow::{self, Deadline};
use super::parse_duration;
use super::view::{self, text};
use crate::cli::app_source::CommandError;
use crate::cli::client::{AppBackend, AppChange};
use clap::Args;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Wait until the app is Synced.
    #[arg(long)]
    pub sync: bool,
    /// Wait until the app is Healthy.
    #[arg(long)]
    pub health: bool,
    /// Wait until no operation runs (exit 1 if the last one ended Failed or Error).
    #[arg(long)]
    pub operation: bool,
    /// Give up after this long, for all the apps together ("90s", "5m") [default: no limit].
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
}

/// What the wait is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub sync: bool,
    pub health: bool,
    pub operation: bool,
}

/// Where an app stands against what is wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Reached,
    /// Not yet: what is missing.
    Pending(Vec<String>),
    /// Never will be: why.
    Failed(String),
}

/// Judges one snapshot (pure).
pub fn standing(app: &Value, wanted: Wanted) -> Standing {
    let mut missing = Vec::new();
    let op = &app["status"]["operationState"];
    let phase = text(op, "/phase");
    if wanted.operation {
        if !app["operation"].is_null() || matches!(phase, "Running" | "Terminating") {
            missing.push(format!(
                "the operation is {}",
                if phase.is_empty() { "pending" } else { phase }
            ));
        } else if matches!(phase, "Failed" | "Error") {
            return Standing::Failed(format!(
                "the operation ended {phase}: {}",
                text(op, "/message")
            ));
        }
    }
    let sync = view::sync_of(app);
    if wanted.sync && sync != "Synced" {
        missing.push(format!(
            "sync is {}",
            if sync.is_empty() { "Unknown" } else { sync }
        ));
    }
    let health = view::health_of(app);
    if wanted.health && health != "Healthy" {
        missing.push(format!(
            "health is {}",
            if health.is_empty() { "Unknown" } else { health }
        ));
    }
    if missing.is_empty() {
        Standing::Reached
    } else {
        Standing::Pending(missing)
    }
}

/// The one-line state printed when it changes.
fn state_line(name: &str, app: &Value) -> String {
    let mut line = format!(
        "app {name}: {}, {}",
        or_unknown(view::sync_of(app)),
        or_unknown(view::health_of(app))
    );
    let phase = text(app, "/status/operationState/phase");
    if !phase.is_empty() {
        line.push_str(&format!(", operation {phase}"));
    }
    line
}

fn or_unknown(word: &str) -> &str {
    if word.is_empty() { "Unknown" } else { word }
}

pub async fn run(backend: &impl AppBackend, args: WaitArgs) -> Result<(), CommandError> {
    let any = args.sync || args.health || args.operation;
    let wanted = Wanted {
        sync: args.sync || !any,
        health: args.health || !any,
        operation: args.operation,
    };
    let deadline = Deadline::after(args.timeout);
    for name in &args.names {
        wait_one(backend, name, wanted, deadline).await?;
    }
    Ok(())
}

async fn wait_one(
    backend: &impl AppBackend,
    name: &str,
    wanted: Wanted,
    deadline: Deadline,
) -> Result<(), CommandError> {
    let mut watch = backend.watch_app(name).await?;
    let mut shown = String::new();
    let mut missing = vec!["no state seen yet".to_string()];
    loop {
        let Some(change) = follow::next(&mut watch, deadline).await? else {
            return Err(CommandError::Timeout(format!(
                "timed out after {} waiting for app {name}: {}",
                deadline.shown(),
                missing.join(", ")
            )));
        };
        let app = match change {
            AppChange::Changed(app) => *app,
            AppChange::Deleted => {
                return Err(CommandError::Failed(format!(
                    "app {name} was deleted while waiting for it"
                )));
            }
        };
        let line = state_line(name, &app);
        if line != shown {
            println!("{line}");
            shown = line;
        }
        match standing(&app, wanted) {
            Standing::Reached => return Ok(()),
            Standing::Pending(now) => missing = now,
            Standing::Failed(why) => {
                return Err(CommandError::Failed(format!("app {name}: {why}")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BOTH: Wanted = Wanted {
        sync: true,
        health: true,
        operation: false,
    };

    #[test]
    fn each_wanted_condition_is_judged() {
        let good =
            json!({"status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}});
        assert_eq!(standing(&good, BOTH), Standing::Reached);
        let progressing =
            json!({"status": {"sync": {"status": "Synced"}, "health": {"status": "Progressing"}}});
        assert_eq!(
            standing(&progressing, BOTH),
            Standing::Pending(vec!["health is Progressing".into()])
        );
        let only_sync = Wanted {
            health: false,
            ..BOTH
        };
        assert_eq!(standing(&progressing, only_sync), Standing::Reached);
        let op = Wanted {
            sync: false,
            health: false,
            operation: true,
        };
        let running = json!({"status": {"operationState": {"phase": "Running"}}});
        assert!(matches!(standing(&running, op), Standing::Pending(_)));
        let failed = json!({"status": {"operationState": {"phase": "Failed", "message": "boom"}}});
        assert_eq!(
            standing(&failed, op),
            Standing::Failed("the operation ended Failed: boom".into())
        );
        assert_eq!(
            standing(&json!({}), op),
            Standing::Reached,
            "no operation at all"
        );
    }
}
