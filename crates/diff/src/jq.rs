//! jq path expressions (`jqPathExpressions` of ignoreDifferences), run with jaq.
//!
//! Argo CD evaluates `del(<expr>)`. We evaluate `path(<expr>)` instead and delete the
//! paths it yields ourselves, which is what `del` does (`delpaths([path(f)])`: sort, then
//! delete from the last so that list indices stay valid), with two gains: the number of
//! paths is bounded, and the result is deleted from the `serde_json::Value` in place.
//!
//! jaq cannot be interrupted, so when the program installed a sandbox
//! ([`driftless_sandbox::installed`]) the paths are found in a worker process that is
//! killed at a deadline (Argo CD gives jq 1 s) and runs under a memory limit
//! ([`JQ_PATHS_KIND`], [`sandbox_handler`]). Compiling stays in-process, so parse and
//! compile errors come as before; without a sandbox everything runs in-process.

use crate::pointer::{Segment, remove_path};
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data};
use jaq_json::Val;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// More paths than this from one expression is treated as a runaway expression.
const MAX_PATHS: usize = 100_000;

/// The sandbox request kind that finds the paths of an expression.
pub use driftless_sandbox::JQ_PATHS_KIND;

type JqFilter = jaq_core::Filter<data::JustLut<Val>>;

/// Why a jq path expression could not be compiled or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JqError {
    #[error("failed to parse jq path expression {expr:?}: {detail}")]
    Parse { expr: String, detail: String },
    #[error("failed to compile jq path expression {expr:?}: {detail}")]
    Compile { expr: String, detail: String },
    #[error("failed to run jq path expression {expr:?}: {detail}")]
    Run { expr: String, detail: String },
    #[error("failed to run jq path expression {expr:?}: it yields more than {MAX_PATHS} paths")]
    TooManyPaths { expr: String },
    #[error("failed to run jq path expression {expr:?}: it did not finish within {limit}")]
    Deadline { expr: String, limit: String },
    #[error("failed to run jq path expression {expr:?}: {detail}")]
    Sandbox { expr: String, detail: String },
}

/// A compiled jq path expression, such as `.spec.template.spec.initContainers[] | select(.name == "x")`.
pub struct JqPath {
    expr: String,
    filter: JqFilter,
}

impl std::fmt::Debug for JqPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("JqPath").field(&self.expr).finish()
    }
}

impl JqPath {
    /// Parses and compiles `expr` with jaq's core, standard and JSON definitions.
    pub fn compile(expr: &str) -> Result<Self, JqError> {
        let program = format!("path({expr})");
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let arena = Arena::default();
        let loader = Loader::new(defs);
        let modules = loader
            .load(
                &arena,
                File {
                    code: program.as_str(),
                    path: (),
                },
            )
            .map_err(|errs| JqError::Parse {
                expr: expr.to_owned(),
                detail: describe(&errs),
            })?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errs| JqError::Compile {
                expr: expr.to_owned(),
                detail: describe(&errs),
            })?;
        Ok(Self {
            expr: expr.to_owned(),
            filter,
        })
    }

    /// The expression as written.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The paths the expression selects in `doc`, each resolved to concrete keys and indices.
    /// In the installed sandbox when there is one.
    pub fn paths(&self, doc: &Value) -> Result<Vec<Vec<Segment>>, JqError> {
        match driftless_sandbox::installed() {
            Some(sandbox) => self.paths_in(sandbox, doc),
            None => self.paths_here(doc),
        }
    }

    /// The paths, found by a worker of `sandbox`.
    pub fn paths_in(
        &self,
        sandbox: &driftless_sandbox::Sandbox,
        doc: &Value,
    ) -> Result<Vec<Vec<Segment>>, JqError> {
        let input = json!({"expr": self.expr, "value": doc});
        let mut no_callback = |_| Err("jq asks nothing of the parent".to_string());
        let answer = sandbox
            .evaluate(JQ_PATHS_KIND, input, &mut no_callback)
            .map_err(|e| match e {
                driftless_sandbox::SandboxError::Deadline { seconds, .. } => JqError::Deadline {
                    expr: self.expr.clone(),
                    limit: format!("{seconds}s"),
                },
                other => JqError::Sandbox {
                    expr: self.expr.clone(),
                    detail: other.to_string(),
                },
            })?;
        answer_from_json(&self.expr, answer)
    }

    /// The paths, found in this process.
    fn paths_here(&self, doc: &Value) -> Result<Vec<Vec<Segment>>, JqError> {
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        let mut paths = Vec::new();
        for out in self
            .filter
            .id
            .run((ctx, to_jaq(doc)))
            .map(jaq_core::unwrap_valr)
        {
            let out = out.map_err(|e| self.run_error(e.to_string()))?;
            if paths.len() == MAX_PATHS {
                return Err(JqError::TooManyPaths {
                    expr: self.expr.clone(),
                });
            }
            paths.push(self.resolve(doc, &out)?);
        }
        Ok(paths)
    }

    /// Deletes everything the expression selects, like jq's `del(expr)`.
    pub fn delete_from(&self, doc: &mut Value) -> Result<(), JqError> {
        let mut paths = self.paths(doc)?;
        paths.sort();
        paths.dedup();
        for path in paths.iter().rev() {
            remove_path(doc, path);
        }
        Ok(())
    }

    fn run_error(&self, detail: String) -> JqError {
        JqError::Run {
            expr: self.expr.clone(),
            detail,
        }
    }

    /// Turns a jq path (an array of keys and indices) into segments, resolving negative
    /// indices against the document as jq does.
    fn resolve(&self, doc: &Value, path: &Val) -> Result<Vec<Segment>, JqError> {
        let Val::Arr(items) = path else {
            return Err(self.run_error(format!("path() yielded {path}, not an array")));
        };
        let mut current = Some(doc);
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter() {
            let segment = match item {
                Val::TStr(bytes) | Val::BStr(bytes) => {
                    Segment::Key(String::from_utf8_lossy(bytes).into_owned())
                }
                Val::Num(n) => {
                    let i = n.as_isize().ok_or_else(|| {
                        self.run_error(format!("path index {item} is not an integer"))
                    })?;
                    let len = current.and_then(Value::as_array).map_or(0, Vec::len);
                    let resolved = if i < 0 {
                        len.checked_sub(i.unsigned_abs())
                    } else {
                        Some(i.unsigned_abs())
                    };
                    // An index before the start names nothing; jq ignores it too.
                    Segment::Index(resolved.unwrap_or(usize::MAX))
                }
                other => {
                    return Err(
                        self.run_error(format!("path element {other} is not a key or an index"))
                    );
                }
            };
            current = match (&segment, current) {
                (Segment::Key(k), Some(Value::Object(map))) => map.get(k.as_str()),
                (Segment::Index(i), Some(Value::Array(list))) => list.get(*i),
                _ => None,
            };
            out.push(segment);
        }
        Ok(out)
    }
}

/// The worker side of [`JQ_PATHS_KIND`]: input `{"expr", "value"}`, answer `{"paths"}`
/// (keys as strings, indices as numbers) or the expression's own error as
/// `{"run": detail}` / `{"tooManyPaths": true}`.
pub fn sandbox_handler(
    input: Value,
    _callback: &mut dyn FnMut(Value) -> Result<Value, String>,
) -> Result<Value, String> {
    let expr = input["expr"]
        .as_str()
        .ok_or("failed to read the jq request: no expression")?;
    let jq = compiled(expr).map_err(|e| e.to_string())?;
    Ok(match jq.paths_here(&input["value"]) {
        Ok(paths) => {
            let paths: Vec<Value> = paths
                .iter()
                .map(|path| {
                    path.iter()
                        .map(|segment| match segment {
                            Segment::Index(i) => json!(i),
                            Segment::Key(k) => json!(k),
                        })
                        .collect()
                })
                .collect();
            json!({"paths": paths})
        }
        Err(JqError::TooManyPaths { .. }) => json!({"tooManyPaths": true}),
        Err(other) => json!({"run": other.to_string()}),
    })
}

/// Compiled expressions a process keeps (a sandbox worker, or the controller for its ignore
/// rules, which every comparison prepares again): compiling (jaq's standard library included)
/// costs far more than a typical evaluation, and the same few expressions come again and again.
pub(crate) fn compiled(expr: &str) -> Result<Arc<JqPath>, JqError> {
    const KEEP: usize = 256;
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<JqPath>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(jq) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(expr) {
        return Ok(Arc::clone(jq));
    }
    let jq = Arc::new(JqPath::compile(expr)?);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= KEEP {
        cache.clear();
    }
    cache.insert(expr.to_owned(), Arc::clone(&jq));
    Ok(jq)
}

/// Reads [`sandbox_handler`]'s answer back into paths or the expression's error.
fn answer_from_json(expr: &str, answer: Value) -> Result<Vec<Vec<Segment>>, JqError> {
    let bad = || JqError::Sandbox {
        expr: expr.to_owned(),
        detail: format!("failed to read the worker's answer {answer}"),
    };
    if answer["tooManyPaths"] == true {
        return Err(JqError::TooManyPaths {
            expr: expr.to_owned(),
        });
    }
    if let Some(message) = answer["run"].as_str() {
        // The worker's Display of a Run error; keep only its detail.
        let prefix = format!("failed to run jq path expression {expr:?}: ");
        return Err(JqError::Run {
            expr: expr.to_owned(),
            detail: message.strip_prefix(&prefix).unwrap_or(message).to_owned(),
        });
    }
    let paths = answer["paths"].as_array().ok_or_else(bad)?;
    paths
        .iter()
        .map(|path| {
            path.as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|segment| match segment {
                    Value::String(k) => Ok(Segment::Key(k.clone())),
                    Value::Number(n) => n
                        .as_u64()
                        .and_then(|i| usize::try_from(i).ok())
                        .map(Segment::Index)
                        .ok_or_else(bad),
                    _ => Err(bad()),
                })
                .collect()
        })
        .collect()
}

fn describe<T: std::fmt::Debug>(errors: &T) -> String {
    format!("{errors:?}")
}

/// Converts a JSON value into jaq's value type.
fn to_jaq(v: &Value) -> Val {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64().and_then(|i| isize::try_from(i).ok()) {
                Val::from(i)
            } else if let Some(u) = n.as_u64().and_then(|u| usize::try_from(u).ok()) {
                Val::from(u)
            } else {
                Val::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => Val::from(s.clone()),
        Value::Array(items) => items.iter().map(to_jaq).collect(),
        Value::Object(map) => Val::obj(
            map.iter()
                .map(|(k, v)| (Val::from(k.clone()), to_jaq(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn containers() -> Value {
        json!({"spec": {"containers": [
            {"name": "app", "image": "app:1"},
            {"name": "istio-proxy", "image": "proxy:1"},
            {"name": "log", "image": "log:1"},
            {"name": "istio-proxy", "image": "proxy:2"}
        ]}})
    }

    #[test]
    fn deletes_exactly_the_selected_list_items() {
        let mut doc = containers();
        JqPath::compile(r#".spec.containers[] | select(.name == "istio-proxy")"#)
            .unwrap()
            .delete_from(&mut doc)
            .unwrap();
        assert_eq!(
            doc,
            json!({"spec": {"containers": [{"name": "app", "image": "app:1"}, {"name": "log", "image": "log:1"}]}})
        );
    }

    #[test]
    fn optional_iteration_and_negative_index_work() {
        let mut doc =
            json!({"webhooks": [{"clientConfig": {"caBundle": "x", "url": "u"}}, {"name": "n"}]});
        JqPath::compile(".webhooks[]?.clientConfig.caBundle")
            .unwrap()
            .delete_from(&mut doc)
            .unwrap();
        assert_eq!(
            doc,
            json!({"webhooks": [{"clientConfig": {"url": "u"}}, {"name": "n"}]})
        );
        let mut doc = containers();
        JqPath::compile(".spec.containers[-1]")
            .unwrap()
            .delete_from(&mut doc)
            .unwrap();
        assert_eq!(doc["spec"]["containers"].as_array().map(Vec::len), Some(3));
        assert_eq!(doc["spec"]["containers"][2]["name"], "log");
    }

    #[test]
    fn bad_expressions_fail_to_compile_and_missing_fields_fail_to_run() {
        assert!(matches!(
            JqPath::compile(".spec[ | select("),
            Err(JqError::Parse { .. })
        ));
        assert!(matches!(
            JqPath::compile("nosuchfunction(1)"),
            Err(JqError::Compile { .. })
        ));
        let jq = JqPath::compile(r#".spec.initContainers[] | select(.name == "x")"#).unwrap();
        let mut doc = json!({"spec": {}});
        assert!(matches!(jq.delete_from(&mut doc), Err(JqError::Run { .. })));
        assert_eq!(doc, json!({"spec": {}}));
    }

    #[test]
    fn the_sandbox_handler_answers_as_the_in_process_evaluation_does() {
        let doc = containers();
        for expr in [
            r#".spec.containers[] | select(.name == "istio-proxy")"#,
            ".spec.containers[-1].image",
            ".spec.initContainers[]",
            "[range(200000)] | .[]",
        ] {
            let jq = JqPath::compile(expr).unwrap();
            let input = json!({"expr": expr, "value": doc});
            let answer = sandbox_handler(input, &mut |_| Err("no".into())).unwrap();
            assert_eq!(
                answer_from_json(expr, answer),
                jq.paths_here(&doc),
                "{expr}"
            );
        }
        let err = sandbox_handler(json!({"expr": ".a[ |"}), &mut |_| Err("no".into()));
        assert!(err.is_err_and(|e| e.starts_with("failed to parse jq path expression")));
    }

    #[test]
    fn compiled_expressions_can_move_between_threads() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        send_sync(&JqPath::compile(".a").unwrap());
    }
}
