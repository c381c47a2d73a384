//! Prints how long it takes to find an app's directory in a cached commit when the repository
//! holds many apps side by side (`apps/a0` … `apps/aN`, the App-of-Apps and ApplicationSet
//! layout): every reconcile looks its path up for the render cache's key, so at 10,000 apps
//! this runs 10,000 times per commit.
//! `cargo run --release -p driftless-source --example tree_lookup_bench` (BENCH_TREE_APPS:
//! 10000). A benchmark: it prints figures, it does not judge them.

use driftless_source::testing::ScratchRepo;
use driftless_source::{RepoCache, RepoCredentials};
use std::time::Instant;

const LOOKUPS: usize = 2_000;

fn main() -> anyhow::Result<()> {
    let apps: usize = std::env::var("BENCH_TREE_APPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let repo = ScratchRepo::new();
    // No background gc racing the commits; the fetch below packs the objects as a remote would.
    repo.git(&["config", "gc.auto", "0"]);
    for index in 0..apps {
        repo.write(
            &format!("apps/a{index}/cm.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{index}\n"),
        );
    }
    repo.commit("apps");
    // A few commits of one app each: the apps/ tree of each is a delta of the one before.
    for round in 0..5 {
        repo.write(
            &format!("apps/a{round}/cm.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{round}\n  labels: {{round: \"{round}\"}}\n"),
        );
        repo.commit(&format!("round {round}"));
    }
    let dir = tempfile::tempdir()?;
    let cache = RepoCache::new(dir.path())?;
    let url = repo.file_url();
    cache.fetch(&url, &RepoCredentials::anonymous())?;
    let local = cache.repo(&url)?;
    let head = cache.resolve(&url, "HEAD")?;

    let started = Instant::now();
    for lookup in 0..LOOKUPS {
        let index = lookup * 7919 % apps;
        local.tree_id(head, &format!("apps/a{index}"))?;
    }
    let per = started.elapsed() / LOOKUPS as u32;
    println!(
        "tree lookup | {apps} apps side by side | {LOOKUPS} lookups of apps/aN | {:.1} µs each | {:.2} s per 10,000",
        per.as_secs_f64() * 1e6,
        per.as_secs_f64() * 10_000.0
    );
    Ok(())
}
