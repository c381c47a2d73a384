//! Edits to Applications and AppProjects for the audit log (pure): an object whose `spec`
//! changed since it was last seen, one created after the first listing, one deleted. Who
//! edited it comes from `managedFields`: the newest entry that owns fields of `spec` names
//! the field manager (kubectl, the API server on behalf of a user, a CI job …).
//!
//! What the controller did not see (edits while it was down) is not recorded: the first
//! listing after a start only remembers what it lists.

use driftless_audit::{Kind, Record};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;
use std::collections::HashMap;

/// The spec last seen per object key: its generation and hash.
#[derive(Debug, Default)]
pub struct EditTracker {
    specs: HashMap<String, (Option<i64>, String)>,
}

/// One object as a watch delivered it.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// `Kind::ApplicationEdited` or `Kind::ProjectEdited`.
    pub kind: Kind,
    /// `namespace/name` for an app, the name for a project.
    pub key: &'a str,
    /// The app's project, or the project itself.
    pub project: &'a str,
    pub metadata: &'a ObjectMeta,
    pub spec: &'a Value,
}

impl EditTracker {
    /// `object` was listed or changed; `listed`: the watch's first listing is over. Returns
    /// the record of an edit, if its spec changed (or it is new after the listing).
    pub fn applied(&mut self, object: Observed<'_>, listed: bool, time: &str) -> Option<Record> {
        let generation = object.metadata.generation;
        let seen = self.specs.get(object.key);
        // Status writes (most events) leave the generation alone: no need to hash the spec.
        if generation.is_some() && seen.is_some_and(|(g, _)| *g == generation) {
            return None;
        }
        let hash = driftless_audit::content_hash(object.spec);
        let before = self
            .specs
            .insert(object.key.to_string(), (generation, hash.clone()))
            .map(|(_, hash)| hash);
        if !listed || before.as_ref() == Some(&hash) {
            return None;
        }
        let message = if before.is_some() {
            "spec changed"
        } else {
            "created"
        };
        Some(Record {
            before,
            after: Some(hash),
            message: Some(message.into()),
            user: editor_of(object.metadata),
            ..base(object, time)
        })
    }

    /// `object` was deleted; the API server does not say by whom.
    pub fn deleted(&mut self, object: Observed<'_>, time: &str) -> Option<Record> {
        let (_, before) = self.specs.remove(object.key)?;
        Some(Record {
            before: Some(before),
            message: Some("deleted".into()),
            ..base(object, time)
        })
    }
}

fn base(object: Observed<'_>, time: &str) -> Record {
    let app = (object.kind == Kind::ApplicationEdited).then(|| object.key.to_string());
    Record {
        time: time.to_string(),
        kind: Some(object.kind),
        app,
        project: Some(object.project.to_string()),
        ..Record::default()
    }
}

/// The field manager of the newest `managedFields` entry that owns part of `spec` (status
/// writes are a subresource of their own and never count).
pub fn editor_of(metadata: &ObjectMeta) -> Option<String> {
    metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|entry| entry.subresource.as_deref().unwrap_or_default().is_empty())
        .filter(|entry| {
            entry
                .fields_v1
                .as_ref()
                .is_some_and(|fields| fields.0.get("f:spec").is_some())
        })
        .max_by(|a, b| {
            a.time
                .as_ref()
                .map(|t| t.0)
                .cmp(&b.time.as_ref().map(|t| t.0))
        })
        .and_then(|entry| entry.manager.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn metadata(value: serde_json::Value) -> ObjectMeta {
        serde_json::from_value(value).expect("metadata")
    }

    const NOW: &str = "2026-12-04T18:00:00.000Z";

    #[test]
    fn the_newest_spec_owner_is_the_editor() {
        let meta = metadata(serde_json::json!({"managedFields": [
            {"manager": "kubectl-client-side-apply", "operation": "Update", "time": "2026-12-01T10:00:00Z",
             "fieldsV1": {"f:spec": {"f:source": {}}}},
            {"manager": "kubectl-edit", "operation": "Update", "time": "2026-12-04T17:00:00Z",
             "fieldsV1": {"f:spec": {"f:source": {"f:targetRevision": {}}}}},
            {"manager": "driftless-controller", "operation": "Update", "time": "2026-12-04T17:30:00Z",
             "subresource": "status", "fieldsV1": {"f:status": {}}},
            {"manager": "driftless-controller", "operation": "Update", "time": "2026-12-04T17:31:00Z",
             "fieldsV1": {"f:metadata": {"f:annotations": {}}}}]}));
        assert_eq!(editor_of(&meta).as_deref(), Some("kubectl-edit"));
    }

    #[test]
    fn only_spec_changes_after_the_first_listing_are_edits() {
        let mut tracker = EditTracker::default();
        let meta = metadata(serde_json::json!({"managedFields": [
            {"manager": "kubectl-edit", "operation": "Update", "time": "2026-12-04T17:00:00Z",
             "fieldsV1": {"f:spec": {}}}]}));
        let v1 = serde_json::json!({"source": {"targetRevision": "v1"}});
        let v2 = serde_json::json!({"source": {"targetRevision": "v2"}});
        let seen = |spec| Observed {
            kind: Kind::ApplicationEdited,
            key: "argocd/shop",
            project: "default",
            metadata: &meta,
            spec,
        };
        assert_eq!(
            tracker.applied(seen(&v1), false, NOW),
            None,
            "the first listing only remembers"
        );
        assert_eq!(
            tracker.applied(seen(&v1), true, NOW),
            None,
            "a status write is not an edit"
        );
        let edit = tracker
            .applied(seen(&v2), true, NOW)
            .expect("a spec change is an edit");
        assert_eq!(edit.kind, Some(Kind::ApplicationEdited));
        assert_eq!(edit.user.as_deref(), Some("kubectl-edit"));
        assert_eq!(edit.app.as_deref(), Some("argocd/shop"));
        assert_eq!(edit.message.as_deref(), Some("spec changed"));
        assert_ne!(edit.before, edit.after);
        let deleted = tracker
            .deleted(seen(&v2), NOW)
            .expect("a deletion is recorded");
        assert_eq!(deleted.message.as_deref(), Some("deleted"));
        assert_eq!(tracker.deleted(seen(&v2), NOW), None, "once");
        let created = tracker
            .applied(seen(&v1), true, NOW)
            .expect("created after the listing");
        assert_eq!(created.message.as_deref(), Some("created"));
    }

    #[test]
    fn a_generation_seen_before_is_a_status_write_and_a_new_one_an_edit() {
        let mut tracker = EditTracker::default();
        let at = |generation: i64| metadata(serde_json::json!({"generation": generation}));
        let (one, two) = (at(1), at(2));
        let spec = serde_json::json!({"source": {"targetRevision": "v1"}});
        let seen = |metadata| Observed {
            kind: Kind::ProjectEdited,
            key: "shop",
            project: "shop",
            metadata,
            spec: &spec,
        };
        assert_eq!(tracker.applied(seen(&one), false, NOW), None);
        assert_eq!(tracker.applied(seen(&one), true, NOW), None);
        // The API server bumps the generation for `operation` too: the spec hash still decides.
        assert_eq!(tracker.applied(seen(&two), true, NOW), None);
        let changed = serde_json::json!({"source": {"targetRevision": "v2"}});
        let edit = tracker.applied(
            Observed {
                metadata: &at(3),
                spec: &changed,
                ..seen(&two)
            },
            true,
            NOW,
        );
        let edit = edit.expect("a new generation with another spec is an edit");
        assert_eq!(edit.kind, Some(Kind::ProjectEdited));
        assert_eq!(edit.app, None, "a project edit names no app");
    }
}
