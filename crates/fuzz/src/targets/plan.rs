//! Sync planning: rendered and live objects with hook, wave and sync-option annotations into
//! `plan_sync`, then the plan driven through the state machine `next` to its end.

use super::{Target, decode, encode, mutate_json};
use crate::corpus;
use crate::generators::k8s;
use crate::rng::{Rng, one_in, pick, small};
use driftless_model::ResourceKey;
use driftless_model::status::{HealthStatusCode, OperationPhase};
use driftless_plan::{
    Next, Observed, PlanInput, Report, ResourceSelector, SyncState, next, plan_sync,
};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const TARGET: Target = Target {
    name: "plan",
    about: "driftless_plan::{plan_sync, next}",
    seeds,
    generate,
    mutate,
    run,
};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Input {
    namespace: String,
    namespace_exists: bool,
    prune: bool,
    prune_confirmed: bool,
    allow_empty: bool,
    skip_hooks: bool,
    revision: String,
    started_at: i64,
    desired: Vec<Value>,
    live: Vec<Value>,
    sync_options: Vec<String>,
    /// `GROUP:KIND:NAME` selectors for a partial sync.
    resources: Vec<String>,
    /// Steps whose name contains this fail when run (empty: none fail).
    fail: String,
}

fn seeds() -> Vec<Vec<u8>> {
    corpus::yaml_values("crates/plan/testdata/plans")
        .iter()
        .filter_map(|f| f.get("input").cloned())
        .filter_map(|i| serde_json::from_value::<Input>(i).ok())
        .map(|i| encode(&i))
        .collect()
}

fn generate(rng: &mut Rng) -> Vec<u8> {
    let desired: Vec<Value> = (0..small(rng, 6)).map(|_| k8s::object(rng)).collect();
    let mut live: Vec<Value> = Vec::new();
    for d in &desired {
        if rng.random() {
            live.push(k8s::live_of(rng, d));
        }
    }
    live.extend((0..small(rng, 2)).map(|_| k8s::object(rng)));
    encode(&Input {
        namespace: pick(rng, &["ns", "", "default", "other"]).to_string(),
        namespace_exists: one_in(rng, 2),
        prune: rng.random(),
        prune_confirmed: one_in(rng, 3),
        allow_empty: one_in(rng, 3),
        skip_hooks: one_in(rng, 5),
        revision: pick(rng, &["4f1e2d3c9b8a7", "", "é", "HEAD"]).to_string(),
        started_at: *pick(rng, &[0, 1_700_000_000, -1, i64::MAX, i64::MIN]),
        desired,
        live,
        sync_options: (0..small(rng, 3))
            .map(|_| {
                pick(
                    rng,
                    &[
                        "PruneLast=true",
                        "CreateNamespace=true",
                        "ApplyOutOfSyncOnly=true",
                        "Prune=false",
                        "ServerSideApply=true",
                        "Replace=true",
                        "x",
                        "=",
                        "PrunePropagationPolicy=orphan",
                    ],
                )
                .to_string()
            })
            .collect(),
        resources: if one_in(rng, 5) {
            vec![
                pick(
                    rng,
                    &["apps:Deployment:web", ":ConfigMap:ns/a", "*:*:*", "::", "a"],
                )
                .to_string(),
            ]
        } else {
            Vec::new()
        },
        fail: if one_in(rng, 3) {
            pick(rng, &["a", "web", "e"]).to_string()
        } else {
            String::new()
        },
    })
}

fn mutate(rng: &mut Rng, input: &[u8], others: &[&[u8]]) -> Vec<u8> {
    mutate_json(rng, input, others, None, k8s::KEYS)
}

fn run(input: &[u8]) {
    let Some(input) = decode::<Input>(input) else {
        return;
    };
    let plan_input = PlanInput {
        app_name: "fuzz".into(),
        desired: input.desired,
        live: input.live,
        out_of_sync: Default::default(),
        sync_options: input.sync_options,
        prune: input.prune,
        prune_confirmed: input.prune_confirmed,
        allow_empty: input.allow_empty,
        dry_run: false,
        skip_hooks: input.skip_hooks,
        resources: input
            .resources
            .iter()
            .filter_map(|r| r.parse::<ResourceSelector>().ok())
            .collect(),
        destination_namespace: input.namespace,
        destination_namespace_exists: input.namespace_exists,
        managed_namespace_metadata: None,
        revision: input.revision,
        started_at: input.started_at,
    };
    let Ok(plan) = plan_sync(&plan_input) else {
        return;
    };
    let _ = plan.waves();
    let _ = plan.summaries();
    let _ = plan.to_string();
    let mut state = SyncState::new();
    let mut observed = Observed::default();
    // Every round completes at least one stage; a plan has a bounded number of them.
    for _ in 0..10 * (plan.steps.len() + 4) {
        match next(&plan, &mut state, &observed) {
            Next::Done(_) => return,
            Next::Apply { steps }
            | Next::Prune { steps }
            | Next::RunHooks { steps }
            | Next::DeleteHooks { steps } => {
                let report = |s: &driftless_plan::Step| {
                    let fails = !input.fail.is_empty()
                        && ResourceKey::to_string(&s.key).contains(&input.fail);
                    if fails {
                        Report::failed(s, "fuzz")
                    } else {
                        Report::ok(s, "ok")
                    }
                };
                observed = Observed {
                    results: steps.iter().map(report).collect(),
                    ..Observed::default()
                };
            }
            Next::Wait {
                healthy,
                hooks,
                deleted,
            } => {
                observed = Observed {
                    health: healthy
                        .into_iter()
                        .map(|k| (k, HealthStatusCode::Healthy))
                        .collect(),
                    hooks: hooks
                        .into_iter()
                        .map(|k| (k, OperationPhase::Succeeded))
                        .collect(),
                    deleted,
                    ..Observed::default()
                };
            }
        }
    }
    panic!(
        "the sync state machine did not finish a plan of {} steps",
        plan.steps.len()
    );
}
