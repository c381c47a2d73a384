//! ignoreDifferences: rules that take fields out of a comparison, on both sides.

use crate::jq::{JqError, JqPath};
use crate::managed_fields::{ManagedFieldsError, owned_by, remove_owned};
use crate::pointer::{PointerError, Segment, parse_pointer, remove_tokens};
use driftless_model::ResourceKey;
use serde_json::Value;

/// One `ignoreDifferences` entry, with the fields of Argo CD's `ResourceIgnoreDifferences`
/// (`group`, `kind`, `name`, `namespace`, `jsonPointers`, `jqPathExpressions`,
/// `managedFieldsManagers`), as a plain struct so that the model's serde type converts
/// into it field by field.
///
/// `group` and `kind` are glob patterns (`*` any run of characters, `?` one character);
/// the core group is the empty string. `name` and `namespace` match exactly, and an
/// empty one matches any object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreRule {
    pub group: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    /// RFC 6901 pointers such as `/spec/replicas`.
    pub json_pointers: Vec<String>,
    /// jq path expressions such as `.spec.template.spec.initContainers[] | select(.name == "x")`.
    pub jq_path_expressions: Vec<String>,
    /// Field managers (`metadata.managedFields[].manager`) whose fields are ignored.
    pub managed_fields_managers: Vec<String>,
}

impl IgnoreRule {
    /// Whether the rule applies to the object `key` names.
    pub fn matches(&self, key: &ResourceKey) -> bool {
        glob_match(&self.group, &key.group)
            && glob_match(&self.kind, &key.kind)
            && (self.name.is_empty() || self.name == key.name)
            && (self.namespace.is_empty() || self.namespace == key.namespace)
    }
}

/// Why ignoreDifferences rules could not be prepared or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreError {
    #[error("failed to read ignoreDifferences json pointer: {0}")]
    Pointer(#[from] PointerError),
    #[error(transparent)]
    Jq(#[from] JqError),
    #[error("failed to apply managedFieldsManagers: {0}")]
    ManagedFields(#[from] ManagedFieldsError),
}

/// Rules ready to apply: pointers parsed and jq expressions compiled once.
#[derive(Debug, Default)]
pub struct IgnoreRules {
    rules: Vec<PreparedRule>,
}

#[derive(Debug)]
struct PreparedRule {
    rule: IgnoreRule,
    pointers: Vec<Vec<String>>,
    /// Shared with every other rule of the same expression (compiled once per process).
    jq: Vec<std::sync::Arc<JqPath>>,
}

impl IgnoreRules {
    /// Prepares app-level and system-level rules alike (pass them concatenated). A pointer
    /// that does not parse or a jq expression that does not compile is an error here,
    /// so that a typo in a rule is reported instead of silently comparing everything.
    pub fn new(rules: &[IgnoreRule]) -> Result<Self, IgnoreError> {
        let rules = rules
            .iter()
            .map(|rule| {
                let pointers = rule
                    .json_pointers
                    .iter()
                    .map(|p| parse_pointer(p))
                    .collect::<Result<_, _>>()?;
                let jq = rule
                    .jq_path_expressions
                    .iter()
                    .map(|e| crate::jq::compiled(e))
                    .collect::<Result<_, _>>()?;
                Ok(PreparedRule {
                    rule: rule.clone(),
                    pointers,
                    jq,
                })
            })
            .collect::<Result<_, IgnoreError>>()?;
        Ok(Self { rules })
    }

    /// Takes the ignored fields out of each of `sides` (already normalized) of the object
    /// `key` names. Field ownership is read from `owners` (the raw live object, and for a
    /// server-side diff the raw dry-run result too), whose `managedFields` normalization drops.
    ///
    /// A jq expression that fails on an object (e.g. iterating a list the object does not
    /// have) removes nothing from it, as in Argo CD.
    pub fn apply(
        &self,
        key: &ResourceKey,
        owners: &[&Value],
        sides: &mut [&mut Value],
    ) -> Result<(), IgnoreError> {
        let mut managers: Vec<&str> = Vec::new();
        for prepared in self.rules.iter().filter(|r| r.rule.matches(key)) {
            for side in sides.iter_mut() {
                for pointer in &prepared.pointers {
                    remove_tokens(side, pointer);
                }
                for jq in &prepared.jq {
                    // Runtime errors mean "nothing to remove here"; see the doc comment.
                    let _ = jq.delete_from(side);
                }
            }
            managers.extend(
                prepared
                    .rule
                    .managed_fields_managers
                    .iter()
                    .map(String::as_str),
            );
        }
        if managers.is_empty() {
            return Ok(());
        }
        for owner in owners {
            for owned in owned_by(owner, &managers)? {
                for side in sides.iter_mut() {
                    remove_owned(side, &owned);
                }
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The concrete paths in `doc` that the JSON pointers and jq expressions of the rules for
    /// `key` select (field managers are not included: they name ownership, not paths in `doc`).
    pub fn selected_paths(&self, key: &ResourceKey, doc: &Value) -> Vec<Vec<Segment>> {
        let mut out = Vec::new();
        for prepared in self.rules.iter().filter(|r| r.rule.matches(key)) {
            for pointer in &prepared.pointers {
                out.push(tokens_to_segments(doc, pointer));
            }
            for jq in &prepared.jq {
                // As when comparing: an expression that fails on this object selects nothing.
                out.extend(jq.paths(doc).unwrap_or_default());
            }
        }
        out
    }
}

/// Reads pointer tokens as keys, or as list indices where `doc` has a list at that point.
fn tokens_to_segments(doc: &Value, tokens: &[String]) -> Vec<Segment> {
    let mut current = Some(doc);
    tokens
        .iter()
        .map(|token| {
            let segment = match (current, token.parse::<usize>()) {
                (Some(Value::Array(_)), Ok(i)) => Segment::Index(i),
                _ => Segment::Key(token.clone()),
            };
            current = match (&segment, current) {
                (Segment::Key(k), Some(Value::Object(map))) => map.get(k.as_str()),
                (Segment::Index(i), Some(Value::Array(list))) => list.get(*i),
                _ => None,
            };
            segment
        })
        .collect()
}

/// Glob match with `*` (any run, including none) and `?` (one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs_match_like_argo_cd_group_kind_patterns() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "apps"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "apps"));
        assert!(glob_match("*.k8s.io", "admissionregistration.k8s.io"));
        assert!(glob_match("Deploy?ent", "Deployment"));
        assert!(!glob_match("apps", "apps.example.com"));
        assert!(glob_match("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn rule_matches_on_group_kind_and_optional_name_and_namespace() {
        let key = ResourceKey::new("apps", "Deployment", "shop", "web");
        let rule = IgnoreRule {
            group: "apps".into(),
            kind: "Deployment".into(),
            ..Default::default()
        };
        assert!(rule.matches(&key));
        assert!(
            IgnoreRule {
                name: "web".into(),
                namespace: "shop".into(),
                ..rule.clone()
            }
            .matches(&key)
        );
        assert!(
            !IgnoreRule {
                name: "api".into(),
                ..rule.clone()
            }
            .matches(&key)
        );
        assert!(
            !IgnoreRule {
                group: String::new(),
                ..rule
            }
            .matches(&key)
        );
    }

    #[test]
    fn bad_pointer_or_jq_is_reported_when_preparing() {
        let bad_pointer = IgnoreRule {
            kind: "*".into(),
            json_pointers: vec!["spec/replicas".into()],
            ..Default::default()
        };
        assert!(matches!(
            IgnoreRules::new(&[bad_pointer]),
            Err(IgnoreError::Pointer(_))
        ));
        let bad_jq = IgnoreRule {
            kind: "*".into(),
            jq_path_expressions: vec![".a[".into()],
            ..Default::default()
        };
        assert!(matches!(
            IgnoreRules::new(&[bad_jq]),
            Err(IgnoreError::Jq(_))
        ));
    }

    #[test]
    fn rules_for_other_kinds_leave_the_object_alone() {
        let rules = IgnoreRules::new(&[IgnoreRule {
            group: "apps".into(),
            kind: "StatefulSet".into(),
            json_pointers: vec!["/spec/replicas".into()],
            ..Default::default()
        }])
        .unwrap();
        let key = ResourceKey::new("apps", "Deployment", "shop", "web");
        let mut doc = json!({"spec": {"replicas": 1}});
        rules.apply(&key, &[], &mut [&mut doc]).unwrap();
        assert_eq!(doc, json!({"spec": {"replicas": 1}}));
    }
}
