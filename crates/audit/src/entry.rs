//! What one audit entry says, and the hashes that chain entries together.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// What happened. Serialized, displayed and parsed as the variant name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    SyncStarted,
    SyncCompleted,
    ObjectApplied,
    ObjectPruned,
    HookRun,
    SyncLoopTripped,
    GuardRefused,
    ApplicationEdited,
    ProjectEdited,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::SyncStarted,
        Kind::SyncCompleted,
        Kind::ObjectApplied,
        Kind::ObjectPruned,
        Kind::HookRun,
        Kind::SyncLoopTripped,
        Kind::GuardRefused,
        Kind::ApplicationEdited,
        Kind::ProjectEdited,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::SyncStarted => "SyncStarted",
            Kind::SyncCompleted => "SyncCompleted",
            Kind::ObjectApplied => "ObjectApplied",
            Kind::ObjectPruned => "ObjectPruned",
            Kind::HookRun => "HookRun",
            Kind::SyncLoopTripped => "SyncLoopTripped",
            Kind::GuardRefused => "GuardRefused",
            Kind::ApplicationEdited => "ApplicationEdited",
            Kind::ProjectEdited => "ProjectEdited",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit entry kind {given:?} (one of {})", Kind::ALL.map(|k| k.as_str()).join(", "))]
pub struct UnknownKind {
    pub given: String,
}

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind {
                given: s.to_string(),
            })
    }
}

/// What the caller records; the store assigns seq and hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// RFC 3339 UTC with milliseconds, "2026-12-04T18:00:00.123Z".
    pub time: String,
    /// `Option` only so `Default` works; the store refuses `None`.
    pub kind: Option<Kind>,
    /// "namespace/name".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// commit | drift | webhook | chart-version | manual | rollback | self-heal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// "apps/Deployment shop/web".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// [`content_hash`] of the object before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Already masked by the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Succeeded | Failed | Error | Refused | ….
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// A stored record: its place in the chain and its hashes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub seq: u64,
    pub prev_hash: String,
    pub hash: String,
    #[serde(flatten)]
    pub record: Record,
}

impl Entry {
    /// Whether `hash` is what `seq`, `prev_hash` and the record hash to.
    pub fn hash_matches(&self) -> bool {
        entry_hash(self.seq, &self.prev_hash, &self.record) == self.hash
    }
}

/// The newest entry of a log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

/// The `prev_hash` of entry 1.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The current time as a record wants it: RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    format_time(jiff::Timestamp::now())
}

/// RFC 3339 UTC with milliseconds, the one format times are stored and compared in.
pub fn format_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Any RFC 3339 time in the stored format, so it compares as text with stored times
/// ("2026-12-04T19:00:00+01:00" becomes "2026-12-04T18:00:00.000Z").
pub fn normalize_time(text: &str) -> Result<String, BadTime> {
    text.parse::<jiff::Timestamp>()
        .map(format_time)
        .map_err(|source| BadTime {
            text: text.to_string(),
            source,
        })
}

#[derive(Debug, thiserror::Error)]
#[error("failed to read {text:?} as an RFC 3339 time")]
pub struct BadTime {
    pub text: String,
    #[source]
    pub source: jiff::Error,
}

/// The JSON text of `value` with every object's keys sorted, so equal values hash alike
/// whatever order their keys were built in.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&map[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// SHA-256 hex of a JSON value's canonical text (sorted keys), for `before`/`after`.
pub fn content_hash(value: &Value) -> String {
    hex::encode(Sha256::digest(canonical_json(value).as_bytes()))
}

/// SHA-256 hex over an unambiguous encoding of `seq`, `prev_hash` and the record's canonical
/// JSON: a domain tag, then seq as 8 big-endian bytes, then each text prefixed by its length.
pub fn entry_hash(seq: u64, prev_hash: &str, record: &Record) -> String {
    // A Record always serializes (strings, numbers and a unit enum only).
    let json = serde_json::to_value(record)
        .map(|v| canonical_json(&v))
        .unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(b"driftless audit entry v1\n");
    hasher.update(seq.to_be_bytes());
    for part in [prev_hash.as_bytes(), json.as_bytes()] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn record() -> Record {
        Record {
            time: "2026-12-04T18:00:00.123Z".into(),
            kind: Some(Kind::ObjectApplied),
            app: Some("shop/web".into()),
            object: Some("apps/Deployment shop/web".into()),
            duration_ms: Some(12),
            ..Record::default()
        }
    }

    #[test]
    fn kinds_read_and_print_as_their_names() {
        for kind in Kind::ALL {
            assert_eq!(kind.to_string().parse::<Kind>().unwrap(), kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.to_string()));
        }
        let e = "Synced".parse::<Kind>().unwrap_err();
        assert!(e.to_string().contains("SyncCompleted"), "{e}");
    }

    #[test]
    fn an_entry_serializes_flat_in_camel_case_without_empty_fields() {
        let entry = Entry {
            seq: 3,
            prev_hash: GENESIS.into(),
            hash: "h".into(),
            record: record(),
        };
        let value = serde_json::to_value(&entry).unwrap();
        assert_eq!(
            value,
            json!({"seq": 3, "prevHash": GENESIS, "hash": "h", "time": "2026-12-04T18:00:00.123Z",
                   "kind": "ObjectApplied", "app": "shop/web", "object": "apps/Deployment shop/web",
                   "durationMs": 12})
        );
        assert_eq!(serde_json::from_value::<Entry>(value).unwrap(), entry);
    }

    #[test]
    fn content_hash_ignores_key_order_but_not_values() {
        let a = json!({"b": 1, "a": {"y": [1, {"q": 1, "p": 2}], "x": null}});
        let b: Value =
            serde_json::from_str(r#"{"a": {"x": null, "y": [1, {"p": 2, "q": 1}]}, "b": 1}"#)
                .unwrap();
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_ne!(
            content_hash(&a),
            content_hash(&json!({"b": 2, "a": {"y": [1, {"q": 1, "p": 2}], "x": null}}))
        );
        assert_eq!(content_hash(&a).len(), 64);
    }

    #[test]
    fn entry_hash_covers_seq_prev_hash_and_every_field() {
        let base = entry_hash(1, GENESIS, &record());
        assert_eq!(base, entry_hash(1, GENESIS, &record()));
        assert_ne!(base, entry_hash(2, GENESIS, &record()));
        assert_ne!(base, entry_hash(1, &"1".repeat(64), &record()));
        let edits: [fn(&mut Record); 4] = [
            |r| r.message = Some("x".into()),
            |r| r.duration_ms = Some(13),
            |r| r.kind = Some(Kind::ObjectPruned),
            |r| r.time.push('0'),
        ];
        for edit in edits {
            let mut r = record();
            edit(&mut r);
            assert_ne!(base, entry_hash(1, GENESIS, &r));
        }
        // Moving text between prev_hash and the record must not collide (length prefixes).
        let mut r = record();
        r.time = String::new();
        assert_ne!(entry_hash(1, "ab", &r), entry_hash(1, "a", &r));
    }

    #[test]
    fn times_normalize_to_the_stored_format() {
        assert_eq!(
            normalize_time("2026-12-04T19:00:00+01:00").unwrap(),
            "2026-12-04T18:00:00.000Z"
        );
        assert_eq!(
            normalize_time("2026-12-04T18:00:00.123456Z").unwrap(),
            "2026-12-04T18:00:00.123Z"
        );
        assert!(normalize_time("yesterday").is_err());
        assert_eq!(now().len(), "2026-12-04T18:00:00.123Z".len());
        assert!(now().ends_with('Z'));
    }
}
