//! The diff of one object: normalize both sides, take ignored fields out, compare, and
//! print a masked unified diff.

use crate::compare::{Comparison, compare_all_fields, compare_desired_fields};
use crate::ignore::{IgnoreError, IgnoreRule, IgnoreRules};
use crate::managed_fields::ManagedFieldsError;
use crate::mask::SecretMasker;
use crate::normalize::normalize;
use crate::pointer::{Segment, format_pointer};
use crate::removed::removed_from_desired;
use crate::text::unified_diff;
use driftless_model::ResourceKey;
use driftless_model::annotations::FIELD_MANAGER;
use driftless_model::key::KeyError;
use serde_json::Value;

/// How an object stands between git and the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncStatus {
    Synced,
    OutOfSync,
    /// In git, not in the cluster.
    Missing,
    /// In the cluster (tracked by the application), not in git.
    Extraneous,
}

/// The result of comparing one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDiff {
    pub key: ResourceKey,
    pub status: SyncStatus,
    /// JSON pointers of the fields that differ (empty unless OutOfSync). A list whose
    /// length differs is one path, the list's.
    pub changed_paths: Vec<String>,
    /// Unified diff of the YAML of live → desired (or predicted), Secrets masked;
    /// None when Synced.
    pub text: Option<String>,
}

/// Why an object could not be diffed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    #[error("failed to diff: neither a desired nor a live object was given")]
    NothingToCompare,
    #[error("failed to diff: {0}")]
    NotAnObject(#[from] KeyError),
    /// The keys, as `group/Kind/namespace/name`.
    #[error(
        "failed to diff: desired object {desired} and live object {live} are not the same object"
    )]
    DifferentObjects { desired: String, live: String },
    #[error(transparent)]
    Ignore(#[from] IgnoreError),
    #[error("failed to find fields removed from git: {0}")]
    ManagedFields(#[from] ManagedFieldsError),
}

/// Compares desired and live objects under a set of ignoreDifferences rules.
/// Build one per application (app rules followed by system-wide rules) and reuse it.
#[derive(Debug)]
pub struct Differ {
    rules: IgnoreRules,
    masker: SecretMasker,
    field_manager: Option<String>,
}

impl Differ {
    /// `rules`: the app's ignoreDifferences followed by the system-wide ones.
    /// `mask_salt` keys the Secret masks: random per process in production (e.g. 32 bytes
    /// from `rand`), so masks cannot be matched across processes; fixed in tests.
    pub fn new(rules: &[IgnoreRule], mask_salt: impl Into<Vec<u8>>) -> Result<Self, DiffError> {
        Ok(Self {
            rules: IgnoreRules::new(rules)?,
            masker: SecretMasker::new(mask_salt),
            field_manager: Some(FIELD_MANAGER.to_owned()),
        })
    }

    /// The field manager whose applied fields, once gone from git, count as differences
    /// (see the crate docs); `driftless` unless set here. None turns that check off,
    /// leaving the plain desired-fields rule.
    pub fn with_field_manager(mut self, manager: Option<&str>) -> Self {
        self.field_manager = manager.map(str::to_owned);
        self
    }

    /// Offline diff: a live object is Synced when every field the desired manifest sets
    /// has the same value live, after normalization and ignoreDifferences (see the crate docs).
    pub fn diff(
        &self,
        desired: Option<&Value>,
        live: Option<&Value>,
    ) -> Result<ObjectDiff, DiffError> {
        let key = pair_key(desired, live)?;
        match (desired, live) {
            (Some(desired), Some(live_raw)) => {
                let (mut desired, mut live) = (normalize(desired), normalize(live_raw));
                self.rules
                    .apply(&key, &[live_raw], &mut [&mut desired, &mut live])?;
                let mut comparison = compare_desired_fields(&desired, &live);
                if let Some(manager) = &self.field_manager {
                    for path in removed_from_desired(live_raw, &live, &desired, manager)? {
                        add_removed(&mut comparison, &live, &path);
                    }
                }
                if comparison.changed_paths.is_empty() {
                    return Ok(ObjectDiff {
                        key,
                        status: SyncStatus::Synced,
                        changed_paths: Vec::new(),
                        text: None,
                    });
                }
                let text = self.text(
                    &key,
                    "live",
                    Some(comparison.live_view),
                    "desired",
                    Some(comparison.desired_view),
                );
                Ok(ObjectDiff {
                    key,
                    status: SyncStatus::OutOfSync,
                    changed_paths: comparison.changed_paths,
                    text: Some(text),
                })
            }
            (Some(desired), None) => {
                let mut desired = normalize(desired);
                self.rules.apply(&key, &[], &mut [&mut desired])?;
                let text = self.text(&key, "live", None, "desired", Some(desired));
                Ok(ObjectDiff {
                    key,
                    status: SyncStatus::Missing,
                    changed_paths: Vec::new(),
                    text: Some(text),
                })
            }
            (None, Some(live_raw)) => {
                let mut live = normalize(live_raw);
                self.rules.apply(&key, &[live_raw], &mut [&mut live])?;
                let text = self.text(&key, "live", Some(live), "desired", None);
                Ok(ObjectDiff {
                    key,
                    status: SyncStatus::Extraneous,
                    changed_paths: Vec::new(),
                    text: Some(text),
                })
            }
            (None, None) => Err(DiffError::NothingToCompare),
        }
    }

    /// Server-side diff: `predicted` is the result of a dry-run apply of the desired
    /// manifest (so it carries defaults and webhook mutations the offline rule cannot
    /// know); after the same normalization and ignoreDifferences, every field counts.
    pub fn diff_server_side(
        &self,
        predicted: &Value,
        live: &Value,
    ) -> Result<ObjectDiff, DiffError> {
        let key = pair_key(Some(predicted), Some(live))?;
        let (mut predicted_n, mut live_n) = (normalize(predicted), normalize(live));
        self.rules.apply(
            &key,
            &[live, predicted],
            &mut [&mut predicted_n, &mut live_n],
        )?;
        let changed_paths = compare_all_fields(&predicted_n, &live_n);
        if changed_paths.is_empty() {
            return Ok(ObjectDiff {
                key,
                status: SyncStatus::Synced,
                changed_paths,
                text: None,
            });
        }
        let text = self.text(&key, "live", Some(live_n), "predicted", Some(predicted_n));
        Ok(ObjectDiff {
            key,
            status: SyncStatus::OutOfSync,
            changed_paths,
            text: Some(text),
        })
    }

    /// Every diff text goes through here, so Secrets are always masked before printing.
    fn text(
        &self,
        key: &ResourceKey,
        old_label: &str,
        mut old: Option<Value>,
        new_label: &str,
        mut new: Option<Value>,
    ) -> String {
        if key.group.is_empty() && key.kind == "Secret" {
            for side in [&mut old, &mut new].into_iter().flatten() {
                self.masker.mask_secret(side);
            }
        }
        unified_diff(key, old_label, old.as_ref(), new_label, new.as_ref())
    }
}

/// Records a field removed from git, unless a path above it is already recorded (a list
/// whose length differs), and shows its live value in the live view.
fn add_removed(comparison: &mut Comparison, live: &Value, path: &[Segment]) {
    let pointer = format_pointer(path);
    let covered = comparison.changed_paths.iter().any(|p| {
        pointer == *p
            || pointer
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    });
    if covered {
        return;
    }
    comparison.changed_paths.push(pointer);
    let Some(value) = lookup(live, path) else {
        return;
    };
    let mut view = &mut comparison.live_view;
    for (depth, segment) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        view = match (view, segment) {
            (Value::Object(map), Segment::Key(k)) if last => {
                map.insert(k.clone(), value.clone());
                return;
            }
            (Value::Object(map), Segment::Key(k)) => map
                .entry(k.clone())
                .or_insert_with(|| Value::Object(Default::default())),
            (Value::Array(items), Segment::Index(i)) if !last => match items.get_mut(*i) {
                Some(item) => item,
                None => return,
            },
            // A whole list item gone from git: the list is already in the view whole.
            _ => return,
        };
    }
}

fn lookup<'a>(value: &'a Value, path: &[Segment]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |v, segment| match (v, segment) {
            (Value::Object(map), Segment::Key(k)) => map.get(k.as_str()),
            (Value::Array(items), Segment::Index(i)) => items.get(*i),
            _ => None,
        })
}

/// The key of the pair; live's when both are given, since a desired manifest may leave
/// its namespace to the application's destination.
fn pair_key(desired: Option<&Value>, live: Option<&Value>) -> Result<ResourceKey, DiffError> {
    match (
        desired.map(ResourceKey::of).transpose()?,
        live.map(ResourceKey::of).transpose()?,
    ) {
        (Some(d), Some(l)) => {
            let same = d.group == l.group
                && d.kind == l.kind
                && d.name == l.name
                && (d.namespace.is_empty() || d.namespace == l.namespace);
            if same {
                Ok(l)
            } else {
                Err(DiffError::DifferentObjects {
                    desired: d.to_string(),
                    live: l.to_string(),
                })
            }
        }
        (Some(key), None) | (None, Some(key)) => Ok(key),
        (None, None) => Err(DiffError::NothingToCompare),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_differ_can_be_shared_between_threads() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        send_sync(&Differ::new(&[], b"t".to_vec()).unwrap());
    }

    #[test]
    fn the_removed_field_check_can_be_turned_off() {
        let desired = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}});
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "n", "managedFields": [
                {"manager": "driftless", "operation": "Apply", "fieldsV1": {"f:data": {"f:old": {}}}}]},
            "data": {"old": "value"}});
        let on = Differ::new(&[], b"t".to_vec()).unwrap();
        assert_eq!(
            on.diff(Some(&desired), Some(&live)).unwrap().changed_paths,
            ["/data/old"]
        );
        let off = Differ::new(&[], b"t".to_vec())
            .unwrap()
            .with_field_manager(None);
        assert_eq!(
            off.diff(Some(&desired), Some(&live)).unwrap().status,
            SyncStatus::Synced
        );
    }

    #[test]
    fn pairing_different_objects_is_an_error() {
        let differ = Differ::new(&[], b"t".to_vec()).unwrap();
        let a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        let b = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "n"}});
        assert!(matches!(
            differ.diff(Some(&a), Some(&b)),
            Err(DiffError::DifferentObjects { .. })
        ));
        assert!(matches!(
            differ.diff(None, None),
            Err(DiffError::NothingToCompare)
        ));
        assert!(matches!(
            differ.diff(Some(&json!("x")), None),
            Err(DiffError::NotAnObject(_))
        ));
    }

    #[test]
    fn desired_without_namespace_pairs_with_live_and_takes_its_key() {
        let differ = Differ::new(&[], b"t".to_vec()).unwrap();
        let desired = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}});
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}, "data": {"k": "v"}});
        let diff = differ.diff(Some(&desired), Some(&live)).unwrap();
        assert_eq!(diff.key.to_string(), "/ConfigMap/n/a");
        assert_eq!(diff.status, SyncStatus::Synced);
    }
}
