//! What a rule reports: a `Finding`, and the identity of the rule that made it.

use serde::{Deserialize, Serialize};

/// How bad a finding is. `error` blocks a sync when the project's guard mode is `enforce`;
/// `warning` is reported but never blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in one object. Serializes to exactly the keys
/// `rule`, `severity`, `app`, `object`, `path`, `message`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// Stable kebab-case rule id, e.g. `run-as-non-root`.
    pub rule: String,
    pub severity: Severity,
    /// The Application the object belongs to.
    pub app: String,
    /// `group/Kind/namespace/name`, empty group for the core API group.
    pub object: String,
    /// JSON pointer into the object where the problem is (or where the fix goes); may be empty.
    pub path: String,
    pub message: String,
}

/// A rule's identity: its id never changes once released, so waivers keep working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub description: &'static str,
}

impl Rule {
    /// The `(id, severity, description)` row listed by `driftless check --list-rules`.
    pub const fn row(&self) -> (&'static str, &'static str, &'static str) {
        (self.id, self.severity.as_str(), self.description)
    }

    pub(crate) fn finding(
        &self,
        app: &str,
        object: &impl std::fmt::Display,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            rule: self.id.to_string(),
            severity: self.severity,
            app: app.to_string(),
            object: object.to_string(),
            path: path.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_model::ResourceKey;

    #[test]
    fn finding_serializes_to_exactly_the_documented_keys() {
        const RULE: Rule = Rule {
            id: "no-privileged",
            severity: Severity::Error,
            description: "d",
        };
        let key = ResourceKey::new("apps", "Deployment", "shop", "web");
        let finding = RULE.finding("shop", &key, "/spec/x", "privileged");
        let json = serde_json::to_value(&finding).expect("a finding serializes");
        let keys: Vec<&str> = json
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            ["rule", "severity", "app", "object", "path", "message"]
        );
        assert_eq!(json["severity"], "error");
        assert_eq!(json["object"], "apps/Deployment/shop/web");
        let core = ResourceKey::new("", "Service", "shop", "web");
        assert_eq!(
            RULE.finding("a", &core, "", "m").object,
            "/Service/shop/web"
        );
    }
}
