//! `driftless app manifests` and `driftless app diff`: the app rendered by the API server at
//! its target or at `--revision`, and how the live cluster differs from it (Secret values
//! masked). `diff` exits 0 when nothing differs and 1 when something does, like `diff(1)`.

use super::output::{Output, print_data};
use crate::cli::app_source::CommandError;
use crate::cli::client::{AppBackend, PreviewKind};
use clap::Args;
use serde_json::Value;

#[derive(Debug, Args)]
pub struct PreviewArgs {
    pub name: String,
    /// A branch, tag or commit (or chart version) instead of the app's targetRevision.
    #[arg(long)]
    pub revision: Option<String>,
    /// `yaml` (default for manifests: one document per object) or `json`.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

pub async fn manifests(backend: &impl AppBackend, args: PreviewArgs) -> Result<(), CommandError> {
    let answer = backend
        .app_preview(&args.name, PreviewKind::Manifests, args.revision.as_deref())
        .await?;
    let manifests = answer["manifests"].clone();
    if print_data(args.output, &manifests)? {
        return Ok(());
    }
    for object in manifests.as_array().into_iter().flatten() {
        let text = serde_norway::to_string(object)
            .map_err(|e| CommandError::Failed(format!("failed to write YAML: {e}")))?;
        print!("---\n{text}");
    }
    Ok(())
}

/// Returns whether nothing differs.
pub async fn diff(backend: &impl AppBackend, args: PreviewArgs) -> Result<bool, CommandError> {
    let answer = backend
        .app_preview(&args.name, PreviewKind::Diff, args.revision.as_deref())
        .await?;
    if print_data(args.output, &answer)? {
        return Ok(answer["differs"] != Value::Bool(true));
    }
    for item in answer["items"].as_array().into_iter().flatten() {
        let status = item["status"].as_str().unwrap_or("");
        if status == "Synced" {
            continue;
        }
        match item["diff"].as_str() {
            Some(text) => print!("{text}"),
            None => println!(
                "{}/{} {}/{}: {status}",
                item["group"].as_str().unwrap_or(""),
                item["kind"].as_str().unwrap_or(""),
                item["namespace"].as_str().unwrap_or(""),
                item["name"].as_str().unwrap_or("")
            ),
        }
    }
    Ok(answer["differs"] != Value::Bool(true))
}
