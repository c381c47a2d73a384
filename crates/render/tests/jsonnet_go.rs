//! Our Jsonnet evaluation against go-jsonnet (the library Argo CD links), run as the
//! `jsonnet` binary `hack/build-tools` builds, with the flags that stand for what Argo CD
//! sets: `-J <app path>` then `-J <lib>` per lib, `--ext-*` and `--tla-*`. For every
//! fixture both must give the same JSON, or both must fail.

use driftless_render::directory::read_repo_file;
use driftless_render::jsonnet::{evaluate, to_manifests};
use driftless_render::{DirWorkspace, JsonnetOptions, JsonnetVar};
use pretty_assertions::assert_eq;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Case {
    file: &'static str,
    app_dir: &'static str,
    options: JsonnetOptions,
    fails: bool,
}

fn var(name: &str, value: &str, code: bool) -> JsonnetVar {
    JsonnetVar {
        name: name.into(),
        value: value.into(),
        code,
    }
}

fn case(file: &'static str, app_dir: &'static str, options: JsonnetOptions) -> Case {
    Case {
        file,
        app_dir,
        options,
        fails: false,
    }
}

fn cases() -> Vec<Case> {
    let none = JsonnetOptions::default;
    let libs = || JsonnetOptions {
        libs: vec!["vendor".into(), "lib-a".into(), "/lib-b".into()],
        ext_vars: vec![var("prefix", "import 'which.libsonnet'", true)],
        ..JsonnetOptions::default()
    };
    let failing = |file, app_dir| Case {
        file,
        app_dir,
        options: JsonnetOptions::default(),
        fails: true,
    };
    vec![
        case("guestbook/guestbook-ui.jsonnet", "guestbook", none()),
        case(
            "guestbook-tla/guestbook-ui.jsonnet",
            "guestbook-tla",
            none(),
        ),
        case(
            "guestbook-tla/guestbook-ui.jsonnet",
            "guestbook-tla",
            JsonnetOptions {
                tlas: vec![
                    var("name", "guestbook", false),
                    var("replicas", "1 + 2", true),
                    var("type", "ClusterIP", false),
                ],
                ..none()
            },
        ),
        case(
            "ext-vars/config.jsonnet",
            "ext-vars",
            JsonnetOptions {
                ext_vars: vec![
                    var("env", "prod", false),
                    var("replicas", "1 + 1", true),
                    var(
                        "labels",
                        "{ team: 'web', tier: std.asciiUpper('api') }",
                        true,
                    ),
                ],
                ..none()
            },
        ),
        case("libs/app/main.jsonnet", "libs/app", libs()),
        case("libs/app/sub/inner.jsonnet", "libs/app", libs()),
        case("outputs/list.jsonnet", "outputs", none()),
        case("outputs/mixed.jsonnet", "outputs", none()),
        case("outputs/empty.jsonnet", "outputs", none()),
        case(
            "outputs-bad/nested/nested.jsonnet",
            "outputs-bad/nested",
            none(),
        ),
        case(
            "outputs-bad/scalar/scalar.jsonnet",
            "outputs-bad/scalar",
            none(),
        ),
        failing("broken/syntax/bad.jsonnet", "broken/syntax"),
        failing("broken/import/main.jsonnet", "broken/import"),
        failing("recursion/calls/forever.jsonnet", "recursion/calls"),
        failing("recursion/fields/fields.jsonnet", "recursion/fields"),
        failing("recursion/value/value.jsonnet", "recursion/value"),
    ]
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/jsonnet")
        .canonicalize()
        .expect("fixtures")
}

fn go_jsonnet() -> PathBuf {
    driftless_testkit::built_tool("jsonnet").unwrap_or_else(|| {
        panic!(
            "go-jsonnet (`jsonnet`, GO_JSONNET_VERSION in hack/versions.env) is not built: run hack/build-tools"
        )
    })
}

/// go-jsonnet's JSON for a case, or its error text.
fn run_go(binary: &Path, root: &Path, case: &Case) -> Result<Value, String> {
    let mut args: Vec<String> = vec!["-J".into(), root.join(case.app_dir).display().to_string()];
    for lib in &case.options.libs {
        args.push("-J".into());
        args.push(root.join(lib.trim_start_matches('/')).display().to_string());
    }
    for (flag, vars) in [("ext", &case.options.ext_vars), ("tla", &case.options.tlas)] {
        for v in vars {
            let kind = if v.code { "code" } else { "str" };
            args.push(format!("--{flag}-{kind}"));
            args.push(format!("{}={}", v.name, v.value));
        }
    }
    args.push(root.join(case.file).display().to_string());
    // Argo CD's working directory holds none of the files: imports from code variables
    // must come from the search path, so go-jsonnet runs in an empty directory.
    let cwd = tempfile::tempdir().expect("temp");
    let out = Command::new(binary)
        .args(&args)
        .current_dir(cwd.path())
        .output()
        .expect("go-jsonnet runs");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("go-jsonnet output: {e}"))
}

/// The objects in a Jsonnet result, as Argo CD lists them: the result or its array items
/// (no nulls), each `*List` replaced by its items.
fn listed(value: &Value) -> Vec<Value> {
    let items = match value {
        Value::Array(items) => items.iter().filter(|v| !v.is_null()).cloned().collect(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    };
    items
        .into_iter()
        .flat_map(|item| {
            let is_list = item["kind"].as_str().is_some_and(|k| k.ends_with("List"));
            match (is_list, item.get("items")) {
                (true, Some(Value::Array(inner))) => inner.clone(),
                _ => vec![item],
            }
        })
        .collect()
}

#[test]
fn every_fixture_evaluates_as_go_jsonnet_does() {
    let binary = go_jsonnet();
    let root = fixtures();
    let mut compared = 0;
    for case in cases() {
        let go = run_go(&binary, &root, &case);
        let mut ws = DirWorkspace::new(&root);
        let mut read = |path: &str| read_repo_file(&mut ws, &root, path);
        let ours = evaluate(case.file, case.app_dir, &case.options, &mut read);
        if case.fails {
            assert!(go.is_err(), "go-jsonnet evaluated {}: {go:?}", case.file);
            assert!(ours.is_err(), "we evaluated {}: {ours:?}", case.file);
            compared += 1;
            continue;
        }
        let go = go.unwrap_or_else(|e| panic!("go-jsonnet failed on {}: {e}", case.file));
        let ours = ours.unwrap_or_else(|e| panic!("we failed on {}: {e}", case.file));
        assert_eq!(ours, go, "{}", case.file);
        // Where Argo CD takes objects from the output, ours are the same objects.
        if let Ok(manifests) = to_manifests(case.file, ours) {
            let objects: Vec<Value> = manifests.into_iter().map(|m| m.object).collect();
            assert_eq!(objects, listed(&go), "objects of {}", case.file);
        }
        compared += 1;
    }
    assert_eq!(compared, cases().len());
}
