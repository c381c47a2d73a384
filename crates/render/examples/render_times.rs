//! Prints how long renders take: cold (the tool runs) and from the render cache.
//! `cargo run -p driftless-render --example render_times` (needs helm and kustomize or
//! kubectl; set DRIFTLESS_HELM if helm is not on PATH). A benchmark: it prints, it does not judge.

use driftless_render::spec::{DirectoryOptions, HelmOptions, KustomizeOptions};
use driftless_render::{
    DirTree, Method, ProcessRunner, RecordingRunner, RenderCache, RenderParams, Toolbox, Tools,
    TreeSource, render_at_commit,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tools = Tools::discover();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/repo");
    let values = DirTree::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/values-repo"));
    let main = DirTree::new(&repo);
    let mut refs: BTreeMap<String, &dyn TreeSource> = BTreeMap::new();
    refs.insert("values".into(), &values);
    let cases = [
        (
            "directory",
            RenderParams {
                path: "plain".into(),
                method: Method::Directory(DirectoryOptions {
                    recurse: true,
                    ..Default::default()
                }),
            },
        ),
        (
            "helm",
            RenderParams {
                path: "charts/web".into(),
                method: Method::Helm(HelmOptions {
                    release_name: "web".into(),
                    namespace: "shop".into(),
                    value_files: vec!["$values/env/prod.yaml".into()],
                    ..Default::default()
                }),
            },
        ),
        (
            "kustomize",
            RenderParams {
                path: "kustomize/overlays/prod".into(),
                method: Method::Kustomize(KustomizeOptions {
                    name_prefix: Some("p-".into()),
                    ..Default::default()
                }),
            },
        ),
    ];
    let runs = 10;
    println!(
        "{:<10} {:>12} {:>12} {:>6}",
        "source", "cold (ms)", "cached (ms)", "runs"
    );
    for (name, params) in &cases {
        let runner = RecordingRunner::new(ProcessRunner::default());
        let toolbox = Toolbox {
            tools: &tools,
            runner: &runner,
            charts: None,
        };
        let mut cold = Duration::ZERO;
        let mut warm = Duration::ZERO;
        for _ in 0..runs {
            let dir = tempfile::tempdir()?;
            let cache = RenderCache::open(dir.path())?;
            let start = Instant::now();
            let first = render_at_commit(toolbox, Some(&cache), name, params, &main, &refs)?;
            cold += start.elapsed();
            let start = Instant::now();
            let second = render_at_commit(toolbox, Some(&cache), name, params, &main, &refs)?;
            warm += start.elapsed();
            assert!(!first.cache_hit && second.cache_hit);
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0 / runs as f64;
        println!(
            "{:<10} {:>12.1} {:>12.1} {:>6}",
            name,
            ms(cold),
            ms(warm),
            runner.invocations().len()
        );
    }
    println!(
        "(cached includes re-hashing the source paths: plain directories are hashed file by file;"
    );
    println!(" with git sources the ids are tree ids read from the object store)");
    Ok(())
}
