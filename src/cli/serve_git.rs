//! `driftless serve-git` (hidden, for the demo): serves the git repositories under a folder
//! over smart HTTP on a fixed address with git's own `http-backend`, until interrupted.

use super::app_source::CommandError;
use clap::Args;
use driftless_source::testing::GitHttpServer;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ServeGitArgs {
    /// Folder whose repositories are served: `<folder>/<name>` is `http://<listen>/<name>`.
    #[arg(long)]
    pub root: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8480")]
    pub listen: SocketAddr,
}

pub fn run(args: ServeGitArgs) -> Result<bool, CommandError> {
    let server = GitHttpServer::builder(&args.root)
        .listen(args.listen)
        .start()
        .map_err(|e| CommandError::Failed(format!("failed to listen on {}: {e}", args.listen)))?;
    eprintln!(
        "serving git repositories under {} at http://{}/",
        args.root.display(),
        args.listen
    );
    let _keep = server;
    loop {
        std::thread::park();
    }
}
