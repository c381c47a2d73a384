//! Prints how many requests 200 apps sharing one Helm repository cost over 10 poll rounds, done
//! the way `driftless serve` does them: one conditional index request per repository per round,
//! then each app resolves `1.*` from the index held and opens its chart from the disk cache.
//! A new matching version is published before round 6. Needs helm (`hack/build-tools`).
//! `cargo run --release -p driftless-charts --example chart_fetches`. It prints figures only.

use driftless_charts::{ChartRepos, HelmCredentials};
use driftless_testkit::{HelmRepoServer, built_helm, index_repo, package_chart, write_chart};
use std::time::{Duration, Instant};

const APPS: usize = 200;
const ROUNDS: usize = 10;

fn main() -> anyhow::Result<()> {
    let helm =
        built_helm().ok_or_else(|| anyhow::anyhow!("helm not built: run hack/build-tools"))?;
    let served = tempfile::tempdir()?;
    let work = tempfile::tempdir()?;
    let server = HelmRepoServer::start(served.path())?;
    let publish = |version: &str| -> anyhow::Result<()> {
        let template = (
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
        );
        let chart = write_chart(work.path(), "web", version, &[template])?;
        package_chart(&helm, &chart, served.path())?;
        index_repo(&helm, served.path(), &server.url())
    };
    publish("1.0.0")?;
    let cache = tempfile::tempdir()?;
    let repos = ChartRepos::new(cache.path())?;
    let credentials = HelmCredentials::default();
    let poll_interval = Duration::from_secs(3);
    println!(
        "chart fetches: {APPS} apps on one Helm repository, targetRevision 1.*, {ROUNDS} poll rounds"
    );
    for round in 1..=ROUNDS {
        if round == 6 {
            publish("1.1.0")?;
        }
        let started = Instant::now();
        // The poll: one conditional request for the repository.
        let changed = repos
            .index(&server.url(), &credentials, Duration::ZERO)?
            .changed;
        let mut versions = std::collections::BTreeSet::new();
        for _app in 0..APPS {
            let entry = repos.resolve(&server.url(), "web", "1.*", &credentials, poll_interval)?;
            repos.chart_dir(&server.url(), &credentials, &entry, false)?;
            versions.insert(entry.version);
        }
        println!(
            "  round {round:2}: index changed {changed:5}, versions {versions:?}, {:.1} ms for all apps",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let counts = repos.counts();
    println!(
        "  index requests sent {} ({} answered 304 Not Modified), index bodies served {}",
        counts.index_requests,
        counts.index_not_modified,
        server.downloads("/index.yaml")
    );
    println!(
        "  chart archives downloaded {} (web-1.0.0: {}, web-1.1.0: {})",
        counts.archive_downloads,
        server.downloads("/web-1.0.0.tgz"),
        server.downloads("/web-1.1.0.tgz")
    );
    Ok(())
}
