//! `driftless route` (being written).
use super::app_source::CommandError;
use clap::Args;

#[derive(Debug, Args)]
pub struct RouteArgs {}

pub fn run(_args: RouteArgs) -> Result<bool, CommandError> {
    Err(CommandError::Failed("driftless route is not built yet".into()))
}
