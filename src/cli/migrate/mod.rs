//! `driftless migrate report`: reads an Argo CD namespace and says, item by item, whether
//! driftless honours it, honours it differently, or ignores it, then the switch-over steps.
//! The verdicts come from [`judge`], a pure function over the objects read by [`fetch`].

mod config_keys;
mod fetch;
mod finding;
mod judge;
mod output;
mod resources;

use super::app_source::CommandError;
use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(subcommand)]
    pub command: MigrateCommand,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Say what of the Argo CD install in a namespace driftless honours, honours differently
    /// or ignores (read through KUBECONFIG; Secret values are never read into the report).
    Report(ReportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The namespace Argo CD runs in.
    #[arg(long, short = 'n', default_value = "argocd")]
    pub namespace: String,
    /// `text`: a table per source and the switch-over steps; `json`: the same for scripts.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub output: Format,
}

pub async fn run(args: MigrateArgs) -> Result<bool, CommandError> {
    let MigrateCommand::Report(args) = args.command;
    let client = kube::Client::try_default().await.map_err(|e| {
        CommandError::Unreachable(format!(
            "failed to connect to the cluster (KUBECONFIG): {e}"
        ))
    })?;
    let install = fetch::read_install(&client, &args.namespace)
        .await
        .map_err(|e| CommandError::Failed(e.to_string()))?;
    let findings = judge::judge(&install);
    match args.output {
        Format::Text => print!("{}", output::text(&findings, &args.namespace)),
        Format::Json => {
            let text = serde_json::to_string_pretty(&output::json(&findings, &args.namespace))
                .map_err(|e| {
                    CommandError::Failed(format!("failed to write the report as JSON: {e}"))
                })?;
            println!("{text}");
        }
    }
    Ok(true)
}
