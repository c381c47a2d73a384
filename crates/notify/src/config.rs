//! `argocd-notifications-cm` and `argocd-notifications-secret` read into a [`NotifyConfig`].
//! Each key is read on its own: one that does not parse is reported and left out, and the
//! rest keeps working. `$key` in a service's string values is replaced by that key of the
//! Secret (a reference to a key the Secret lacks stays as written, as in Argo CD).

use crate::services::{SUPPORTED, Service};
use crate::subscriptions::GlobalSubscription;
use crate::template::TemplateSpec;
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::LazyLock;

pub const CONFIG_MAP: &str = "argocd-notifications-cm";
pub const SECRET: &str = "argocd-notifications-secret";

/// One condition of a trigger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `when: true` (unquoted YAML) reads as the expression `true`.
    #[serde(default, deserialize_with = "scalar_text")]
    pub when: String,
    #[serde(default)]
    pub send: Vec<String>,
    #[serde(default)]
    pub once_per: String,
    #[serde(default)]
    pub description: String,
}

fn scalar_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// What the ConfigMap and Secret configure.
#[derive(Debug, Clone, Default)]
pub struct NotifyConfig {
    /// By service name (`service.slack` is named `slack`, `service.webhook.ci` is `ci`).
    pub services: BTreeMap<String, Service>,
    pub templates: BTreeMap<String, TemplateSpec>,
    pub triggers: BTreeMap<String, Vec<Condition>>,
    pub default_triggers: Vec<String>,
    /// `defaultTriggers.<service>`.
    pub service_default_triggers: BTreeMap<String, Vec<String>>,
    pub subscriptions: Vec<GlobalSubscription>,
    pub context: BTreeMap<String, String>,
}

/// A key that could not be read. Messages name the key and never carry a Secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("failed to read {key} of {CONFIG_MAP}: {message}")]
    Invalid { key: String, message: String },
    #[error(
        "failed to read {key} of {CONFIG_MAP}: expected service.<type> or service.<type>.<name>"
    )]
    ServiceKey { key: String },
    #[error("failed to read {key} of {CONFIG_MAP}: service type {kind:?} is not supported (supported: {})", SUPPORTED.join(", "))]
    UnsupportedService { key: String, kind: String },
    #[error(
        "failed to read {key} of {CONFIG_MAP}: a value taken from {SECRET} does not fit its field"
    )]
    SecretValue { key: String },
}

/// The configuration, and the keys left out.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub config: NotifyConfig,
    pub problems: Vec<ConfigError>,
}

/// Reads the ConfigMap's `data` with the Secret's `data`.
pub fn parse(data: &BTreeMap<String, String>, secret: &BTreeMap<String, Vec<u8>>) -> Parsed {
    let mut parsed = Parsed::default();
    for (key, text) in data {
        if let Err(problem) = read_key(&mut parsed.config, key, text, secret) {
            parsed.problems.push(problem);
        }
    }
    parsed
}

fn yaml<T: serde::de::DeserializeOwned>(key: &str, text: &str) -> Result<T, ConfigError> {
    serde_norway::from_str(text).map_err(|e| ConfigError::Invalid {
        key: key.to_string(),
        message: e.to_string(),
    })
}

fn read_key(
    config: &mut NotifyConfig,
    key: &str,
    text: &str,
    secret: &BTreeMap<String, Vec<u8>>,
) -> Result<(), ConfigError> {
    if let Some(name) = key.strip_prefix("template.") {
        config.templates.insert(name.to_string(), yaml(key, text)?);
    } else if let Some(name) = key.strip_prefix("trigger.") {
        config
            .triggers
            .insert(name.to_string(), yaml::<OneOrMany>(key, text)?.into_vec());
    } else if let Some(service) = key.strip_prefix("defaultTriggers.") {
        config
            .service_default_triggers
            .insert(service.to_string(), yaml(key, text)?);
    } else if let Some(rest) = key.strip_prefix("service.") {
        let (kind, name) = match rest.split('.').collect::<Vec<_>>().as_slice() {
            [kind] => (kind.to_string(), kind.to_string()),
            [kind, name] => (kind.to_string(), name.to_string()),
            _ => return Err(ConfigError::ServiceKey { key: key.into() }),
        };
        let service = read_service(key, &kind, text, secret)?;
        config.services.insert(name, service);
    } else {
        match key {
            "defaultTriggers" => config.default_triggers = yaml(key, text)?,
            "subscriptions" => config.subscriptions = yaml(key, text)?,
            "context" => {
                let raw: BTreeMap<String, Value> = yaml(key, text)?;
                config.context = raw
                    .into_iter()
                    .map(|(k, v)| {
                        let text = match v {
                            Value::String(s) => s,
                            Value::Null => String::new(),
                            other => other.to_string(),
                        };
                        (k, text)
                    })
                    .collect();
            }
            // Keys of other controllers (Argo CD's legacy `config`, …) are not ours to read.
            _ => {}
        }
    }
    Ok(())
}

/// A trigger written as one condition instead of a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<Condition>),
    One(Condition),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<Condition> {
        match self {
            OneOrMany::Many(all) => all,
            OneOrMany::One(one) => vec![one],
        }
    }
}

fn read_service(
    key: &str,
    kind: &str,
    text: &str,
    secret: &BTreeMap<String, Vec<u8>>,
) -> Result<Service, ConfigError> {
    let raw: Value = yaml(key, text)?;
    // An error is told as the ConfigMap has it (never with a value from the Secret); a field
    // that only fits once its `$key` is replaced (`port: $port`) is fine.
    let as_written = match Service::from_options(kind, raw.clone()) {
        None => {
            return Err(ConfigError::UnsupportedService {
                key: key.into(),
                kind: kind.into(),
            });
        }
        Some(read) => read,
    };
    match (
        Service::from_options(kind, substitute(raw, secret)),
        as_written,
    ) {
        (Some(Ok(service)), _) => Ok(service),
        (_, Err(e)) => Err(ConfigError::Invalid {
            key: key.into(),
            message: e.to_string(),
        }),
        (_, Ok(_)) => Err(ConfigError::SecretValue { key: key.into() }),
    }
}

static SECRET_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a literal pattern
    Regex::new(r"\$[\w-]+").unwrap()
});

/// Every `$key` in the string values replaced by the Secret's `key`.
pub fn substitute(value: Value, secret: &BTreeMap<String, Vec<u8>>) -> Value {
    match value {
        Value::String(s) => Value::String(
            SECRET_REFERENCE
                .replace_all(&s, |found: &regex::Captures<'_>| {
                    let reference = &found[0];
                    match secret.get(&reference[1..]) {
                        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                        None => reference.to_string(),
                    }
                })
                .into_owned(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| substitute(v, secret)).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, substitute(v, secret)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn secret() -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([
            ("slack-token".to_string(), b"xoxb-secret".to_vec()),
            ("port".to_string(), b"2525".to_vec()),
        ])
    }

    #[test]
    fn every_kind_of_key() {
        let parsed = parse(
            &data(&[
                ("service.slack", "token: $slack-token\n"),
                ("service.webhook.ci", "url: https://ci.example/$missing\n"),
                (
                    "service.email.ops",
                    "host: smtp.example\nport: $port\nfrom: cd@example.com\n",
                ),
                (
                    "template.app-synced",
                    "message: '{{.app.metadata.name}} synced'\n",
                ),
                (
                    "trigger.on-synced",
                    "- when: app.status.sync.status == 'Synced'\n  send: [app-synced]\n  oncePer: app.status.sync.revision\n",
                ),
                ("trigger.single", "when: true\nsend: [app-synced]\n"),
                ("defaultTriggers", "- on-synced\n"),
                ("defaultTriggers.ci", "[single]\n"),
                (
                    "subscriptions",
                    "- recipients: [slack:ops]\n  triggers: [on-synced]\n  selector: team=a\n",
                ),
                ("context", "argocdUrl: https://cd.example\nreplicas: 3\n"),
                ("config", "anything: legacy\n"),
            ]),
            &secret(),
        );
        assert_eq!(parsed.problems, vec![]);
        let c = parsed.config;
        match &c.services["slack"] {
            Service::Slack(s) => assert_eq!(s.token.expose(), "xoxb-secret"),
            other => panic!("{other:?}"),
        }
        match &c.services["ci"] {
            Service::Webhook(w) => assert_eq!(w.url.expose(), "https://ci.example/$missing"),
            other => panic!("{other:?}"),
        }
        match &c.services["ops"] {
            Service::Email(e) => assert_eq!(e.port(), 2525),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            c.templates["app-synced"].message,
            "{{.app.metadata.name}} synced"
        );
        assert_eq!(
            c.triggers["on-synced"][0].once_per,
            "app.status.sync.revision"
        );
        assert_eq!(c.triggers["single"][0].when, "true");
        assert_eq!(c.default_triggers, vec!["on-synced".to_string()]);
        assert_eq!(c.service_default_triggers["ci"], vec!["single".to_string()]);
        assert_eq!(c.subscriptions.len(), 1);
        assert_eq!(c.context["argocdUrl"], "https://cd.example");
        assert_eq!(c.context["replicas"], "3");
    }

    #[test]
    fn a_bad_key_is_reported_alone_and_never_with_a_secret() {
        let parsed = parse(
            &data(&[
                ("service.teams", "recipientUrls: {}\n"),
                ("service.a.b.c", "x: 1\n"),
                ("service.email", "host: [\n"),
                (
                    "service.github",
                    "appID: $slack-token\ninstallationID: 1\nprivateKey: k\n",
                ),
                ("trigger.broken", "when: [1\n"),
                ("template.ok", "message: hi\n"),
            ]),
            &secret(),
        );
        let texts: Vec<String> = parsed.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(parsed.problems.len(), 5, "{texts:?}");
        assert!(parsed.config.templates.contains_key("ok"));
        assert!(
            texts.iter().all(|t| !t.contains("xoxb-secret")),
            "{texts:?}"
        );
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("failed to read service.github")),
            "{texts:?}"
        );
        assert!(parsed.problems.contains(&ConfigError::UnsupportedService {
            key: "service.teams".into(),
            kind: "teams".into()
        }));
    }
}
