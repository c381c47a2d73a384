//! `driftless app …`, `driftless appset …` and `driftless proj …`: the Applications (and the
//! ApplicationSets and AppProjects) through the API server or, with `--core`, the cluster.
//! Each subcommand lives in a file of its own; the printing is shared ([`view`], [`table`]).

pub mod appset;
mod change;
mod colour;
mod follow;
mod get;
mod list;
mod output;
mod preview;
mod progress;
pub mod proj;
mod sync;
pub mod table;
mod view;
mod wait;

use super::app_source::CommandError;
use super::client::{self, ConnectArgs};
use clap::{Args, Subcommand};
use std::time::Duration;

pub use super::app_source::EXIT_CODES;

#[derive(Debug, Args)]
pub struct AppArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(subcommand)]
    pub command: AppCommand,
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// List Applications (NAME PROJECT SYNC HEALTH REVISION; -o wide adds REPO PATH DESTINATION).
    List(list::ListArgs),
    /// Show an Application: source, destination, sync and health, conditions, the last
    /// operation and its resources.
    Get(get::GetArgs),
    /// Sync an Application and follow the operation wave by wave until it ends.
    #[command(after_help = EXIT_CODES)]
    Sync(sync::SyncArgs),
    /// Wait until Applications are synced and healthy (or as --sync/--health/--operation say).
    #[command(after_help = EXIT_CODES)]
    Wait(wait::WaitArgs),
    /// List the deployments an Application recorded (the IDs `rollback` takes).
    History(get::NameArgs),
    /// Sync an Application to what a history entry deployed (default: the one before the last).
    #[command(after_help = EXIT_CODES)]
    Rollback(sync::RollbackArgs),
    /// Delete Applications (with their objects unless --cascade=false).
    Delete(change::DeleteArgs),
    /// Ask the controller to compare an Application again (--hard: render it again too).
    Refresh(change::RefreshArgs),
    /// List an Application's objects with their sync and health status.
    Resources(get::NameArgs),
    /// End the running operation of an Application (it ends Failed, "Operation terminated").
    #[command(name = "terminate-op")]
    TerminateOp(change::TerminateArgs),
    /// List the Kubernetes Events about an Application.
    Events(get::NameArgs),
    /// Print the objects the API server renders for an Application (Secrets masked).
    Manifests(preview::PreviewArgs),
    /// Show how the cluster differs from the Application rendered at its target or
    /// --revision (Secrets masked); exit 1 when anything differs.
    #[command(after_help = EXIT_CODES)]
    Diff(preview::DiffArgs),
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    driftless_model::parse_duration(text).map_err(|e| e.to_string())
}

pub async fn run(args: AppArgs) -> Result<bool, CommandError> {
    let backend = client::connect(&args.connect).await?;
    let colour = colour::enabled();
    match args.command {
        AppCommand::List(a) => list::run(&backend, a, colour).await,
        AppCommand::Get(a) => get::get(&backend, a, colour).await,
        AppCommand::Sync(a) => sync::sync(&backend, a, colour).await,
        AppCommand::Wait(a) => wait::run(&backend, a).await,
        AppCommand::History(a) => get::history(&backend, a, colour).await,
        AppCommand::Rollback(a) => sync::rollback(&backend, a, colour).await,
        AppCommand::Delete(a) => change::delete(&backend, a).await,
        AppCommand::Refresh(a) => change::refresh(&backend, a).await,
        AppCommand::Resources(a) => get::resources(&backend, a, colour).await,
        AppCommand::TerminateOp(a) => change::terminate(&backend, a).await,
        AppCommand::Events(a) => get::events(&backend, a, colour).await,
        AppCommand::Manifests(a) => preview::manifests(&backend, a).await,
        AppCommand::Diff(a) => return preview::diff(&backend, a).await,
    }
    .map(|()| true)
}
