//! Who is told what: destinations (service and recipient) by trigger, from the annotations of
//! the Application and of its AppProject and from the ConfigMap's global `subscriptions`.
//!
//! - `notifications.argoproj.io/subscribe.<trigger>.<service>: r1;r2` (an empty value is one
//!   empty recipient, for webhook-like services), and `…/subscribe.<service>` for the
//!   default triggers (`defaultTriggers.<service>`, else `defaultTriggers`);
//! - `notifications.argoproj.io/subscriptions`: YAML `[{trigger: [...], destinations:
//!   [{service, recipients: [...]}]}]`;
//! - the older `[<trigger>.]recipients.argocd-notifications.argoproj.io: service:recipient,…`.

use serde::Deserialize;
use std::collections::BTreeMap;

const SUBSCRIBE: &str = "notifications.argoproj.io/subscribe.";
const SUBSCRIPTIONS: &str = "notifications.argoproj.io/subscriptions";
const LEGACY: &str = "recipients.argocd-notifications.argoproj.io";

/// Where one notification goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Destination {
    /// The service's name in the ConfigMap.
    pub service: String,
    pub recipient: String,
}

impl Destination {
    pub fn new(service: impl Into<String>, recipient: impl Into<String>) -> Self {
        Destination {
            service: service.into(),
            recipient: recipient.into(),
        }
    }

    /// `service` or `service:recipient`, as global and legacy subscriptions write it.
    fn parse(text: &str) -> Self {
        match text.split_once(':') {
            Some((service, recipient)) => Destination::new(service, recipient),
            None => Destination::new(text, ""),
        }
    }
}

/// Destinations by trigger name, each list sorted and without repeats.
pub type Destinations = BTreeMap<String, Vec<Destination>>;

/// The triggers to use when a subscription names none.
#[derive(Debug, Clone, Copy)]
pub struct Defaults<'a> {
    pub triggers: &'a [String],
    pub by_service: &'a BTreeMap<String, Vec<String>>,
}

impl Defaults<'_> {
    fn for_service(&self, service: &str) -> Vec<String> {
        self.by_service
            .get(service)
            .cloned()
            .unwrap_or_else(|| self.triggers.to_vec())
    }
}

/// An entry of the ConfigMap's `subscriptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GlobalSubscription {
    #[serde(default)]
    pub recipients: Vec<String>,
    #[serde(default)]
    pub triggers: Vec<String>,
    /// A label selector (`team=a,tier!=web,env in (prod,stage),!legacy`).
    #[serde(default)]
    pub selector: String,
}

fn add(into: &mut Destinations, triggers: &[String], destination: Destination) {
    for trigger in triggers.iter().filter(|t| !t.is_empty()) {
        into.entry(trigger.clone())
            .or_default()
            .push(destination.clone());
    }
}

/// The subscriptions that annotations (of an app or a project) make.
pub fn from_annotations(
    annotations: &BTreeMap<String, String>,
    defaults: Defaults<'_>,
) -> Destinations {
    let mut found = Destinations::new();
    for (key, value) in annotations {
        if let Some(rest) = key.strip_prefix(SUBSCRIBE) {
            let parts: Vec<&str> = rest.split('.').collect();
            let (trigger, service) = match parts.as_slice() {
                [service] => (None, *service),
                [trigger, service, ..] => (Some(*trigger), *service),
                [] => continue,
            };
            let triggers = match trigger {
                Some(t) => vec![t.to_string()],
                None => defaults.for_service(service),
            };
            let recipients: Vec<&str> = if value.is_empty() {
                vec![""]
            } else {
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .collect()
            };
            for recipient in recipients {
                add(&mut found, &triggers, Destination::new(service, recipient));
            }
        } else if key == SUBSCRIPTIONS {
            subscriptions_yaml(&mut found, value, defaults);
        } else if let Some(prefix) = key.strip_suffix(LEGACY) {
            let trigger = prefix.trim_end_matches('.');
            for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let destination = Destination::parse(entry);
                let triggers = if let Some(t) = defaults.by_service.get(&destination.service) {
                    t.clone()
                } else if trigger.is_empty() {
                    defaults.triggers.to_vec()
                } else {
                    vec![trigger.to_string()]
                };
                add(&mut found, &triggers, destination);
            }
        }
    }
    found
}

#[derive(Deserialize)]
struct YamlSubscription {
    #[serde(default)]
    trigger: Vec<String>,
    #[serde(default)]
    destinations: Vec<YamlDestination>,
}

#[derive(Deserialize)]
struct YamlDestination {
    #[serde(default)]
    service: String,
    #[serde(default)]
    recipients: Vec<String>,
}

fn subscriptions_yaml(found: &mut Destinations, text: &str, defaults: Defaults<'_>) {
    let Ok(subscriptions) = serde_norway::from_str::<Vec<YamlSubscription>>(text) else {
        tracing::warn!(
            annotation = SUBSCRIPTIONS,
            "failed to read the subscriptions annotation as YAML; ignored"
        );
        return;
    };
    for subscription in subscriptions {
        for destination in subscription.destinations {
            let triggers = if subscription.trigger.is_empty() {
                defaults.for_service(&destination.service)
            } else {
                subscription.trigger.clone()
            };
            for recipient in &destination.recipients {
                add(
                    found,
                    &triggers,
                    Destination::new(&destination.service, recipient),
                );
            }
        }
    }
}

/// The global subscriptions that apply to an app with `labels`.
pub fn global(
    subscriptions: &[GlobalSubscription],
    labels: &BTreeMap<String, String>,
    default_triggers: &[String],
) -> Destinations {
    let mut found = Destinations::new();
    for subscription in subscriptions {
        if !selector_matches(&subscription.selector, labels) {
            continue;
        }
        let triggers = if subscription.triggers.is_empty() {
            default_triggers
        } else {
            &subscription.triggers
        };
        for recipient in &subscription.recipients {
            add(&mut found, triggers, Destination::parse(recipient));
        }
    }
    found
}

/// `a` and `b` together, each list sorted and without repeats.
pub fn merge(mut a: Destinations, b: Destinations) -> Destinations {
    for (trigger, destinations) in b {
        a.entry(trigger).or_default().extend(destinations);
    }
    for list in a.values_mut() {
        list.sort();
        list.dedup();
    }
    a
}

/// Whether `labels` satisfy a label selector in Kubernetes' string form; an empty selector
/// matches everything, one that does not parse matches nothing.
pub fn selector_matches(selector: &str, labels: &BTreeMap<String, String>) -> bool {
    split_requirements(selector)
        .iter()
        .all(|requirement| requirement_matches(requirement.trim(), labels).unwrap_or(false))
}

/// Splits at the commas that are not inside `( … )`.
fn split_requirements(selector: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&selector[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

fn requirement_matches(requirement: &str, labels: &BTreeMap<String, String>) -> Option<bool> {
    let set = |text: &str| -> Option<Vec<String>> {
        let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
        Some(inner.split(',').map(|v| v.trim().to_string()).collect())
    };
    if let Some(key) = requirement.strip_prefix('!') {
        return Some(!labels.contains_key(key.trim()));
    }
    if let Some((key, value)) = requirement.split_once("!=") {
        return Some(labels.get(key.trim()).map(String::as_str) != Some(value.trim()));
    }
    if let Some((key, value)) = requirement
        .split_once("==")
        .or_else(|| requirement.split_once('='))
    {
        return Some(labels.get(key.trim()).map(String::as_str) == Some(value.trim()));
    }
    let words: Vec<&str> = requirement.splitn(2, char::is_whitespace).collect();
    match words.as_slice() {
        [key] => Some(labels.contains_key(*key)),
        [key, rest] => {
            let rest = rest.trim();
            if let Some(values) = rest.strip_prefix("notin") {
                let values = set(values)?;
                Some(labels.get(*key).is_none_or(|v| !values.contains(v)))
            } else if let Some(values) = rest.strip_prefix("in") {
                let values = set(values)?;
                Some(labels.get(*key).is_some_and(|v| values.contains(v)))
            } else {
                None
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn d(service: &str, recipient: &str) -> Destination {
        Destination::new(service, recipient)
    }

    #[test]
    fn subscribe_annotations_with_and_without_a_trigger() {
        let annotations = map(&[
            (
                "notifications.argoproj.io/subscribe.on-sync-succeeded.slack",
                "ch1; ch2",
            ),
            (
                "notifications.argoproj.io/subscribe.on-sync-succeeded.ci",
                "",
            ),
            ("notifications.argoproj.io/subscribe.mattermost", "team"),
            ("notifications.argoproj.io/subscribe.email", "a@example.com"),
            ("other.io/x", "y"),
        ]);
        let by_service = BTreeMap::from([(
            "mattermost".to_string(),
            vec!["on-sync-running".to_string()],
        )]);
        let defaults = Defaults {
            triggers: &["on-sync-status-unknown".to_string()],
            by_service: &by_service,
        };
        let found = merge(
            from_annotations(&annotations, defaults),
            Destinations::new(),
        );
        assert_eq!(
            found,
            BTreeMap::from([
                (
                    "on-sync-succeeded".to_string(),
                    vec![d("ci", ""), d("slack", "ch1"), d("slack", "ch2")]
                ),
                ("on-sync-running".to_string(), vec![d("mattermost", "team")]),
                (
                    "on-sync-status-unknown".to_string(),
                    vec![d("email", "a@example.com")]
                ),
            ])
        );
    }

    #[test]
    fn yaml_and_legacy_annotations() {
        let annotations = map(&[
            (
                "notifications.argoproj.io/subscriptions",
                "- trigger: [on-a, on-b]\n  destinations:\n  - service: slack\n    recipients: [x, y]\n",
            ),
            (
                "on-c.recipients.argocd-notifications.argoproj.io",
                "slack:z, email:a@example.com",
            ),
        ]);
        let empty = BTreeMap::new();
        let found = merge(
            from_annotations(
                &annotations,
                Defaults {
                    triggers: &[],
                    by_service: &empty,
                },
            ),
            Destinations::new(),
        );
        assert_eq!(found["on-a"], vec![d("slack", "x"), d("slack", "y")]);
        assert_eq!(found["on-b"].len(), 2);
        assert_eq!(
            found["on-c"],
            vec![d("email", "a@example.com"), d("slack", "z")]
        );
    }

    #[test]
    fn global_subscriptions_by_selector_and_merging_dedups() {
        let subscriptions: Vec<GlobalSubscription> = serde_norway::from_str(
            "- recipients: [slack:all]\n  triggers: [on-a]\n- recipients: [slack:team-a, ci]\n  selector: team=a\n",
        )
        .unwrap();
        let defaults = vec!["on-default".to_string()];
        let team_a = global(&subscriptions, &map(&[("team", "a")]), &defaults);
        assert_eq!(team_a["on-a"], vec![d("slack", "all")]);
        assert_eq!(
            team_a["on-default"],
            vec![d("slack", "team-a"), d("ci", "")]
        );
        let team_b = global(&subscriptions, &map(&[("team", "b")]), &defaults);
        assert!(!team_b.contains_key("on-default"));
        let merged = merge(team_a.clone(), team_a);
        assert_eq!(
            merged["on-default"],
            vec![d("ci", ""), d("slack", "team-a")]
        );
    }

    #[test]
    fn label_selectors() {
        let labels = map(&[("team", "a"), ("env", "prod")]);
        for (selector, expected) in [
            ("", true),
            ("team=a", true),
            ("team==a,env=prod", true),
            ("team!=a", false),
            ("env in (prod, stage)", true),
            ("env notin (prod)", false),
            ("tier notin (web)", true),
            ("team", true),
            ("!team", false),
            ("!tier", true),
            ("env in prod", false),
        ] {
            assert_eq!(selector_matches(selector, &labels), expected, "{selector}");
        }
    }
}
