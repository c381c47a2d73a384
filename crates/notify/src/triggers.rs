//! Triggers compiled once per configuration, and run against an app: each condition holds or
//! not, and a condition that holds gives its `oncePer` value.

use crate::config::Condition;
use crate::expression::{Expression, ExpressionError, go_string};
use crate::state::condition_key;
use jiff::Timestamp;
use std::collections::BTreeMap;

/// One condition, compiled.
#[derive(Debug)]
pub struct CompiledCondition {
    pub key: String,
    pub when: Result<Expression, ExpressionError>,
    pub once_per: Option<Result<Expression, ExpressionError>>,
    pub send: Vec<String>,
}

/// Every trigger of a configuration.
#[derive(Debug, Default)]
pub struct Triggers {
    by_name: BTreeMap<String, Vec<CompiledCondition>>,
}

/// What one condition gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It holds: send `send` once per `once_per` (empty: once while it holds).
    Fired {
        once_per: String,
    },
    NotFired,
    /// It failed to evaluate: as in Argo CD it counts as not holding.
    Failed(ExpressionError),
    /// It does not compile: nothing is sent and nothing is forgotten for it.
    Broken,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionResult {
    pub key: String,
    pub send: Vec<String>,
    pub outcome: Outcome,
    /// The `oncePer` expression failed (the notification is then sent once while it holds).
    pub once_per_error: Option<ExpressionError>,
}

impl Triggers {
    pub fn compile(triggers: &BTreeMap<String, Vec<Condition>>) -> Self {
        let by_name = triggers
            .iter()
            .map(|(name, conditions)| {
                let compiled = conditions
                    .iter()
                    .enumerate()
                    .map(|(index, condition)| {
                        let when = if condition.when.trim().is_empty() {
                            "false"
                        } else {
                            condition.when.as_str()
                        };
                        CompiledCondition {
                            key: condition_key(index, &condition.when),
                            when: Expression::compile(when),
                            once_per: Some(condition.once_per.trim())
                                .filter(|o| !o.is_empty())
                                .map(Expression::compile),
                            send: condition.send.clone(),
                        }
                    })
                    .collect();
                (name.clone(), compiled)
            })
            .collect();
        Triggers { by_name }
    }

    /// The conditions that do not compile, by trigger.
    pub fn problems(&self) -> Vec<(String, ExpressionError)> {
        let mut found = Vec::new();
        for (name, conditions) in &self.by_name {
            for condition in conditions {
                let once_per = condition.once_per.as_ref().and_then(|o| o.as_ref().err());
                for error in condition.when.as_ref().err().into_iter().chain(once_per) {
                    found.push((name.clone(), error.clone()));
                }
            }
        }
        found
    }

    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Runs trigger `name` on `app`; None when no such trigger is configured.
    pub fn run(
        &self,
        name: &str,
        app: &serde_json::Value,
        now: Timestamp,
    ) -> Option<Vec<ConditionResult>> {
        let conditions = self.by_name.get(name)?;
        Some(
            conditions
                .iter()
                .map(|condition| run_condition(condition, app, now))
                .collect(),
        )
    }
}

fn run_condition(
    condition: &CompiledCondition,
    app: &serde_json::Value,
    now: Timestamp,
) -> ConditionResult {
    let mut result = ConditionResult {
        key: condition.key.clone(),
        send: condition.send.clone(),
        outcome: Outcome::Broken,
        once_per_error: None,
    };
    let Ok(when) = &condition.when else {
        return result;
    };
    let once_per = match &condition.once_per {
        Some(Err(_)) => return result,
        Some(Ok(expression)) => Some(expression),
        None => None,
    };
    result.outcome = match when.eval_bool(app, now) {
        Ok(false) => Outcome::NotFired,
        Err(error) => Outcome::Failed(error),
        Ok(true) => match once_per.map(|e| e.eval(app, now)) {
            None => Outcome::Fired {
                once_per: String::new(),
            },
            Some(Ok(value)) => Outcome::Fired {
                once_per: go_string(&value),
            },
            Some(Err(error)) => {
                result.once_per_error = Some(error);
                Outcome::Fired {
                    once_per: String::new(),
                }
            }
        },
    };
    result
}
