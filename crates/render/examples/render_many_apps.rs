//! Prints the cost of re-rendering a 200-app repository after a commit that touches one app:
//! the render cache is keyed by each app's tree id, so only that app's tool runs again.
//! `cargo run --release -p driftless-render --example render_many_apps` (needs helm).
//! A benchmark: it prints figures, it does not judge them.

use driftless_render::spec::HelmOptions;
use driftless_render::{
    GitTree, Method, ProcessRunner, RecordingRunner, RenderCache, RenderParams, Toolbox, Tools,
    TreeSource, render_at_commit,
};
use driftless_source::{RepoCache, RepoCredentials};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const APPS: usize = 200;

fn git(dir: &Path, args: &[&str]) -> Result<(), Box<dyn std::error::Error>> {
    let status = Command::new("git").arg("-C").arg(dir).args(args).status()?;
    if !status.success() {
        return Err(format!("git {args:?} failed").into());
    }
    Ok(())
}

fn write_chart(root: &Path, app: usize, tag: &str) -> std::io::Result<()> {
    let dir = root.join(format!("apps/app-{app:03}"));
    std::fs::create_dir_all(dir.join("templates"))?;
    std::fs::write(
        dir.join("Chart.yaml"),
        format!("apiVersion: v2\nname: app-{app:03}\nversion: 0.1.0\n"),
    )?;
    std::fs::write(
        dir.join("values.yaml"),
        format!("image: nginx:{tag}\nreplicas: 2\n"),
    )?;
    std::fs::write(
        dir.join("templates/deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector: {matchLabels: {app: {{ .Release.Name }}}}\n  template:\n    metadata: {labels: {app: {{ .Release.Name }}}}\n    spec:\n      containers: [{name: web, image: {{ .Values.image | quote }}}]\n",
    )
}

fn render_all(
    cache: &RepoCache,
    url: &str,
    renders: &RenderCache,
    toolbox: Toolbox<'_>,
) -> Result<(Duration, usize), Box<dyn std::error::Error>> {
    cache.sync(url, &RepoCredentials::default(), "HEAD")?;
    let repo = cache.repo(url)?;
    let commit = repo.resolve("HEAD")?;
    let tree = GitTree::new(repo, commit);
    let refs: BTreeMap<String, &dyn TreeSource> = BTreeMap::new();
    let start = Instant::now();
    let mut hits = 0;
    for app in 0..APPS {
        let name = format!("app-{app:03}");
        let params = RenderParams {
            path: format!("apps/{name}"),
            method: Method::Helm(HelmOptions {
                release_name: name.clone(),
                namespace: "bench".into(),
                ..Default::default()
            }),
        };
        if render_at_commit(toolbox, Some(renders), &name, &params, &tree, &refs)?.cache_hit {
            hits += 1;
        }
    }
    Ok((start.elapsed(), hits))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work = tempfile::tempdir()?;
    let origin = work.path().join("platform");
    std::fs::create_dir_all(&origin)?;
    git(&origin, &["init", "-q", "-b", "main"])?;
    for app in 0..APPS {
        write_chart(&origin, app, "1.27")?;
    }
    git(&origin, &["add", "-A"])?;
    git(
        &origin,
        &[
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.invalid",
            "commit",
            "-qm",
            "200 apps",
        ],
    )?;
    let url = format!("file://{}", origin.display());

    let tools = Tools::discover();
    let runner = RecordingRunner::new(ProcessRunner::default());
    let toolbox = Toolbox {
        tools: &tools,
        runner: &runner,
        charts: None,
    };
    let repos = RepoCache::new(work.path().join("repos"))?;
    let renders = RenderCache::open(work.path().join("renders"))?;

    let (cold, _) = render_all(&repos, &url, &renders, toolbox)?;
    let cold_runs = runner.invocations().len();
    runner.clear();
    let (warm, hits) = render_all(&repos, &url, &renders, toolbox)?;
    let warm_runs = runner.invocations().len();
    runner.clear();
    write_chart(&origin, 7, "1.28")?;
    git(
        &origin,
        &[
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.invalid",
            "commit",
            "-qam",
            "bump app-007",
        ],
    )?;
    let (after, after_hits) = render_all(&repos, &url, &renders, toolbox)?;
    let after_runs = runner.invocations().len();

    println!("render of a {APPS}-app repo (helm charts in git)");
    println!(
        "{:<34} {:>10} {:>12} {:>11}",
        "case", "total ms", "helm runs", "cache hits"
    );
    println!(
        "{:<34} {:>10.0} {:>12} {:>11}",
        "cold",
        cold.as_secs_f64() * 1e3,
        cold_runs,
        0
    );
    println!(
        "{:<34} {:>10.0} {:>12} {:>11}",
        "same commit again",
        warm.as_secs_f64() * 1e3,
        warm_runs,
        hits
    );
    println!(
        "{:<34} {:>10.0} {:>12} {:>11}",
        "after a commit touching one app",
        after.as_secs_f64() * 1e3,
        after_runs,
        after_hits
    );
    Ok(())
}
