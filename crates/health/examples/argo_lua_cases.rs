//! Measures how many of Argo CD's own Lua health test cases our Lua engine passes.
//!
//! Argo CD ships `resource_customizations/<group>/<kind>/health.lua` with a `health_test.yaml`
//! beside it (`tests: [{healthStatus: {status, message}, inputPath: testdata/x.yaml}]`); a `_`
//! in a directory name is a `*` wildcard. Every script of the tree is configured at once, as a
//! user's `resource.customizations` would be (`CustomChecks::with_script`), and each case's
//! object is evaluated the way the controller does: the script is chosen by the object's own
//! group and kind, exact key first, as Argo CD's test harness does too.
//!
//! A figure to watch, not a test: it exits 0 whatever the count, and non-zero only when the
//! tree cannot be read.
//!
//! cargo run --release -p driftless-health --example argo_lua_cases -- DIR [--builtin]
//!
//! `--builtin` judges the same cases by our built-in checks instead (no Lua), to see where
//! they and Argo CD's bundled scripts disagree. `make lua-compat` fetches the tree.

use driftless_health::{CustomChecks, HealthStatus, health_of};
use driftless_model::GroupKind;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
enum CaseError {
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to parse {path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_norway::Error,
    },
    #[error("failed to parse {path}: it holds no YAML document")]
    Empty { path: PathBuf },
}

/// `{status, message}`; both empty means no health, as Argo CD's empty `HealthStatus`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Health {
    status: String,
    message: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Judge {
    Lua,
    Builtin,
}

#[derive(Default)]
struct Tally {
    cases: usize,
    passed: usize,
    /// `health_test.yaml` files that could not be read: their cases are not counted.
    unreadable: usize,
    /// One entry per failed case, or per test file that could not be read.
    failures: Vec<String>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let judge = if args.iter().any(|a| a == "--builtin") {
        Judge::Builtin
    } else {
        Judge::Lua
    };
    let Some(root) = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
    else {
        eprintln!("usage: argo_lua_cases RESOURCE_CUSTOMIZATIONS_DIR [--builtin]");
        return ExitCode::from(2);
    };
    let (dirs, checks) = match load_scripts(&root) {
        Ok((dirs, _)) if dirs.is_empty() => {
            eprintln!("no health.lua under {}", root.display());
            return ExitCode::FAILURE;
        }
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let mut tally = Tally::default();
    for dir in &dirs {
        let name = dir.strip_prefix(&root).unwrap_or(dir).display().to_string();
        let judge = match judge {
            Judge::Lua => Some(&checks),
            Judge::Builtin => None,
        };
        if let Err(error) = run_cases(&name, dir, judge, &mut tally) {
            tally.unreadable += 1;
            tally.failures.push(format!("{name}: {error}"));
        }
    }
    for failure in &tally.failures {
        println!("FAIL {failure}");
    }
    let judged_by = match judge {
        Judge::Lua => "our Lua engine",
        Judge::Builtin => "our built-in checks",
    };
    println!(
        "{} health scripts, {} cases judged by {judged_by}: {} passed, {} failed",
        dirs.len(),
        tally.cases,
        tally.passed,
        tally.cases - tally.passed
    );
    if tally.unreadable > 0 {
        println!("{} test files could not be read", tally.unreadable);
    }
    ExitCode::SUCCESS
}

/// The directories holding a `health.lua` (sorted, so the output is stable), and all their
/// scripts as custom checks keyed `<group>/<kind>` with `_` read as `*`, as Argo CD does.
fn load_scripts(root: &Path) -> Result<(Vec<PathBuf>, CustomChecks), CaseError> {
    let mut dirs = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let read_error = |source| CaseError::Read {
            path: dir.clone(),
            source,
        };
        for entry in std::fs::read_dir(&dir).map_err(read_error)? {
            let path = entry.map_err(read_error)?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.file_name().is_some_and(|n| n == "health.lua") {
                dirs.push(dir.clone());
            }
        }
    }
    dirs.sort();
    let mut checks = CustomChecks::new();
    for dir in &dirs {
        let key = dir.strip_prefix(root).unwrap_or(dir).to_string_lossy();
        let key = key.replace('_', "*");
        // Core kinds sit at `<Kind>/health.lua`, others at `<group>/<Kind>/health.lua`.
        let (group, kind) = key.rsplit_once('/').unwrap_or(("", key.as_str()));
        checks = checks.with_script(group, kind, read(&dir.join("health.lua"))?);
    }
    Ok((dirs, checks))
}

/// Runs the cases of `dir/health_test.yaml`; `checks` None means by the built-in checks.
fn run_cases(
    name: &str,
    dir: &Path,
    checks: Option<&CustomChecks>,
    tally: &mut Tally,
) -> Result<(), CaseError> {
    let tests_path = dir.join("health_test.yaml");
    let tests = first_document(&tests_path, &read(&tests_path)?)?;
    for case in tests
        .get("tests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        tally.cases += 1;
        let input_path = field(case, "inputPath")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let input = dir.join(input_path);
        let got = match read(&input).and_then(|text| first_document(&input, &text)) {
            Ok(obj) => evaluate(&obj, checks),
            Err(error) => {
                tally.failures.push(format!("{name}/{input_path}: {error}"));
                continue;
            }
        };
        let expected = field(case, "healthStatus").map_or_else(Health::default, |h| Health {
            status: text_field(h, "status"),
            message: text_field(h, "message"),
        });
        if got == expected {
            tally.passed += 1;
        } else {
            tally.failures.push(format!(
                "{name}/{input_path}\n  expected {}\n  got      {}",
                describe(&expected),
                describe(&got)
            ));
        }
    }
    Ok(())
}

/// The health the object gets; no health is the empty pair.
fn evaluate(obj: &Value, checks: Option<&CustomChecks>) -> Health {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let group = GroupKind::group_of_api_version(api_version);
    let status: Option<HealthStatus> = match checks {
        // Argo CD's harness runs the script alone, without the deletion rule before it.
        Some(checks) => checks.evaluate(obj, group, kind),
        None => health_of(obj, &CustomChecks::new()),
    };
    status.map_or_else(Health::default, |s| Health {
        status: s.status.to_string(),
        message: s.message,
    })
}

/// A field matched case-insensitively, as Go's `encoding/json` (behind `sigs.k8s.io/yaml`)
/// matches struct fields: Argo CD's own test files rely on it (`inputpath:`).
fn field<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    let fields = obj.as_object()?;
    fields.get(name).or_else(|| {
        fields
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

fn text_field(obj: &Value, name: &str) -> String {
    field(obj, name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn describe(health: &Health) -> String {
    if health.status.is_empty() && health.message.is_empty() {
        return "no health".to_string();
    }
    format!("{} {:?}", health.status, health.message)
}

fn read(path: &Path) -> Result<String, CaseError> {
    std::fs::read_to_string(path).map_err(|source| CaseError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The first YAML document of a file, as `sigs.k8s.io/yaml` reads only the first.
fn first_document(path: &Path, text: &str) -> Result<Value, CaseError> {
    let parse_error = |source| CaseError::Parse {
        path: path.to_path_buf(),
        source,
    };
    let first = serde_norway::Deserializer::from_str(text)
        .next()
        .ok_or_else(|| CaseError::Empty {
            path: path.to_path_buf(),
        })?;
    Value::deserialize(first).map_err(parse_error)
}
