//! The small changes of an Application: `refresh`, `delete` and `terminate-op`.

use super::follow::{self, Deadline};
use super::parse_duration;
use super::view;
use crate::cli::app_source::CommandError;
use crate::cli::client::{AppBackend, AppChange, DeleteRequest, Refresh};
use crate::cli::prompt;
use clap::Args;
use driftless_model::annotations::REFRESH;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct RefreshArgs {
    pub name: String,
    /// Render the app again too, not only compare (after a change the cache cannot see).
    #[arg(long)]
    pub hard: bool,
    /// Ask and return; do not wait for the controller.
    #[arg(long = "async")]
    pub no_wait: bool,
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Delete the app's objects too (`--cascade=false`: leave them).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub cascade: bool,
    /// How the objects are deleted: foreground (the app goes last) or background.
    #[arg(long, value_parser = ["foreground", "background"])]
    pub propagation_policy: Option<String>,
    /// Do not ask for confirmation (it is asked only on a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Wait until the apps are gone.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this long [default: no limit].
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct TerminateArgs {
    pub name: String,
}

pub async fn refresh(backend: &impl AppBackend, args: RefreshArgs) -> Result<(), CommandError> {
    let kind = if args.hard {
        Refresh::Hard
    } else {
        Refresh::Normal
    };
    if args.no_wait {
        backend.refresh_app(&args.name, kind).await?;
        println!("{} refresh of app {} requested", kind.as_str(), args.name);
        return Ok(());
    }
    let app = refresh_and_wait(backend, &args.name, kind, args.timeout).await?;
    println!(
        "app {} refreshed: {}, {}",
        args.name,
        or_unknown(view::sync_of(&app)),
        or_unknown(view::health_of(&app))
    );
    Ok(())
}

fn or_unknown(word: &str) -> &str {
    if word.is_empty() { "Unknown" } else { word }
}

/// The refresh request is served: the annotation gone from an object newer than the request.
fn refreshed(app: &Value, requested: &Value) -> bool {
    view::newer_than(app, requested) && app["metadata"]["annotations"][REFRESH].is_null()
}

/// Asks for a refresh and waits until the controller served it (and wrote what it found).
pub async fn refresh_and_wait(
    backend: &impl AppBackend,
    name: &str,
    kind: Refresh,
    timeout: Duration,
) -> Result<Value, CommandError> {
    let deadline = Deadline::after(Some(timeout));
    let requested = backend.refresh_app(name, kind).await?;
    let mut watch = backend.watch_app(name).await?;
    let mut served: Option<Value> = None;
    loop {
        // Once served, the status the comparison wrote follows at once: a moment more for it.
        let until = if served.is_some() {
            Deadline::after(Some(Duration::from_secs(1)))
        } else {
            deadline
        };
        let change = follow::next(&mut watch, until).await?;
        match (change, served.take()) {
            (Some(AppChange::Changed(app)), _) if refreshed(&app, &requested) => {
                served = Some(*app)
            }
            (Some(AppChange::Changed(_)), earlier) => served = earlier,
            (Some(AppChange::Deleted), _) => {
                return Err(CommandError::Failed(format!(
                    "app {name} was deleted during the refresh"
                )));
            }
            (None, Some(app)) => return Ok(app),
            (None, None) => {
                return Err(CommandError::Timeout(format!(
                    "timed out after {} waiting for the controller to refresh app {name}",
                    deadline.shown()
                )));
            }
        }
    }
}

pub async fn delete(backend: &impl AppBackend, args: DeleteArgs) -> Result<(), CommandError> {
    if !args.yes && prompt::interactive() {
        let what = if args.cascade {
            " and the objects it deployed"
        } else {
            ""
        };
        let question = format!("Delete application(s) {}{what}?", args.names.join(", "));
        if !prompt::confirm(&question)? {
            eprintln!("nothing deleted");
            return Ok(());
        }
    }
    let request = DeleteRequest {
        cascade: args.cascade,
        propagation_policy: args.propagation_policy.clone(),
    };
    let deadline = Deadline::after(args.timeout);
    for name in &args.names {
        backend.delete_app(name, &request).await?;
        println!(
            "application {name} deleted{}",
            if args.cascade {
                " (with its objects)"
            } else {
                ""
            }
        );
    }
    if args.wait {
        for name in &args.names {
            wait_gone(backend, name, deadline).await?;
        }
    }
    Ok(())
}

async fn wait_gone(
    backend: &impl AppBackend,
    name: &str,
    deadline: Deadline,
) -> Result<(), CommandError> {
    let mut watch = match backend.watch_app(name).await {
        Ok(watch) => watch,
        Err(CommandError::NotFound(_)) => return Ok(()),
        Err(error) => return Err(error),
    };
    loop {
        match follow::next(&mut watch, deadline).await? {
            Some(AppChange::Deleted) => {
                println!("application {name} is gone");
                return Ok(());
            }
            Some(AppChange::Changed(_)) => {}
            None => {
                return Err(CommandError::Timeout(format!(
                    "timed out after {} waiting for application {name} to be gone (its finalizers run on)",
                    deadline.shown()
                )));
            }
        }
    }
}

pub async fn terminate(backend: &impl AppBackend, args: TerminateArgs) -> Result<(), CommandError> {
    backend.terminate_operation(&args.name).await?;
    println!("the operation of app {} is being terminated", args.name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_refresh_is_served_once_a_newer_object_lacks_the_annotation() {
        let requested =
            json!({"metadata": {"resourceVersion": "10", "annotations": {REFRESH: "normal"}}});
        let stale = json!({"metadata": {"resourceVersion": "9"}});
        let pending =
            json!({"metadata": {"resourceVersion": "10", "annotations": {REFRESH: "normal"}}});
        let served = json!({"metadata": {"resourceVersion": "11", "annotations": {}}});
        assert!(
            !refreshed(&stale, &requested),
            "an older copy from before the request"
        );
        assert!(!refreshed(&pending, &requested));
        assert!(refreshed(&served, &requested));
    }
}
