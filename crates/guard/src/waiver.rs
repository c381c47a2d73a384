//! Waivers: `driftless.dev/waive: <rule>[,<rule>] # reason` on an object suppresses those
//! rules' findings for that object only.

use crate::finding::Finding;
use driftless_model::annotations::WAIVE;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// A parsed waiver annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    /// Rule ids, trimmed, in the order written.
    pub rules: Vec<String>,
    /// The text after `#`, trimmed; `None` when no reason was given.
    pub reason: Option<String>,
}

/// Reads `rule-a, rule-b # reason`. Empty entries (`a,,b`) are dropped.
pub fn parse_waiver(text: &str) -> Waiver {
    let (list, reason) = match text.split_once('#') {
        Some((list, reason)) => (list, Some(reason.trim()).filter(|r| !r.is_empty())),
        None => (text, None),
    };
    let rules = list
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(String::from)
        .collect();
    Waiver {
        rules,
        reason: reason.map(String::from),
    }
}

/// The waiver annotation of an object, if it has one.
pub(crate) fn waiver_of(object: &Value) -> Option<(Waiver, &str)> {
    let text = object
        .pointer("/metadata/annotations")?
        .get(WAIVE)?
        .as_str()?;
    Some((parse_waiver(text), text))
}

/// Drops the findings whose object waives their rule. Objects are matched by their
/// `group/Kind/namespace/name`; when the same object appears twice, both waivers count.
pub(crate) fn drop_waived<'a>(
    objects: impl IntoIterator<Item = (String, &'a Value)>,
    findings: Vec<Finding>,
) -> Vec<Finding> {
    let mut waived: HashMap<String, HashSet<String>> = HashMap::new();
    for (key, value) in objects {
        if let Some((waiver, _)) = waiver_of(value) {
            waived.entry(key).or_default().extend(waiver.rules);
        }
    }
    if waived.is_empty() {
        return findings;
    }
    findings
        .into_iter()
        .filter(|f| {
            !waived
                .get(&f.object)
                .is_some_and(|rules| rules.contains(&f.rule))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiver_lists_rules_and_reason() {
        let waiver = parse_waiver(" run-as-non-root , no-host-path # node exporter needs /proc ");
        assert_eq!(waiver.rules, ["run-as-non-root", "no-host-path"]);
        assert_eq!(waiver.reason.as_deref(), Some("node exporter needs /proc"));
    }

    #[test]
    fn waiver_without_reason_or_with_empty_entries() {
        let waiver = parse_waiver("gateway-tls,,");
        assert_eq!(waiver.rules, ["gateway-tls"]);
        assert_eq!(waiver.reason, None);
        assert_eq!(parse_waiver("a #   ").reason, None);
    }
}
