//! `driftless app sync` and `driftless app rollback`: start the operation, then follow it
//! until it ends (unless --async).

use super::follow::{self, Deadline};
use super::parse_duration;
use crate::cli::app_source::CommandError;
use crate::cli::client::{AppBackend, RollbackRequest, SyncRequest};
use clap::Args;
use driftless_model::operation::SyncOperationResource;
use driftless_model::requests::SyncOptionsField;
use driftless_plan::ResourceSelector;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct SyncArgs {
    pub name: String,
    /// Delete objects the app tracks that are no longer in git.
    #[arg(long)]
    pub prune: bool,
    /// Plan and validate only; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Sync this revision instead of the app's targetRevision.
    #[arg(long)]
    pub revision: Option<String>,
    /// Sync only these objects: GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME (repeatable;
    /// the group is empty for the core group, `:ConfigMap:settings`).
    #[arg(long = "resource", value_name = "GROUP:KIND:NAME")]
    pub resources: Vec<ResourceSelector>,
    /// A sync option for this sync, e.g. `ServerSideApply=true` (repeatable).
    #[arg(long = "sync-option", value_name = "OPTION")]
    pub sync_options: Vec<String>,
    /// Start the sync and return; do not follow it.
    #[arg(long = "async")]
    pub no_wait: bool,
    /// Give up following after this long ("90s", "5m"; the sync goes on) [default: no limit].
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    pub name: String,
    /// The history ID to deploy again (`driftless app history`) [default: the one before the last].
    pub id: Option<i64>,
    #[arg(long)]
    pub prune: bool,
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long = "async")]
    pub no_wait: bool,
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
}

fn resource_of(selector: &ResourceSelector) -> SyncOperationResource {
    SyncOperationResource {
        group: Some(selector.group.clone()),
        kind: selector.kind.clone(),
        name: selector.name.clone(),
        namespace: selector.namespace.clone(),
        extra: Default::default(),
    }
}

pub async fn sync(
    backend: &impl AppBackend,
    args: SyncArgs,
    colour: bool,
) -> Result<(), CommandError> {
    let request = SyncRequest {
        revision: args.revision.clone(),
        prune: args.prune.then_some(true),
        dry_run: args.dry_run.then_some(true),
        resources: Some(args.resources.iter().map(resource_of).collect()),
        sync_options: (!args.sync_options.is_empty()).then(|| SyncOptionsField::Items {
            items: args.sync_options.clone(),
        }),
        strategy: None,
    };
    let deadline = Deadline::after(args.timeout);
    let patched = backend.sync_app(&args.name, &request).await?;
    let what = if args.dry_run { "dry-run sync" } else { "sync" };
    finish(
        backend,
        &args.name,
        what,
        &patched,
        args.no_wait,
        deadline,
        colour,
    )
    .await
}

pub async fn rollback(
    backend: &impl AppBackend,
    args: RollbackArgs,
    colour: bool,
) -> Result<(), CommandError> {
    let deadline = Deadline::after(args.timeout);
    let id = match args.id {
        Some(id) => id,
        None => previous_deployment(&backend.get_app(&args.name).await?, &args.name)?,
    };
    let request = RollbackRequest {
        id,
        prune: args.prune,
        dry_run: args.dry_run,
    };
    let patched = backend.rollback_app(&args.name, request).await?;
    println!("rolling app {} back to history entry {id}", args.name);
    finish(
        backend,
        &args.name,
        "rollback",
        &patched,
        args.no_wait,
        deadline,
        colour,
    )
    .await
}

/// The history ID before the last deployment.
fn previous_deployment(app: &Value, name: &str) -> Result<i64, CommandError> {
    let mut ids: Vec<i64> = app["status"]["history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["id"].as_i64())
        .collect();
    ids.sort_unstable();
    match ids.as_slice() {
        [.., previous, _] => Ok(*previous),
        _ => Err(CommandError::NotFound(format!(
            "app {name} has no deployment before the last one to roll back to (see `driftless app history {name}`)"
        ))),
    }
}

async fn finish(
    backend: &impl AppBackend,
    name: &str,
    what: &str,
    patched: &Value,
    no_wait: bool,
    deadline: Deadline,
    colour: bool,
) -> Result<(), CommandError> {
    if no_wait {
        println!("{what} of app {name} requested");
        return Ok(());
    }
    let (app, ended) = follow::operation(backend, name, patched, deadline, colour).await?;
    follow::report(name, what, &app, &ended, colour)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rollback_defaults_to_the_deployment_before_the_last() {
        let app = json!({"status": {"history": [{"id": 3}, {"id": 1}, {"id": 2}]}});
        assert_eq!(previous_deployment(&app, "a").ok(), Some(2));
        let one = json!({"status": {"history": [{"id": 0}]}});
        assert!(matches!(
            previous_deployment(&one, "a"),
            Err(CommandError::NotFound(_))
        ));
    }

    #[test]
    fn resources_keep_the_namespace_only_when_given() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(
            serde_json::to_value(resource_of(&":ConfigMap:shop/settings".parse()?))?,
            json!({"group": "", "kind": "ConfigMap", "name": "settings", "namespace": "shop"})
        );
        assert_eq!(
            serde_json::to_value(resource_of(&"apps:Deployment:web".parse()?))?,
            json!({"group": "apps", "kind": "Deployment", "name": "web"})
        );
        Ok(())
    }
}
