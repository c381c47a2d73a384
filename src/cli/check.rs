//! `driftless check` (being written).
use super::app_source::CommandError;
use clap::Args;

#[derive(Debug, Args)]
pub struct CheckArgs {}

pub fn run(_args: CheckArgs) -> Result<bool, CommandError> {
    Err(CommandError::Failed("driftless check is not built yet".into()))
}
