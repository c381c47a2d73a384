//! `driftless check` and `driftless route` over App-of-Apps trees in testdata/check/, run as a
//! user runs them: the built binary, real helm, no cluster.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/check")
        .join(name)
}

/// helm from `DRIFTLESS_HELM`, `PATH`, or the cache `hack/build-tools` builds into.
fn find_helm() -> Option<PathBuf> {
    driftless_render::Tools::discover()
        .helm
        .or_else(driftless_testkit::built_helm)
}

/// The trees with charts need the real tool: without it their tests fail and say how to get it.
fn require_helm() {
    assert!(
        find_helm().is_some(),
        "helm not found: set DRIFTLESS_HELM, put helm on PATH, or run hack/build-tools"
    );
}

fn driftless(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_driftless"));
    command.args(args);
    if let Some(helm) = find_helm() {
        command.env("DRIFTLESS_HELM", helm);
    }
    command.output().expect("driftless starts")
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("fixture paths are UTF-8")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `check --format json` and returns the exit code and the findings.
fn check_json(extra: &[&str]) -> (Option<i32>, Vec<Value>) {
    let mut args = vec!["check", "--format", "json"];
    args.extend_from_slice(extra);
    let out = driftless(&args);
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a JSON array ({e}): {}\nstderr: {}",
            stdout(&out),
            stderr(&out)
        )
    });
    (out.status.code(), findings)
}

/// (rule, severity, app, object) of each finding, sorted.
fn identities(findings: &[Value]) -> Vec<(String, String, String, String)> {
    let text = |f: &Value, k: &str| f[k].as_str().unwrap_or_default().to_string();
    let mut ids: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                text(f, "rule"),
                text(f, "severity"),
                text(f, "app"),
                text(f, "object"),
            )
        })
        .collect();
    ids.sort();
    ids
}

fn id(rule: &str, severity: &str, app: &str, object: &str) -> (String, String, String, String) {
    (rule.into(), severity.into(), app.into(), object.into())
}

#[test]
fn passing_tree_renders_every_app_and_has_no_findings() {
    require_helm();
    let dir = fixture("passing");
    let (code, findings) = check_json(&[path_arg(&dir)]);
    assert_eq!(findings, Vec::<Value>::new());
    assert_eq!(code, Some(0));

    // root renders itself and two children (one directory, one helm chart); the self-managed
    // root is not rendered again.
    let out = driftless(&["check", path_arg(&dir)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "0 findings (0 errors, 0 warnings) in 3 apps, 11 objects"
    );
}

#[test]
fn failing_tree_reports_the_unreachable_route_and_the_root_container_as_json() {
    let (code, findings) = check_json(&[path_arg(&fixture("failing"))]);
    assert_eq!(
        identities(&findings),
        [
            id(
                "run-as-non-root",
                "error",
                "shop",
                "apps/Deployment/shop/shop-api"
            ),
            id(
                "virtualservice-unreachable-route",
                "error",
                "shop",
                "networking.istio.io/VirtualService/shop/shop"
            ),
        ]
    );
    assert_eq!(code, Some(1), "an error finding exits 1");
    for finding in &findings {
        let keys: Vec<&str> = finding
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            ["rule", "severity", "app", "object", "path", "message"]
        );
    }
    // Its only match is covered by /api: one finding for the whole route.
    let unreachable = findings
        .iter()
        .find(|f| f["rule"] == "virtualservice-unreachable-route");
    assert_eq!(
        unreachable.map(|f| f["path"].clone()),
        Some("/spec/http/1".into())
    );
}

#[test]
fn text_format_prints_one_line_per_finding_and_a_summary() {
    let out = driftless(&["check", path_arg(&fixture("failing"))]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with(
            "error run-as-non-root shop apps/Deployment/shop/shop-api /spec/template/spec/containers/0/securityContext/runAsNonRoot: "
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(
            "error virtualservice-unreachable-route shop networking.istio.io/VirtualService/shop/shop /spec/http/1: "
        ),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        "2 findings (2 errors, 0 warnings) in 2 apps, 6 objects"
    );
}

#[test]
fn random_value_in_a_chart_is_a_volatile_field_with_the_ignore_differences_entry() {
    require_helm();
    let (code, findings) = check_json(&[path_arg(&fixture("volatile"))]);
    assert_eq!(
        identities(&findings),
        [id(
            "volatile-field",
            "error",
            "session",
            "apps/Deployment/session/session"
        )]
    );
    assert_eq!(code, Some(1));
    let finding = &findings[0];
    assert_eq!(
        finding["path"],
        "/spec/template/metadata/annotations/rollme"
    );
    let message = finding["message"].as_str().unwrap_or_default();
    let entry = "- group: apps\n  kind: Deployment\n  name: session\n  namespace: session\n  jsonPointers:\n  - /spec/template/metadata/annotations/rollme";
    assert!(
        message.contains(entry),
        "the message carries the ignoreDifferences entry:\n{message}"
    );
}

#[test]
fn waiver_silences_only_the_rule_it_names() {
    let dir = fixture("failing");
    let root = dir.join("bootstrap/waived-root.yaml");
    let (code, findings) = check_json(&[path_arg(&dir), "--root", path_arg(&root)]);
    assert_eq!(
        identities(&findings),
        [id(
            "virtualservice-unreachable-route",
            "error",
            "shop",
            "networking.istio.io/VirtualService/shop/shop"
        )]
    );
    assert_eq!(code, Some(1), "the unwaived unreachable route is an error");
}

#[test]
fn broken_child_makes_the_tree_unrenderable() {
    let out = driftless(&["check", "--format", "json", path_arg(&fixture("broken"))]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("failed to render app bad (child of app root)"),
        "{err}"
    );
    assert!(
        err.contains("components/bad/configmap.yaml at line 7"),
        "{err}"
    );
    assert_eq!(
        stdout(&out),
        "",
        "no findings are printed for a tree that did not render"
    );
}

#[test]
fn missing_root_is_exit_2_and_says_how_to_give_one() {
    let empty = tempfile::tempdir().expect("temp dir");
    let out = driftless(&["check", path_arg(empty.path())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("pass --root FILE"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn repo_map_resolves_each_repository_to_its_directory() {
    let platform = fixture("multi-repo/platform");
    let out = driftless(&["check", path_arg(&platform)]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "without the map, the config repo is looked for in the platform checkout"
    );
    assert!(stderr(&out).contains("app settings"), "{}", stderr(&out));

    let map = fixture("multi-repo/repos.yaml");
    let out = driftless(&["check", path_arg(&platform), "--repo-map", path_arg(&map)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "0 findings (0 errors, 0 warnings) in 2 apps, 2 objects"
    );
}

#[test]
fn route_names_the_destination_and_explains_the_choice() {
    require_helm();
    let dir = fixture("passing");
    let out = driftless(&[
        "route",
        "--host",
        "web.example.internal",
        "--path",
        "/api/orders",
        path_arg(&dir),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("destination: api.api.svc.cluster.local:8080 (100%) → /Service/api/api\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "route: networking.istio.io/VirtualService/web/web http[0] match[0] (app web)"
        ),
        "{text}"
    );
    assert!(text.contains("uri prefix \"/api/\"): taken"), "{text}");

    let out = driftless(&[
        "route",
        "--host",
        "web.example.internal",
        "--path",
        "/apiary",
        "--format",
        "json",
        path_arg(&dir),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let result: Value = serde_json::from_slice(&out.stdout).expect("route JSON");
    assert_eq!(result["action"]["kind"], "forward");
    assert_eq!(result["action"]["destinations"][0]["host"], "web");
    assert_eq!(
        result["action"]["destinations"][0]["resolves_to"],
        "/Service/web/web"
    );
    assert_eq!(result["http_index"], 1);
}

#[test]
fn route_exits_1_when_nothing_takes_the_request() {
    require_helm();
    let out = driftless(&[
        "route",
        "--host",
        "nobody.example.internal",
        path_arg(&fixture("passing")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("no route: Istio answers 404\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn every_rule_is_listed_and_documented_in_the_readme() {
    let out = driftless(&["check", "--list-rules", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let rules: Vec<Value> = serde_json::from_slice(&out.stdout).expect("rules JSON");
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["rule"].as_str()).collect();
    assert!(
        ids.contains(&"volatile-field") && ids.contains(&"run-as-non-root"),
        "{ids:?}"
    );
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README");
    let section = readme
        .split("## Guard rules")
        .nth(1)
        .expect("README has a Guard rules section");
    for rule in &rules {
        let row = format!(
            "| `{}` | {} |",
            rule["rule"].as_str().unwrap_or_default(),
            rule["severity"].as_str().unwrap_or_default()
        );
        assert!(section.contains(&row), "README lacks the row for {row}");
    }
}

#[test]
fn application_sets_are_expanded_from_the_checkout_and_their_apps_checked() {
    let out = driftless(&["check", path_arg(&fixture("appset"))]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("error run-as-non-root team-beta apps/Deployment/beta/beta-api "),
        "the git directories generator made team-beta, rendered into namespace beta: {}",
        lines[0]
    );
    // root, team-alpha and team-beta; the pull-request set cannot run offline.
    assert_eq!(
        lines[1],
        "1 finding (1 error, 0 warnings) in 3 apps, 6 objects"
    );
    let err = stderr(&out);
    assert!(
        err.contains("ApplicationSet previews (child of app root) is not expanded: its pullRequest generator cannot run offline"),
        "{err}"
    );
}
