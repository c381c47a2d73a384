//! Evaluation of the fixture repository `testdata/jsonnet`: what each file renders to,
//! and the errors a user must see (with the file named) for bad or hostile files.

use super::*;
use crate::directory::read_repo_file;
use crate::workspace::DirWorkspace;
use pretty_assertions::assert_eq;
use serde_json::json;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/jsonnet")
}

fn eval_in(
    root: &Path,
    file: &str,
    app_dir: &str,
    options: &JsonnetOptions,
) -> Result<Value, JsonnetError> {
    let real = root.canonicalize().expect("fixture root");
    let mut ws = DirWorkspace::new(&real);
    let mut read = |path: &str| read_repo_file(&mut ws, &real, path);
    evaluate(file, app_dir, options, &mut read)
}

fn objects(file: &str, app_dir: &str, options: &JsonnetOptions) -> Vec<Value> {
    let value = eval_in(&fixtures(), file, app_dir, options).expect("evaluates");
    to_manifests(file, value)
        .expect("objects")
        .into_iter()
        .map(|m| m.object)
        .collect()
}

fn error(file: &str, app_dir: &str, options: &JsonnetOptions) -> String {
    match eval_in(&fixtures(), file, app_dir, options) {
        Ok(value) => match to_manifests(file, value) {
            Ok(objects) => panic!("{file} rendered {objects:?}, expected an error"),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

fn var(name: &str, value: &str, code: bool) -> JsonnetVar {
    JsonnetVar {
        name: name.into(),
        value: value.into(),
        code,
    }
}

fn names(objects: &[Value]) -> Vec<&str> {
    objects
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap_or(""))
        .collect()
}

#[test]
fn guestbook_renders_a_service_and_a_deployment_from_its_params() {
    let objects = objects(
        "guestbook/guestbook-ui.jsonnet",
        "guestbook",
        &JsonnetOptions::default(),
    );
    let labels = json!({"app": "jsonnet-guestbook-ui"});
    assert_eq!(
        objects,
        vec![
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "jsonnet-guestbook-ui"},
                "spec": {
                    "ports": [{"port": 80, "targetPort": 80}],
                    "selector": labels,
                    "type": "LoadBalancer"
                }
            }),
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "jsonnet-guestbook-ui"},
                "spec": {
                    "replicas": 1,
                    "revisionHistoryLimit": 3,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{
                            "image": "gcr.io/heptio-images/ks-guestbook-demo:0.2",
                            "name": "jsonnet-guestbook-ui",
                            "ports": [{"containerPort": 80}]
                        }]}
                    }
                }
            }),
        ]
    );
}

#[test]
fn top_level_arguments_are_strings_or_code_and_defaults_fill_the_rest() {
    let file = "guestbook-tla/guestbook-ui.jsonnet";
    let options = JsonnetOptions {
        tlas: vec![
            var("name", "guestbook", false),
            var("replicas", "1 + 2", true),
            var("type", "ClusterIP", false),
            // A repeated name: the last one counts, as when Argo CD sets them one by one.
            var("type", "NodePort", false),
        ],
        ..JsonnetOptions::default()
    };
    let objects = objects(file, "guestbook-tla", &options);
    assert_eq!(names(&objects), ["guestbook", "guestbook"]);
    assert_eq!(objects[0]["spec"]["type"], "NodePort");
    assert_eq!(objects[1]["spec"]["replicas"], 3);
    assert_eq!(
        objects[1]["spec"]["template"]["spec"]["containers"][0]["image"],
        "gcr.io/heptio-images/ks-guestbook-demo:0.2"
    );

    let defaults = self::objects(file, "guestbook-tla", &JsonnetOptions::default());
    assert_eq!(
        names(&defaults),
        ["jsonnet-guestbook-ui", "jsonnet-guestbook-ui"]
    );
    assert_eq!(defaults[1]["spec"]["replicas"], 1);

    let unknown = JsonnetOptions {
        tlas: vec![var("colour", "red", false)],
        ..JsonnetOptions::default()
    };
    let message = error(file, "guestbook-tla", &unknown);
    assert!(
        message.starts_with("failed to evaluate guestbook-tla/guestbook-ui.jsonnet"),
        "{message}"
    );
    assert!(message.contains("colour"), "{message}");
}

#[test]
fn top_level_arguments_are_ignored_when_the_file_is_not_a_function() {
    let options = JsonnetOptions {
        tlas: vec![var("name", "ignored", false)],
        ..JsonnetOptions::default()
    };
    assert_eq!(
        objects("guestbook/guestbook-ui.jsonnet", "guestbook", &options),
        objects(
            "guestbook/guestbook-ui.jsonnet",
            "guestbook",
            &JsonnetOptions::default()
        )
    );
}

#[test]
fn external_variables_are_strings_or_code() {
    let options = JsonnetOptions {
        ext_vars: vec![
            var("env", "prod", false),
            var("replicas", "1 + 1", true),
            var(
                "labels",
                "{ team: 'web', tier: std.asciiUpper('api') }",
                true,
            ),
        ],
        ..JsonnetOptions::default()
    };
    let objects = objects("ext-vars/config.jsonnet", "ext-vars", &options);
    assert_eq!(objects.len(), 1);
    let deployment = &objects[0];
    assert_eq!(deployment["metadata"]["name"], "api-prod");
    assert_eq!(
        deployment["metadata"]["labels"],
        json!({"team": "web", "tier": "API"})
    );
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "api:prod"
    );

    // The same text as a string stays a string.
    let as_string = JsonnetOptions {
        ext_vars: vec![
            var("env", "prod", false),
            var("replicas", "2", false),
            var("labels", "{}", true),
        ],
        ..JsonnetOptions::default()
    };
    assert_eq!(
        self::objects("ext-vars/config.jsonnet", "ext-vars", &as_string)[0]["spec"]["replicas"],
        "2"
    );
}

#[test]
fn a_missing_external_variable_or_bad_code_is_an_error_naming_the_file() {
    let missing = error(
        "ext-vars/config.jsonnet",
        "ext-vars",
        &JsonnetOptions::default(),
    );
    assert!(
        missing.starts_with("failed to evaluate ext-vars/config.jsonnet"),
        "{missing}"
    );
    assert!(missing.contains("undefined external variable"), "{missing}");

    let bad_code = JsonnetOptions {
        ext_vars: vec![
            var("env", "prod", false),
            var("replicas", "1 +", true),
            var("labels", "{}", true),
        ],
        ..JsonnetOptions::default()
    };
    let message = error("ext-vars/config.jsonnet", "ext-vars", &bad_code);
    assert!(
        message.starts_with("failed to evaluate ext-vars/config.jsonnet"),
        "{message}"
    );
    assert!(message.contains("<extvar:replicas>"), "{message}");
}

fn libs(list: &[&str]) -> JsonnetOptions {
    JsonnetOptions {
        libs: list.iter().map(|s| s.to_string()).collect(),
        // Code variables import through the search path too.
        ext_vars: vec![var("prefix", "import 'which.libsonnet'", true)],
        ..JsonnetOptions::default()
    }
}

#[test]
fn libs_are_searched_from_the_repository_root_last_first_then_the_app_path() {
    let objects = objects(
        "libs/app/main.jsonnet",
        "libs/app",
        &libs(&["vendor", "lib-a", "/lib-b"]),
    );
    assert_eq!(
        objects,
        vec![json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "from-libs"},
            "data": {
                "which": "lib-b",
                "near": "next to the app",
                "motd": "served from vendor\n",
                "prefix": "lib-b"
            }
        })]
    );
    let reversed = self::objects(
        "libs/app/main.jsonnet",
        "libs/app",
        &libs(&["lib-b", "lib-a", "vendor"]),
    );
    assert_eq!(reversed[0]["data"]["which"], "lib-a");

    let inner = self::objects("libs/app/sub/inner.jsonnet", "libs/app", &libs(&["vendor"]));
    assert_eq!(inner[0]["data"]["near"], "next to the app");
}

#[test]
fn an_import_found_nowhere_is_an_error_naming_both_files() {
    let message = error("libs/app/main.jsonnet", "libs/app", &libs(&[]));
    assert!(
        message.starts_with("failed to evaluate libs/app/main.jsonnet"),
        "{message}"
    );
    assert!(
        message.contains("failed to import \"k.libsonnet\""),
        "{message}"
    );
    assert!(message.contains("libs/app/main.jsonnet:3:"), "{message}");
}

#[test]
fn results_become_objects_as_argo_cd_takes_them() {
    let none = JsonnetOptions::default();
    assert_eq!(
        names(&objects("outputs/list.jsonnet", "outputs", &none)),
        ["list-a", "list-b"]
    );
    assert_eq!(
        objects("outputs/empty.jsonnet", "outputs", &none),
        Vec::<Value>::new()
    );
    let mixed = objects("outputs/mixed.jsonnet", "outputs", &none);
    assert_eq!(names(&mixed), ["mixed-a", "mixed-b", "numbers"]);
    assert_eq!(mixed[0].get("helper"), None, "hidden fields are not output");
    assert_eq!(
        mixed[2]["spec"],
        json!({
            "big": 1e20,
            "negative": -3,
            "tenth": 0.1,
            "text": "2.5",
            "third": 1.0 / 3.0,
            "whole": 3
        })
    );
}

#[test]
fn a_result_that_is_not_objects_is_an_error_naming_the_file() {
    let none = JsonnetOptions::default();
    let nested = error(
        "outputs-bad/nested/nested.jsonnet",
        "outputs-bad/nested",
        &none,
    );
    assert_eq!(
        nested,
        "failed to read the result of outputs-bad/nested/nested.jsonnet: item 0 is an array, not an object"
    );
    let scalar = error(
        "outputs-bad/scalar/scalar.jsonnet",
        "outputs-bad/scalar",
        &none,
    );
    assert_eq!(
        scalar,
        "failed to read the result of outputs-bad/scalar/scalar.jsonnet: it is a string, not an object or an array of objects"
    );
}

#[test]
fn imports_cannot_leave_the_repository() {
    let none = JsonnetOptions::default();
    let up = error("escape/up/up.jsonnet", "escape/up", &none);
    assert!(
        up.starts_with("failed to evaluate escape/up/up.jsonnet"),
        "{up}"
    );
    assert!(up.contains("resolves outside the repository"), "{up}");
    assert!(!up.contains("root:"), "nothing of /etc/passwd: {up}");

    let absolute = error("escape/abs/abs.jsonnet", "escape/abs", &none);
    assert!(
        absolute.contains("absolute path, outside the repository"),
        "{absolute}"
    );

    let lib = error(
        "escape/lib/lib.jsonnet",
        "escape/lib",
        &JsonnetOptions {
            libs: vec!["../../..".into()],
            ..none
        },
    );
    assert_eq!(
        lib,
        "failed to evaluate escape/lib/lib.jsonnet: jsonnet lib \"../../..\" resolves outside the repository"
    );
}

#[test]
fn a_symlink_out_of_the_repository_cannot_be_imported() {
    let repo = tempfile::tempdir().expect("temp");
    let outside = tempfile::tempdir().expect("temp");
    std::fs::write(outside.path().join("secret.txt"), "top secret").expect("write");
    std::fs::create_dir_all(repo.path().join("app")).expect("mkdir");
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        repo.path().join("app/secret.txt"),
    )
    .expect("symlink");
    std::fs::write(
        repo.path().join("app/leak.jsonnet"),
        "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: importstr 'secret.txt' } }",
    )
    .expect("write");
    let message = eval_in(
        repo.path(),
        "app/leak.jsonnet",
        "app",
        &JsonnetOptions::default(),
    )
    .expect_err("leaves the repository")
    .to_string();
    assert!(
        message.starts_with("failed to evaluate app/leak.jsonnet"),
        "{message}"
    );
    assert!(
        message.contains("symlink that leaves the repository"),
        "{message}"
    );
    assert!(!message.contains("top secret"), "{message}");
}

#[test]
fn syntax_errors_name_the_file_and_line() {
    let none = JsonnetOptions::default();
    let message = error("broken/syntax/bad.jsonnet", "broken/syntax", &none);
    assert!(
        message.starts_with("failed to parse broken/syntax/bad.jsonnet: syntax error"),
        "{message}"
    );
    assert!(
        message.contains("at broken/syntax/bad.jsonnet:4:"),
        "{message}"
    );

    let imported = error("broken/import/main.jsonnet", "broken/import", &none);
    assert!(
        imported.starts_with("failed to evaluate broken/import/main.jsonnet"),
        "{imported}"
    );
    assert!(
        imported.contains("broken/import/broken.libsonnet:"),
        "{imported}"
    );
}

#[test]
fn recursion_that_never_ends_is_an_error_not_a_hang() {
    let none = JsonnetOptions::default();
    let calls = error("recursion/calls/forever.jsonnet", "recursion/calls", &none);
    assert!(
        calls.starts_with(
            "failed to evaluate recursion/calls/forever.jsonnet: max stack frames exceeded"
        ),
        "{calls}"
    );
    for (file, dir) in [
        ("recursion/fields/fields.jsonnet", "recursion/fields"),
        ("recursion/value/value.jsonnet", "recursion/value"),
    ] {
        let message = error(file, dir, &none);
        assert!(
            message.starts_with(&format!("failed to evaluate {file}:")),
            "{message}"
        );
    }
}

#[test]
fn deeply_nested_input_is_an_error_not_a_crash() {
    let repo = tempfile::tempdir().expect("temp");
    let depth = 50_000;
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    std::fs::write(repo.path().join("deep.jsonnet"), text).expect("write");
    let outcome = eval_in(repo.path(), "deep.jsonnet", "", &JsonnetOptions::default())
        .and_then(|value| to_manifests("deep.jsonnet", value));
    let message = outcome.expect_err("too deep to be objects").to_string();
    assert!(message.contains("deep.jsonnet"), "{message}");
}
