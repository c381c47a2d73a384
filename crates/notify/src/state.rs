//! What was already sent, kept in the app's annotation `notified.notifications.argoproj.io`
//! as Argo CD keeps it: a JSON object from key to the Unix time it was sent, where the key is
//! `[<oncePer>:]<trigger>:<condition key>:<service>:<recipient>` and the condition key is
//! `[<index>].<base64url(sha1(when))>`. At most 100 entries are kept, the oldest dropped.

use crate::subscriptions::Destination;
use base64::Engine;
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;

pub const ANNOTATION: &str = "notified.notifications.argoproj.io";
const MAX_ENTRIES: usize = 100;

/// The key of condition `index` of a trigger, whose `when` is `when`.
pub fn condition_key(index: usize, when: &str) -> String {
    let digest = Sha1::digest(when.as_bytes());
    format!(
        "[{index}].{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

/// The entry for one condition result and destination.
pub fn entry_key(trigger: &str, condition: &str, once_per: &str, to: &Destination) -> String {
    let key = format!("{trigger}:{condition}:{}:{}", to.service, to.recipient);
    if once_per.is_empty() {
        key
    } else {
        format!("{once_per}:{key}")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifiedState(BTreeMap<String, i64>);

impl NotifiedState {
    /// The state an annotation holds (none, or one that is not JSON, is empty).
    pub fn from_annotation(value: Option<&str>) -> Self {
        NotifiedState(
            value
                .and_then(|v| serde_json::from_str(v).ok())
                .unwrap_or_default(),
        )
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Marks `key` as sent at `now`; false when it already was (nothing to send).
    pub fn mark_sent(&mut self, key: &str, now: i64) -> bool {
        if self.0.contains_key(key) {
            return false;
        }
        self.0.insert(key.to_string(), now);
        true
    }

    /// Forgets `key`: its condition became false (so it may fire again), or sending failed.
    pub fn forget(&mut self, key: &str) {
        self.0.remove(key);
    }

    /// The annotation's value, None when nothing is kept (the annotation is removed).
    pub fn to_annotation(&self) -> Option<String> {
        let mut kept = self.0.clone();
        if kept.len() > MAX_ENTRIES {
            let mut by_age: Vec<(&String, &i64)> = self.0.iter().collect();
            by_age.sort_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)));
            for (key, _) in by_age.into_iter().take(self.0.len() - MAX_ENTRIES) {
                kept.remove(key);
            }
        }
        (!kept.is_empty()).then(|| serde_json::to_string(&kept).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn keys_are_argo_cds() {
        let condition = condition_key(0, "app.status.operationState.phase in ['Succeeded']");
        assert!(condition.starts_with("[0]."));
        assert_eq!(condition.len(), 4 + 27, "sha1 is 20 bytes, 27 in base64url");
        let to = Destination::new("slack", "ops");
        assert_eq!(entry_key("on-x", "[0].h", "", &to), "on-x:[0].h:slack:ops");
        assert_eq!(
            entry_key("on-x", "[0].h", "abc", &to),
            "abc:on-x:[0].h:slack:ops"
        );
        // base64url without padding of SHA-1("true"), the on-created condition.
        assert_eq!(condition_key(0, "true"), "[0].X_5TO4MPCKAyY0ipFgr6_IraRNs");
    }

    #[test]
    fn sent_once_until_forgotten_and_kept_in_json() {
        let mut state = NotifiedState::from_annotation(Some("{\"a\": 5}"));
        assert!(!state.mark_sent("a", 9));
        assert!(state.mark_sent("b", 9));
        assert_eq!(state.to_annotation().as_deref(), Some("{\"a\":5,\"b\":9}"));
        state.forget("a");
        state.forget("b");
        assert_eq!(state.to_annotation(), None);
        assert_eq!(
            NotifiedState::from_annotation(Some("not json")),
            NotifiedState::default()
        );
    }

    #[test]
    fn only_the_newest_hundred_are_kept() {
        let mut state = NotifiedState::default();
        for i in 0..105 {
            state.mark_sent(&format!("k{i:03}"), i);
        }
        let kept = NotifiedState::from_annotation(state.to_annotation().as_deref());
        assert!(!kept.contains("k004") && kept.contains("k005") && kept.contains("k104"));
    }
}
