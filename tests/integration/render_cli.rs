//! `driftless render` from the command line: sorted output, and the exit codes and messages
//! of bad input (2 for usage errors, 1 for render errors). No cluster needed.

use crate::cli::{expect_exit, stderr, stdout};
use driftless_source::testing::ScratchRepo;
use std::process::Command;

fn render(
    app_file: &std::path::Path,
    extra: &[&str],
    cache: &std::path::Path,
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_driftless"))
        .arg("render")
        .arg("-f")
        .arg(app_file)
        .args(extra)
        .env("DRIFTLESS_CACHE", cache)
        .output()
        .expect("failed to run driftless")
}

fn app_yaml(url: &str, revision: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: demo, namespace: argocd}}\n\
             spec:\n  project: default\n  source: {{repoURL: '{url}', targetRevision: {revision}, path: app}}\n\
             \x20 destination: {{server: 'https://kubernetes.default.svc', namespace: demo}}\n"
    )
}

#[test]
fn render_prints_sorted_objects_with_the_destination_namespace() -> anyhow::Result<()> {
    let repo = ScratchRepo::new();
    repo.write("app/b.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: zeta}\nspec: {ports: [{port: 80}]}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: beta}\n");
    repo.write("app/a.json", r#"{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"}}"#);
    repo.commit("manifests");
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("app.yaml");
    std::fs::write(&file, app_yaml(&repo.file_url(), "HEAD"))?;
    let out = render(&file, &["-o", "json"], &dir.path().join("cache"));
    expect_exit(&out, 0, "render");
    let list: serde_json::Value = serde_json::from_str(&stdout(&out))?;
    let items = list["items"].as_array().expect("a List");
    let keys: Vec<String> = items
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        keys,
        ["ConfigMap/beta", "Service/zeta", "ClusterRole/reader"],
        "sorted by group, kind, namespace, name"
    );
    assert_eq!(items[0]["metadata"]["namespace"], "demo");
    assert!(
        items[2]["metadata"].get("namespace").is_none(),
        "cluster-scoped objects get no namespace"
    );
    Ok(())
}

#[test]
fn bad_input_gets_a_clear_error_and_the_right_exit_code() -> anyhow::Result<()> {
    let repo = ScratchRepo::new();
    repo.write(
        "app/ok.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n",
    );
    repo.write(
        "app/bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n  labels: [unclosed\n",
    );
    repo.commit("one good, one broken");
    let dir = tempfile::tempdir()?;
    let cache = dir.path().join("cache");
    let file = dir.path().join("app.yaml");

    std::fs::write(&file, app_yaml(&repo.file_url(), "HEAD"))?;
    let out = render(&file, &[], &cache);
    expect_exit(&out, 1, "malformed YAML");
    let err = stderr(&out);
    assert!(
        err.contains("demo") && err.contains("bad.yaml") && err.contains("line"),
        "names app, file and line: {err}"
    );

    std::fs::write(&file, app_yaml(&repo.file_url(), "no-such-branch"))?;
    let out = render(&file, &[], &cache);
    expect_exit(&out, 1, "unknown revision");
    assert!(
        stderr(&out).contains("no-such-branch"),
        "names the revision: {}",
        stderr(&out)
    );

    let out = render(&dir.path().join("missing.yaml"), &[], &cache);
    expect_exit(&out, 2, "missing Application file");
    std::fs::write(&file, "kind: [not an application\n")?;
    expect_exit(&render(&file, &[], &cache), 2, "invalid Application file");
    Ok(())
}
