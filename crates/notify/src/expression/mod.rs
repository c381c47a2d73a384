//! Trigger conditions (`when`) and `oncePer` values: expr-lang expressions over `app`, the
//! Application as a map, evaluated by the `expr-lang` crate.
//!
//! Argo CD hands its expressions Go helpers (`time.Now()`, `time.Parse(s)`, `time.Minute`,
//! `strings.ToUpper(s)` …); before compiling, each one is rewritten into the expr-lang builtin
//! that does the same (`time.Parse(s)` → `date(s)`, `time.Minute` → `duration("1m")`, …), and
//! the expression is checked against the subset this crate supports: every function called
//! must be in [`FUNCTIONS`], every method in [`METHODS`], and the only top-level name is `app`
//! (besides `let` bindings and predicates' `#`). Anything else is an
//! [`ExpressionError::Unsupported`] naming what is not supported, found before the
//! expression ever runs. The clock is an input ([`Expression::eval`] takes `now`), so
//! time-based conditions are testable.

mod translate;

pub use translate::{FUNCTIONS, METHODS};

use expr::{Context, Program, Value};
use jiff::Timestamp;
use std::panic::{AssertUnwindSafe, catch_unwind};
use translate::{NOW, translate};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpressionError {
    #[error("failed to read expression {expression:?}: {reason} (see the supported subset)")]
    Unsupported { expression: String, reason: String },
    #[error("failed to parse expression {expression:?}: {message}")]
    Parse { expression: String, message: String },
    #[error("failed to evaluate expression {expression:?}: {message}")]
    Evaluate { expression: String, message: String },
}

/// A compiled expression.
pub struct Expression {
    source: String,
    program: Program,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Expression").field(&self.source).finish()
    }
}

impl Expression {
    /// Checks `source` against the supported subset and compiles it.
    pub fn compile(source: &str) -> Result<Self, ExpressionError> {
        let translated = translate(source).map_err(|reason| ExpressionError::Unsupported {
            expression: source.to_string(),
            reason,
        })?;
        let compiled = catch_unwind(|| expr::compile(&translated));
        let program = match compiled {
            Ok(Ok(program)) => program,
            Ok(Err(error)) => {
                return Err(ExpressionError::Parse {
                    expression: source.to_string(),
                    message: error.to_string(),
                });
            }
            Err(_) => {
                return Err(ExpressionError::Parse {
                    expression: source.to_string(),
                    message: "the parser failed on it".into(),
                });
            }
        };
        Ok(Expression {
            source: source.to_string(),
            program,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The value of the expression for `app` at `now`.
    pub fn eval(&self, app: &serde_json::Value, now: Timestamp) -> Result<Value, ExpressionError> {
        let mut context = Context::default();
        context.insert("app", to_expr(app));
        context.insert(NOW, now.strftime("%Y-%m-%dT%H:%M:%S%.fZ").to_string());
        let evaluated = catch_unwind(AssertUnwindSafe(|| expr::run(&self.program, &context)));
        match evaluated {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.evaluate_error(error.to_string())),
            Err(_) => Err(self.evaluate_error("the evaluator failed on it".into())),
        }
    }

    /// Whether the condition holds: true only for the boolean `true` (as in Argo CD, any other
    /// value is false).
    pub fn eval_bool(
        &self,
        app: &serde_json::Value,
        now: Timestamp,
    ) -> Result<bool, ExpressionError> {
        Ok(matches!(self.eval(app, now)?, Value::Bool(true)))
    }

    fn evaluate_error(&self, message: String) -> ExpressionError {
        ExpressionError::Evaluate {
            expression: self.source.clone(),
            message,
        }
    }
}

/// A value as Go's `fmt.Sprintf("%v", v)` prints it, for `oncePer` keys (`<nil>` for nil).
pub fn go_string(value: &Value) -> String {
    match value {
        Value::Nil => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        Value::Float(f) => f.to_string(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_string).collect();
            format!("[{}]", inner.join(" "))
        }
        Value::Map(map) => {
            let mut entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_string(v)))
                .collect();
            entries.sort();
            format!("map[{}]", entries.join(" "))
        }
        other => other.to_string(),
    }
}

/// JSON (the Application) as expr values: integers stay integers, as Go's unstructured does.
pub fn to_expr(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => Value::Array(items.iter().map(to_expr).collect()),
        serde_json::Value::Object(map) => {
            map.iter().map(|(k, v)| (k.clone(), to_expr(v))).collect()
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn holds(source: &str, app: serde_json::Value) -> bool {
        Expression::compile(source)
            .unwrap()
            .eval_bool(&app, at("2026-01-01T12:00:00Z"))
            .unwrap()
    }

    #[test]
    fn what_is_outside_the_subset_is_named_before_running() {
        let cases = [
            (
                "repo.GetCommitMetadata(app.status.sync.revision).Author == 'me'",
                "repo.GetCommitMetadata is not supported",
            ),
            (
                "sync.GetInfoItem(app, 'x') == 'y'",
                "sync.GetInfoItem is not supported",
            ),
            (
                "time.Since(app.metadata.creationTimestamp) > 0",
                "time.Since is not supported",
            ),
            ("toJSON(app) != ''", "function toJSON() is not supported"),
            ("app.metadata.name.Foo()", "method .Foo() is not supported"),
            (
                "application.metadata.name == 'x'",
                "unknown name application (conditions see only `app`)",
            ),
            ("app.metadata.name == 'x", "a string is not closed"),
            (
                "foo and (1 == 1)",
                "unknown name foo (conditions see only `app`)",
            ),
        ];
        for (source, reason) in cases {
            match Expression::compile(source) {
                Err(ExpressionError::Unsupported { reason: r, .. }) => {
                    assert_eq!(r, reason, "{source}")
                }
                other => panic!("{source}: {other:?}"),
            }
        }
        assert!(matches!(
            Expression::compile("app.status ==== 1"),
            Err(ExpressionError::Parse { .. })
        ));
    }

    #[test]
    fn conditions_over_the_app() {
        let app = json!({"status": {"health": {"status": "Degraded"}, "sync": {"status": "Unknown"},
            "operationState": {"phase": "Failed", "startedAt": "2026-01-01T11:50:00Z"}}});
        assert!(holds("app.status.health.status == 'Degraded'", app.clone()));
        assert!(holds("app.status.sync.status == 'Unknown'", app.clone()));
        assert!(holds(
            "app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']",
            app.clone()
        ));
        assert!(holds(
            "time.Now().Sub(time.Parse(app.status.operationState.startedAt)).Minutes() >= 5",
            app.clone()
        ));
        assert!(!holds(
            "time.Now().Sub(time.Parse(app.status.operationState.startedAt)).Minutes() >= 15",
            app.clone()
        ));
        assert!(holds(
            "time.Parse(app.status.operationState.startedAt).Add(1 * time.Minute).Before(now())",
            app.clone()
        ));
        assert!(holds(
            "app.status?.operationState?.syncResult?.revision == nil",
            app.clone()
        ));
        assert!(holds(
            "let p = app.status.operationState.phase; p startsWith 'Fail'",
            app.clone()
        ));
        assert!(holds(
            "all([1, 2], {# > 0}) and len(app.status) == 3",
            app.clone()
        ));
        assert!(holds("{a: 1}.a == 1", app.clone()));
        // A value that is not a boolean does not hold.
        assert!(!holds("app.status.health.status", app));
    }

    #[test]
    fn a_missing_section_is_an_evaluation_error_not_a_panic() {
        let e = Expression::compile("app.status.operationState.phase in ['Succeeded']").unwrap();
        assert!(matches!(
            e.eval_bool(&json!({"status": {}}), at("2026-01-01T00:00:00Z")),
            Err(ExpressionError::Evaluate { .. })
        ));
        let guarded = Expression::compile(
            "app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']",
        )
        .unwrap();
        assert!(
            !guarded
                .eval_bool(&json!({"status": {}}), at("2026-01-01T00:00:00Z"))
                .unwrap()
        );
    }

    #[test]
    fn once_per_values_print_as_go_prints_them() {
        let app = json!({"metadata": {"name": "web", "generation": 3, "annotations": {"example.com/version": "v0.1"}}});
        let value = |s: &str| {
            go_string(
                &Expression::compile(s)
                    .unwrap()
                    .eval(&app, at("2026-01-01T00:00:00Z"))
                    .unwrap(),
            )
        };
        assert_eq!(value("app.metadata.name"), "web");
        assert_eq!(value("app.metadata.generation"), "3");
        assert_eq!(
            value("app.metadata.annotations[\"example.com/version\"]"),
            "v0.1"
        );
        assert_eq!(
            value("app.status?.operationState?.syncResult?.revision"),
            "<nil>"
        );
    }
}
