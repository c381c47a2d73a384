//! `driftless sync`: make the cluster match one Application, wave by wave, waiting for each
//! wave to be healthy; `--dry-run` prints the plan instead.

use super::app_source::{AppArgs, CommandError};
use super::compare::{self, ClusterArgs, Comparison};
use clap::Args;
use driftless_apply::engine::health_code;
use driftless_apply::{ClusterClient, SyncContext, SyncEvent, run_sync};
use driftless_health::CustomChecks;
use driftless_model::{ResourceKey, annotations};
use driftless_plan::{Plan, PlanInput, ResourceSelector, RunPhase, SyncState, plan_sync};
use std::collections::BTreeSet;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub app: AppArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Delete objects the app tracks that are no longer in git.
    #[arg(long)]
    pub prune: bool,
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Sync only these objects: GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME (repeatable).
    #[arg(long = "resource", value_name = "GROUP:KIND:NAME")]
    pub resources: Vec<ResourceSelector>,
    /// Give up waiting for a wave after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

/// Returns whether the sync succeeded.
pub async fn run(args: SyncArgs) -> Result<bool, CommandError> {
    let cluster = compare::connect().await?;
    let mut attempt: u32 = 0;
    loop {
        let comparison = compare::compare(&cluster, &args.app, &args.cluster).await?;
        if !comparison.refused.is_empty() {
            for refusal in &comparison.refused {
                println!("  REFUSED            {}  {}", refusal.key, refusal.message);
            }
            println!(
                "sync failed: {} object(s) are not permitted; nothing was changed",
                comparison.refused.len()
            );
            return Ok(false);
        }
        if let Some(why) = held_by_window(&comparison) {
            println!("sync failed: {why}; nothing was changed");
            return Ok(false);
        }
        let plan = make_plan(&cluster, &comparison, &args).await?;
        if args.dry_run {
            print!("{plan}");
            return Ok(true);
        }
        let phase = execute(&cluster, &comparison, &plan, &args).await?;
        if phase == RunPhase::Succeeded {
            return Ok(true);
        }
        // `syncPolicy.retry`: try again with backoff, rendering and planning afresh.
        let Some(retry) = comparison
            .app
            .spec
            .sync_policy
            .as_ref()
            .and_then(|p| p.retry.clone())
        else {
            return Ok(false);
        };
        if !retry.allows_retry(i64::from(attempt)) {
            return Ok(false);
        }
        let delay = retry
            .delay(attempt)
            .map_err(|e| CommandError::Usage(e.to_string()))?;
        attempt += 1;
        eprintln!("sync failed; retry {attempt} in {delay:?}");
        tokio::time::sleep(delay).await;
    }
}

async fn make_plan(
    cluster: &ClusterClient,
    c: &Comparison,
    args: &SyncArgs,
) -> Result<Plan, CommandError> {
    let name = c.app.metadata.name.clone().unwrap_or_default();
    let policy = c.app.spec.sync_policy.clone().unwrap_or_default();
    let sync_options = policy.sync_options.clone().unwrap_or_default();
    let desired = respect_ignore_differences(c, &sync_options)?;
    let input = PlanInput {
        app_name: name.clone(),
        desired,
        live: c.live.clone(),
        out_of_sync: c
            .out_of_sync()
            .map(|d| d.key.clone())
            .collect::<BTreeSet<ResourceKey>>(),
        sync_options,
        prune: args.prune,
        allow_empty: policy
            .automated
            .as_ref()
            .and_then(|a| a.allow_empty)
            .unwrap_or(false),
        dry_run: args.dry_run,
        resources: args.resources.clone(),
        destination_namespace: c.app.spec.destination.namespace.clone().unwrap_or_default(),
        managed_namespace_metadata: policy.managed_namespace_metadata.clone(),
        revision: args.app.revision.clone().unwrap_or_default(),
        started_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
        ..PlanInput::default()
    };
    let plan = plan_sync(&input).map_err(|e| CommandError::Failed(format!("app {name}: {e}")))?;
    check_shared(cluster, c, &plan, &name, &input.sync_options, args).await?;
    Ok(plan)
}

/// With `RespectIgnoreDifferences=true`, ignored fields keep their live values when applied.
fn respect_ignore_differences(
    c: &Comparison,
    options: &[String],
) -> Result<Vec<serde_json::Value>, CommandError> {
    let parsed = driftless_model::SyncOptions::parse(options.iter().map(String::as_str));
    if parsed.respect_ignore_differences != Some(true) {
        return Ok(c.desired.clone());
    }
    let mut rules = driftless_decisions::compare::ignore_rules(&c.app);
    rules.extend(c.customizations.ignore.iter().cloned());
    let rules = driftless_diff::IgnoreRules::new(&rules)
        .map_err(|e| CommandError::Failed(e.to_string()))?;
    Ok(driftless_diff::respect_ignored_all(
        &rules, &c.desired, &c.live,
    ))
}

/// Objects in git that another app already tracks: reported, and with
/// `FailOnSharedResource=true` the sync fails before changing anything.
async fn check_shared(
    cluster: &ClusterClient,
    c: &Comparison,
    plan: &Plan,
    app: &str,
    options: &[String],
    args: &SyncArgs,
) -> Result<(), CommandError> {
    let fail = driftless_model::SyncOptions::parse(options.iter().map(String::as_str))
        .fail_on_shared_resource
        .unwrap_or(false);
    let shared =
        driftless_apply::shared_resources(cluster, plan, &c.live, app, args.cluster.tracking).await;
    for (key, owner) in shared {
        let message = format!("{key} is part of applications {app} and {owner}");
        if fail {
            return Err(CommandError::Failed(format!(
                "app {app}: shared resource: {message} (FailOnSharedResource=true)"
            )));
        }
        eprintln!("warning: SharedResourceWarning: {message}");
    }
    Ok(())
}

async fn execute(
    cluster: &ClusterClient,
    c: &Comparison,
    plan: &Plan,
    args: &SyncArgs,
) -> Result<RunPhase, CommandError> {
    let name = c.app.metadata.name.clone().unwrap_or_default();
    let health = &c.customizations.health;
    let ctx = SyncContext {
        app: &name,
        tracking: args.cluster.tracking,
        health,
        field_manager: annotations::FIELD_MANAGER,
        poll: Duration::from_millis(500),
        wait_timeout: Duration::from_secs(args.timeout),
        saved: None,
        stop: None,
        written: None,
    };
    let rejected = driftless_apply::dry_run_plan(cluster, plan, &ctx).await;
    if !rejected.is_empty() {
        for (key, message) in &rejected {
            println!("  FAILED dry-run     {key}  {message}");
        }
        println!(
            "sync failed: the API server rejected {} object(s) in the dry run; nothing was changed",
            rejected.len()
        );
        return Ok(RunPhase::Failed);
    }
    let mut state = SyncState::new();
    let mut last_wave = None;
    let mut on_event = |event: SyncEvent| match event {
        SyncEvent::Done { step, ok, message } => {
            let wave = (step.phase, step.wave);
            if last_wave != Some(wave) {
                println!("{} wave {}:", step.phase, step.wave);
                last_wave = Some(wave);
            }
            let mark = if ok { "ok" } else { "FAILED" };
            println!(
                "  {mark:<6} {:<10} {}  {message}",
                step.action.name(),
                step.key
            );
        }
        SyncEvent::Waiting { pending } => {
            let list: Vec<String> = pending.iter().map(|(k, h)| format!("{k} ({h})")).collect();
            println!("  waiting for {}", list.join(", "));
        }
        SyncEvent::State(_) => {}
    };
    let phase = run_sync(cluster, plan, &mut state, &ctx, &mut on_event)
        .await
        .map_err(|e| CommandError::Failed(format!("app {name}: {e}")))?;
    print_summary(cluster, plan, &state, health).await;
    println!(
        "sync {}: {}",
        if phase == RunPhase::Succeeded {
            "succeeded"
        } else {
            "failed"
        },
        state.message
    );
    Ok(phase)
}

async fn print_summary(
    cluster: &ClusterClient,
    plan: &Plan,
    state: &SyncState,
    health: &CustomChecks,
) {
    println!();
    println!("{:<60} {:<12} {:<12} HEALTH", "OBJECT", "ACTION", "RESULT");
    for step in &plan.steps {
        let result = state.result(step);
        let outcome = match result {
            Some(r) if r.ok() => "ok",
            Some(_) => "failed",
            None if step.action.is_noop() => "-",
            None => "not run",
        };
        let health = match cluster.get(&step.key).await {
            Ok(Some(obj)) => health_code(&obj, health).to_string(),
            Ok(None) => "-".into(),
            Err(_) => "Unknown".into(),
        };
        println!(
            "{:<60} {:<12} {:<12} {}",
            step.key.to_string(),
            action_word(step),
            outcome,
            health
        );
    }
}

fn action_word(step: &driftless_plan::Step) -> &'static str {
    use driftless_plan::Action;
    match step.action {
        Action::Create | Action::CreateNamespace => "created",
        Action::Update => "configured",
        Action::Reapply | Action::Unchanged => "unchanged",
        Action::Prune | Action::Delete => "pruned",
        Action::PruneSkipped { .. } | Action::DeleteSkipped { .. } => "kept",
        Action::Hook { .. } => "hook",
    }
}

/// Why the project's sync windows refuse a manual sync now, if they do (as Argo CD's API
/// refuses `argocd app sync`).
fn held_by_window(c: &Comparison) -> Option<String> {
    let windows = c.project.as_ref()?.sync_windows.as_deref()?;
    let now = driftless_windows::jiff::Timestamp::now();
    let target = driftless_windows::AppRef::of(&c.app);
    let verdict = driftless_windows::can_sync(windows, &target, now, true);
    (!verdict.permitted).then(|| format!("cannot sync: {verdict}"))
}
