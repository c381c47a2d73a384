//! jq and Jsonnet from repositories run in killable worker processes (`driftless
//! __evaluate`), bounded in time and memory. No cluster needed: these run the built binary
//! (`driftless render`, or the binary as a jq worker).

use crate::cli::{expect_exit, stderr, stdout};
use driftless_diff::jq::JqPath;
use driftless_sandbox::{Limits, Sandbox};
use driftless_source::testing::ScratchRepo;
use serde_json::json;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// `driftless render` of an app whose `app/` holds `files`, with `env` set.
fn render(files: &[(&str, &str)], env: &[(&str, &str)]) -> anyhow::Result<(Output, Duration)> {
    let repo = ScratchRepo::new();
    for (path, body) in files {
        repo.write(&format!("app/{path}"), body);
    }
    repo.commit("jsonnet");
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("app.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: demo, namespace: argocd}}\n\
             spec:\n  project: default\n  source: {{repoURL: '{}', targetRevision: HEAD, path: app}}\n\
             \x20 destination: {{server: 'https://kubernetes.default.svc', namespace: demo}}\n",
            repo.file_url()
        ),
    )?;
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args(["render", "-o", "json", "-f"])
        .arg(&file)
        .env("DRIFTLESS_CACHE", dir.path().join("cache"))
        .envs(env.iter().copied())
        .output()?;
    Ok((out, started.elapsed()))
}

/// 10^10 additions: minutes even in a release build, in a few MiB.
const FOREVER: &str = "local r = std.range(1, 100000);\n\
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'slow' },\n\
      data: { n: std.toString(std.foldl(function(a, i) a + std.foldl(function(b, j) b + 1, r, 0), r, 0)) } }\n";

/// A string doubled 36 times: 64 GiB, reached in a fraction of a second.
const HUNGRY: &str = "local grow(s, n) = if n == 0 then s else grow(s + s, n - 1);\n\
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' },\n\
      data: { n: std.toString(std.length(grow('x', 36))) } }\n";

#[test]
fn a_jsonnet_file_that_never_ends_fails_at_the_time_limit() -> anyhow::Result<()> {
    let (out, took) = render(
        &[("slow.jsonnet", FOREVER)],
        &[("DRIFTLESS_EVAL_TIMEOUT_SECONDS", "3")],
    )?;
    expect_exit(&out, 1, "render");
    let err = stderr(&out);
    assert!(
        err.contains("failed to evaluate app/slow.jsonnet: it did not finish within 3s"),
        "{err}"
    );
    assert!(err.contains("time limit"), "{err}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    Ok(())
}

#[test]
fn a_jsonnet_file_that_eats_memory_fails_at_the_memory_limit() -> anyhow::Result<()> {
    let (out, took) = render(
        &[("big.jsonnet", HUNGRY)],
        &[("DRIFTLESS_EVAL_MEMORY_MIB", "256")],
    )?;
    expect_exit(&out, 1, "render");
    let err = stderr(&out);
    assert!(err.contains("failed to evaluate app/big.jsonnet"), "{err}");
    assert!(err.contains("memory"), "{err}");
    assert!(err.contains("256 MiB"), "{err}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    Ok(())
}

#[test]
fn a_normal_jsonnet_app_still_renders_with_its_imports() -> anyhow::Result<()> {
    let (out, _) = render(
        &[
            ("params.libsonnet", "{ name: 'web', replicas: 2 }"),
            (
                "app.jsonnet",
                "local p = import 'params.libsonnet';\n\
                 [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: p.name },\n\
                    data: { replicas: std.toString(p.replicas), raw: importstr 'raw.txt' } }]\n",
            ),
            ("raw.txt", "hello"),
        ],
        &[("DRIFTLESS_EVAL_MEMORY_MIB", "256")],
    )?;
    expect_exit(&out, 0, "render");
    let list: serde_json::Value = serde_json::from_str(&stdout(&out))?;
    let items = list["items"].as_array().expect("a List");
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["metadata"]["name"], "web");
    assert_eq!(items[0]["data"], json!({"replicas": "2", "raw": "hello"}));
    Ok(())
}

fn jq_sandbox() -> Sandbox {
    Sandbox::driftless(env!("CARGO_BIN_EXE_driftless"), Limits::default())
}

#[test]
fn a_jq_expression_that_never_ends_fails_at_one_second_and_the_next_works() -> anyhow::Result<()> {
    let sandbox = jq_sandbox();
    let doc = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
    let forever = JqPath::compile(".spec | select(any(range(1e13); . < 0))")?;
    let started = Instant::now();
    let err = forever.paths_in(&sandbox, &doc).map_err(|e| e.to_string());
    let took = started.elapsed();
    assert_eq!(
        err,
        Err(
            "failed to run jq path expression \".spec | select(any(range(1e13); . < 0))\": \
             it did not finish within 1s"
                .to_string()
        )
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let names = JqPath::compile(r#".spec.containers[] | select(.name == "b")"#)?;
    assert_eq!(names.paths_in(&sandbox, &doc), names.paths(&doc));
    Ok(())
}

#[test]
fn a_jq_evaluation_through_the_sandbox_costs_a_round_trip() -> anyhow::Result<()> {
    let sandbox = jq_sandbox();
    let doc = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "app:1"}, {"name": "istio-proxy", "image": "proxy:1"}]}}}});
    let jq =
        JqPath::compile(r#".spec.template.spec.containers[] | select(.name == "istio-proxy")"#)?;
    let expected = jq.paths(&doc)?;
    assert_eq!(jq.paths_in(&sandbox, &doc)?, expected, "warm-up");
    let started = Instant::now();
    for _ in 0..1000 {
        assert_eq!(jq.paths_in(&sandbox, &doc)?, expected);
    }
    let sandboxed = started.elapsed();
    let started = Instant::now();
    for _ in 0..1000 {
        assert_eq!(jq.paths(&doc)?, expected);
    }
    let in_process = started.elapsed();
    eprintln!("1000 jq evaluations: {sandboxed:?} through the sandbox, {in_process:?} in-process");
    assert!(sandboxed < Duration::from_secs(30), "{sandboxed:?}");
    Ok(())
}
