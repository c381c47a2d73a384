//! Kubernetes label selectors (`matchLabels`, `matchExpressions`) over string maps: the
//! `selector` post-filter on parameter sets and the clusters generator's Secret selector.
//! Unlike Kubernetes, values are not restricted to label syntax (Argo CD matches URLs too).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// A selector that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("failed to read the label selector: {0}")]
    Shape(String),
    #[error("failed to read the label selector: {0:?} is not a valid selector operator")]
    Operator(String),
    #[error("failed to read the label selector: key {key:?}: {message}")]
    Requirement { key: String, message: String },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    match_labels: BTreeMap<String, String>,
    #[serde(default)]
    match_expressions: Vec<RawExpression>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawExpression {
    key: String,
    operator: String,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

/// A parsed selector; an empty one matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    pub fn from_json(value: &Value) -> Result<Self, SelectorError> {
        let raw: Raw = serde_json::from_value(value.clone())
            .map_err(|e| SelectorError::Shape(e.to_string()))?;
        let mut requirements = Vec::new();
        for (key, value) in raw.match_labels {
            requirements.push(Requirement {
                key,
                operator: Operator::In,
                values: vec![value],
            });
        }
        for expr in raw.match_expressions {
            let operator = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => return Err(SelectorError::Operator(other.to_string())),
            };
            requirements.push(Requirement {
                key: expr.key,
                operator,
                values: expr.values,
            });
        }
        for r in &requirements {
            let problem = if r.key.is_empty() {
                Some("the key is empty")
            } else {
                match r.operator {
                    Operator::In | Operator::NotIn if r.values.is_empty() => {
                        Some("for 'In' and 'NotIn' operators, values can't be empty")
                    }
                    Operator::Exists | Operator::DoesNotExist if !r.values.is_empty() => {
                        Some("for 'Exists' and 'DoesNotExist' operators, values must be empty")
                    }
                    _ => None,
                }
            };
            if let Some(message) = problem {
                return Err(SelectorError::Requirement {
                    key: r.key.clone(),
                    message: message.into(),
                });
            }
        }
        Ok(LabelSelector { requirements })
    }

    /// Whether the selector has no requirements (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| {
            let value = labels.get(&r.key);
            match r.operator {
                Operator::In => value.is_some_and(|v| r.values.contains(v)),
                Operator::NotIn => value.is_none_or(|v| !r.values.contains(v)),
                Operator::Exists => value.is_some(),
                Operator::DoesNotExist => value.is_none(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn match_labels_and_expressions() {
        let s = LabelSelector::from_json(&json!({
            "matchLabels": {"env": "prod"},
            "matchExpressions": [
                {"key": "tier", "operator": "NotIn", "values": ["db"]},
                {"key": "team", "operator": "Exists"}
            ]
        }))
        .unwrap();
        assert!(s.matches(&labels(&[("env", "prod"), ("team", "a")])));
        assert!(!s.matches(&labels(&[("env", "prod"), ("team", "a"), ("tier", "db")])));
        assert!(!s.matches(&labels(&[("env", "dev"), ("team", "a")])));
        assert!(!s.matches(&labels(&[("env", "prod")])));
        assert!(
            LabelSelector::from_json(&json!({}))
                .unwrap()
                .matches(&labels(&[]))
        );
    }

    #[test]
    fn bad_selectors_are_errors() {
        assert!(
            LabelSelector::from_json(&json!({"matchExpressions": [
            {"key": "a", "operator": "Like", "values": ["x"]}]}))
            .is_err()
        );
        assert!(
            LabelSelector::from_json(&json!({"matchExpressions": [
            {"key": "a", "operator": "In"}]}))
            .is_err()
        );
    }
}
