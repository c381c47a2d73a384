//! Command-line arguments and dispatch. Each subcommand lives in a file of its own.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod app;
mod app_source;
mod audit;
mod check;
mod client;
mod compare;
mod crds;
mod diff;
mod evaluate;
mod login;
mod migrate;
mod prompt;
mod render;
mod route;
pub(crate) mod serve;
mod serve_git;
mod sso;
mod sync;
mod telemetry;
mod tree;

use app_source::CommandError;

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
    /// Print the version of driftless.
    Version,
    /// Print the CustomResourceDefinitions of Application, ApplicationSet and AppProject as YAML.
    Crds,
    /// Print the desired objects of an Application, rendered from git.
    Render(render::RenderArgs),
    /// Show how the cluster differs from git for an Application (exit 1 when out of sync).
    Diff(diff::DiffArgs),
    /// Make the cluster match git for an Application.
    Sync(sync::SyncArgs),
    /// Run the Application controller: keep every Application in the namespace equal to git.
    Serve(serve::ServeArgs),
    /// Render a whole App-of-Apps tree offline and report volatile fields, insecure workloads
    /// and broken routing (exit 1 on an error finding, 2 when the tree cannot be rendered).
    Check(check::CheckArgs),
    /// Say which destination a request for HOST and PATH reaches in a rendered tree, and why.
    Route(route::RouteArgs),
    /// Log in to a driftless API server and save it as the current context.
    #[command(after_help = app::EXIT_CODES)]
    Login(login::LoginArgs),
    /// Forget the token of a context (the current one by default), ending its session.
    Logout(login::LogoutArgs),
    /// List the saved contexts, or switch to one.
    Context(login::ContextArgs),
    /// Applications through the API server (or the cluster, --core): list, get, sync, wait,
    /// history, rollback, delete, refresh, resources, terminate-op, events.
    #[command(after_help = app::EXIT_CODES)]
    App(app::AppArgs),
    /// ApplicationSets through the API server (or the cluster, --core): list, get.
    Appset(app::appset::AppsetArgs),
    /// AppProjects through the API server (or the cluster, --core): list, get.
    Proj(app::proj::ProjArgs),
    /// The audit log, read straight from its database: list, show, verify, export.
    Audit(audit::AuditArgs),
    /// What of an existing Argo CD install driftless honours, and how to switch over: report.
    Migrate(migrate::MigrateArgs),
    /// Serve git repositories over HTTP on a fixed address (used by `make demo`).
    #[command(hide = true)]
    ServeGit(serve_git::ServeGitArgs),
    /// Answer jq and Jsonnet evaluations on stdin/stdout: the worker process of the sandbox.
    #[command(name = "__evaluate", hide = true)]
    Evaluate,
}

pub fn run(cli: Cli) -> ExitCode {
    if matches!(cli.command, Command::Evaluate) {
        return evaluate::run();
    }
    // jq and Jsonnet from repositories run in killable worker processes from here on.
    evaluate::install();
    let result = match cli.command {
        Command::Version => {
            println!("driftless {}", env!("CARGO_PKG_VERSION"));
            Ok(true)
        }
        Command::Crds => return crds::run(),
        Command::Render(args) => render::run(args).map(|()| true),
        Command::Diff(args) => block_on(diff::run(args)),
        Command::Sync(args) => block_on(sync::run(args)),
        Command::Serve(args) => block_on(serve::run(args)),
        Command::Check(args) => check::run(args),
        Command::Route(args) => route::run(args),
        Command::ServeGit(args) => serve_git::run(args),
        Command::Login(args) => block_on(login::login(args)),
        Command::Logout(args) => block_on(login::logout(args)),
        Command::Context(args) => login::context(args),
        Command::App(args) => block_on(app::run(args)),
        Command::Appset(args) => block_on(app::appset::run(args)),
        Command::Proj(args) => block_on(app::proj::run(args)),
        Command::Audit(args) => block_on(audit::run(args)),
        Command::Migrate(args) => block_on(migrate::run(args)),
        Command::Evaluate => return evaluate::run(),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

fn block_on<T>(
    fut: impl std::future::Future<Output = Result<T, CommandError>>,
) -> Result<T, CommandError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CommandError::Failed(format!("failed to start the async runtime: {e}")))?;
    runtime.block_on(fut)
}
