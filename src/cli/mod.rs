//! Command-line arguments and dispatch. Each subcommand lives in a file of its own.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod crds;

/// GitOps continuous delivery for Kubernetes. Reads Argo CD Applications,
/// ApplicationSets and AppProjects unchanged and makes the cluster match git.
#[derive(Debug, Parser)]
#[command(name = "driftless", version, about, long_about = None, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the version of driftless and of the Kubernetes API it was built against.
    Version,
    /// Print the CustomResourceDefinitions of Application, ApplicationSet and AppProject as YAML.
    Crds,
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Version => {
            println!("driftless {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Crds => crds::run(),
    }
}
