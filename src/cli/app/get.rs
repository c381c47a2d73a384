//! The read commands about one Application: `app get`, `history`, `resources`, `events`.

use super::change;
use super::output::{Output, print_data, print_names};
use super::view;
use crate::cli::app_source::CommandError;
use crate::cli::client::{AppBackend, Refresh};
use clap::Args;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct GetArgs {
    pub name: String,
    /// Compare again first (and wait for it).
    #[arg(long)]
    pub refresh: bool,
    /// Render and compare again first (and wait for it).
    #[arg(long, conflicts_with = "refresh")]
    pub hard_refresh: bool,
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// An app's name and how to print.
#[derive(Debug, Args)]
pub struct NameArgs {
    pub name: String,
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// How long `get --refresh` waits for the controller.
const REFRESH_WAIT: Duration = Duration::from_secs(60);

pub async fn get(
    backend: &impl AppBackend,
    args: GetArgs,
    colour: bool,
) -> Result<(), CommandError> {
    let refresh = match (args.refresh, args.hard_refresh) {
        (_, true) => Some(Refresh::Hard),
        (true, _) => Some(Refresh::Normal),
        _ => None,
    };
    let app = match refresh {
        Some(kind) => change::refresh_and_wait(backend, &args.name, kind, REFRESH_WAIT).await?,
        None => backend.get_app(&args.name).await?,
    };
    if print_data(args.output, &app)? {
        return Ok(());
    }
    match args.output {
        Output::Name => print_names(std::slice::from_ref(&app)),
        _ => print!("{}", view::app_details(&app, args.output.wide(), colour)),
    }
    Ok(())
}

pub async fn history(
    backend: &impl AppBackend,
    args: NameArgs,
    colour: bool,
) -> Result<(), CommandError> {
    let app = backend.get_app(&args.name).await?;
    let history = app["status"]["history"].clone();
    let entries = history.as_array().cloned().unwrap_or_default();
    if print_data(args.output, &Value::Array(entries.clone()))? {
        return Ok(());
    }
    match args.output {
        Output::Name => {
            for entry in &entries {
                println!("{}", entry["id"]);
            }
        }
        _ if entries.is_empty() => eprintln!("app {} has no deployments recorded yet", args.name),
        _ => print!("{}", view::history_table(&app).render(colour)),
    }
    Ok(())
}

pub async fn resources(
    backend: &impl AppBackend,
    args: NameArgs,
    colour: bool,
) -> Result<(), CommandError> {
    let nodes = backend.app_resources(&args.name).await?;
    if print_data(args.output, &Value::Array(nodes.clone()))? {
        return Ok(());
    }
    match args.output {
        Output::Name => {
            for node in &nodes {
                let kind = view::text(node, "/kind").to_lowercase();
                match view::text(node, "/group") {
                    "" => println!("{kind}/{}", view::text(node, "/name")),
                    group => println!("{kind}.{group}/{}", view::text(node, "/name")),
                }
            }
        }
        _ => print!(
            "{}",
            view::resource_table(&nodes, args.output.wide()).render(colour)
        ),
    }
    Ok(())
}

pub async fn events(
    backend: &impl AppBackend,
    args: NameArgs,
    colour: bool,
) -> Result<(), CommandError> {
    let events = backend.app_events(&args.name).await?;
    if print_data(args.output, &Value::Array(events.clone()))? {
        return Ok(());
    }
    match args.output {
        Output::Name => print_names(&events),
        _ if events.is_empty() => eprintln!("no events about app {}", args.name),
        _ => print!("{}", view::event_table(&events).render(colour)),
    }
    Ok(())
}
