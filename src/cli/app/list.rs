//! `driftless app list`.

use super::output::{Output, print_data, print_names};
use super::view;
use crate::cli::app_source::CommandError;
use crate::cli::client::{AppBackend, ListQuery};
use clap::Args;
use serde_json::Value;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only Applications of these projects (repeatable, or comma-separated).
    #[arg(short = 'p', long = "project", value_name = "PROJECT")]
    pub projects: Vec<String>,
    /// Only Applications whose labels match this selector (`tier=front,env!=dev`).
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Only Applications of this sync status (Synced, OutOfSync, Unknown).
    #[arg(long)]
    pub sync: Option<String>,
    /// Only Applications of this health (Healthy, Progressing, Degraded …).
    #[arg(long)]
    pub health: Option<String>,
    /// Only Applications with a source from this repository.
    #[arg(short = 'r', long)]
    pub repo: Option<String>,
    /// Only Applications deploying to this namespace.
    #[arg(long, value_name = "NAMESPACE")]
    pub dest_namespace: Option<String>,
    /// Only Applications whose name contains this (any case).
    #[arg(long)]
    pub search: Option<String>,
    /// At most this many (the rest: --continue with the token printed on stderr).
    #[arg(long)]
    pub limit: Option<usize>,
    /// The page after this token (from a listing with --limit).
    #[arg(long = "continue", value_name = "TOKEN")]
    pub continue_after: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

pub async fn run(
    backend: &impl AppBackend,
    args: ListArgs,
    colour: bool,
) -> Result<(), CommandError> {
    let query = ListQuery {
        projects: args.projects.clone(),
        selector: args.selector.clone(),
        sync: args.sync.clone(),
        health: args.health.clone(),
        repo: args.repo.clone(),
        namespace: args.dest_namespace.clone(),
        app_namespace: None,
        search: args.search.clone(),
        limit: args.limit,
        continue_after: args.continue_after.clone(),
    };
    let listed = backend.list_apps(&query).await?;
    if !print_data(args.output, &Value::Array(listed.items.clone()))? {
        match args.output {
            Output::Name => print_names(&listed.items),
            _ => print!(
                "{}",
                view::app_table(&listed.items, args.output.wide()).render(colour)
            ),
        }
    }
    if let Some(token) = &listed.continue_after {
        let remaining = listed
            .remaining
            .map(|r| format!("{r} more; "))
            .unwrap_or_default();
        eprintln!("{remaining}the next page: --continue {token}");
    }
    Ok(())
}
