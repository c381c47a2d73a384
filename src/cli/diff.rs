//! `driftless diff`: a unified diff per object between the cluster and git.
//! Exit 0 when synced, 1 when anything differs (like `diff(1)` and `kubectl diff`).

use super::app_source::{AppArgs, CommandError};
use super::compare::{self, ClusterArgs};
use clap::Args;
use driftless_diff::SyncStatus;

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub app: AppArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Returns whether the app is in sync.
pub async fn run(args: DiffArgs) -> Result<bool, CommandError> {
    let cluster = compare::connect().await?;
    let comparison = compare::compare(&cluster, &args.app, &args.cluster).await?;
    let mut in_sync = comparison.refused.is_empty();
    for refusal in &comparison.refused {
        eprintln!("refused {}: {}", refusal.key, refusal.message);
    }
    for diff in comparison.out_of_sync() {
        if diff.status == SyncStatus::Extraneous
            && comparison.live.iter().any(|l| {
                driftless_diff::ignore_when_extraneous(l)
                    && driftless_model::ResourceKey::of(l).ok().as_ref() == Some(&diff.key)
            })
        {
            continue;
        }
        in_sync = false;
        match &diff.text {
            Some(text) => print!("{text}"),
            None => println!("{}: {:?}", diff.key, diff.status),
        }
    }
    Ok(in_sync)
}
