//! Fields removed from git: the third way of the offline comparison.
//!
//! The desired-fields rule cannot see a field that git no longer sets but live still has.
//! driftless applies with server-side apply under one field manager, so live
//! `managedFields` records what it applied last (operation `Apply`). A field that manager
//! owns, that live still has, and that the desired manifest no longer sets, is one the
//! next apply removes: a difference. Excepted: fields another manager also owns (the API
//! server keeps them on apply), empty or zero values (nothing to remove), and the tracking
//! annotation and label, which driftless adds at apply time.

use crate::compare::is_empty_or_zero;
use crate::managed_fields::{Element, ManagedFieldsError, OwnedFields};
use crate::pointer::Segment;
use driftless_model::annotations::{INSTANCE_LABEL, TRACKING_ID};
use serde_json::Value;
use std::collections::HashSet;

/// Live paths (concrete keys and indices) of fields `manager` applied that `desired` no
/// longer sets. `raw_live` supplies managedFields; `live` and `desired` are normalized,
/// with ignored fields already taken out (so an ignored field is never reported).
pub fn removed_from_desired(
    raw_live: &Value,
    live: &Value,
    desired: &Value,
    manager: &str,
) -> Result<Vec<Vec<Segment>>, ManagedFieldsError> {
    let entries = raw_live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array);
    let mut ours = Vec::new();
    let mut others = HashSet::new();
    for entry in entries.into_iter().flatten() {
        let Some(name) = entry.get("manager").and_then(Value::as_str) else {
            continue;
        };
        let Some(fields) = entry.get("fieldsV1") else {
            continue;
        };
        let owned = OwnedFields::parse(fields, name)?;
        let applied = entry.get("operation").and_then(Value::as_str) == Some("Apply");
        if name == manager && applied {
            ours.push(owned);
        } else {
            collect_owned_paths(&owned, live, &mut Vec::new(), &mut others);
        }
    }
    let mut found = Vec::new();
    let mut walk = Walk {
        others: &others,
        found: &mut found,
        path: Vec::new(),
    };
    for owned in &ours {
        walk.node(owned, live, Some(desired));
    }
    found.retain(|path| !is_tracking_metadata(path));
    found.sort();
    found.dedup();
    Ok(found)
}

struct Walk<'a> {
    others: &'a HashSet<Vec<Segment>>,
    found: &'a mut Vec<Vec<Segment>>,
    path: Vec<Segment>,
}

impl Walk<'_> {
    fn owned_by_others(&self) -> bool {
        (0..=self.path.len()).any(|n| self.others.contains(&self.path[..n]))
    }

    fn report_if_gone(&mut self, live: &Value, desired: Option<&Value>) {
        if desired.is_none() && !is_empty_or_zero(live) && !self.owned_by_others() {
            self.found.push(self.path.clone());
        }
    }

    fn node(&mut self, owned: &OwnedFields, live: &Value, desired: Option<&Value>) {
        for (element, child) in &owned.children {
            match (element, live) {
                (Element::Field(name), Value::Object(live_map)) => {
                    let Some(live_value) = live_map.get(name.as_str()) else {
                        continue;
                    };
                    let desired_value = desired
                        .and_then(|d| d.get(name.as_str()))
                        .filter(|v| !v.is_null());
                    self.path.push(Segment::Key(name.clone()));
                    if child.children.is_empty() {
                        self.report_if_gone(live_value, desired_value);
                    } else {
                        self.node(child, live_value, desired_value);
                    }
                    self.path.pop();
                }
                (_, Value::Array(live_items)) => {
                    let desired_items = desired.and_then(Value::as_array);
                    for (i, live_item) in live_items.iter().enumerate() {
                        if !element.matches_item(i, live_item) {
                            continue;
                        }
                        let desired_item = desired_items
                            .and_then(|items| {
                                items
                                    .iter()
                                    .enumerate()
                                    .find(|(j, item)| element.matches_item(*j, item))
                            })
                            .map(|(_, item)| item);
                        self.path.push(Segment::Index(i));
                        if (child.owns_self || child.children.is_empty()) && desired_item.is_none()
                        {
                            self.report_if_gone(live_item, None);
                        } else {
                            self.node(child, live_item, desired_item);
                        }
                        self.path.pop();
                    }
                }
                _ => {}
            }
        }
    }
}

/// Concrete live paths of what `owned` names: its leaves, and list items it owns.
fn collect_owned_paths(
    owned: &OwnedFields,
    live: &Value,
    path: &mut Vec<Segment>,
    out: &mut HashSet<Vec<Segment>>,
) {
    for (element, child) in &owned.children {
        match (element, live) {
            (Element::Field(name), Value::Object(map)) => {
                let Some(value) = map.get(name.as_str()) else {
                    continue;
                };
                path.push(Segment::Key(name.clone()));
                if child.children.is_empty() {
                    out.insert(path.clone());
                } else {
                    collect_owned_paths(child, value, path, out);
                }
                path.pop();
            }
            (_, Value::Array(items)) => {
                for (i, item) in items
                    .iter()
                    .enumerate()
                    .filter(|(i, item)| element.matches_item(*i, item))
                {
                    path.push(Segment::Index(i));
                    if child.owns_self || child.children.is_empty() {
                        out.insert(path.clone());
                    }
                    collect_owned_paths(child, item, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
}

fn is_tracking_metadata(path: &[Segment]) -> bool {
    let key = |s: &Segment, want: &str| matches!(s, Segment::Key(k) if k == want);
    match path {
        [meta, map, name] => {
            key(meta, "metadata")
                && ((key(map, "annotations") && key(name, TRACKING_ID))
                    || (key(map, "labels") && key(name, INSTANCE_LABEL)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pointer::format_pointer;
    use serde_json::json;

    fn live() -> Value {
        json!({
            "metadata": {"name": "web", "labels": {"app": "web", "team": "a"}, "managedFields": [
                {"manager": "driftless", "operation": "Apply", "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:app": {}, "f:team": {}}},
                    "f:spec": {"f:paused": {}, "f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:args": {}, "f:name": {}}}}
                }},
                {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}}}}}
            ]},
            "spec": {"paused": false, "containers": [{"name": "web", "args": ["--x"]}, {"name": "other"}]}
        })
    }

    fn removed(desired: Value) -> Vec<String> {
        let raw = live();
        let live = crate::normalize::normalize(&raw);
        removed_from_desired(&raw, &live, &desired, "driftless")
            .unwrap()
            .iter()
            .map(|p| format_pointer(p))
            .collect()
    }

    #[test]
    fn a_field_dropped_from_git_is_reported_unless_someone_else_owns_it() {
        let desired =
            json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "web"}]}});
        // labels/team is co-owned by kubectl-edit; paused is false (nothing to remove).
        assert_eq!(
            removed(desired),
            ["/metadata/labels/app", "/spec/containers/0/args"]
        );
    }

    #[test]
    fn nothing_is_reported_when_git_still_sets_everything() {
        let desired = json!({"metadata": {"labels": {"app": "web", "team": "a"}},
            "spec": {"paused": false, "containers": [{"name": "web", "args": ["--x"]}]}});
        assert_eq!(removed(desired), Vec::<String>::new());
    }

    #[test]
    fn a_whole_item_dropped_from_git_is_reported_at_the_item() {
        let desired = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "other"}]}});
        assert_eq!(removed(desired), ["/spec/containers/0"]);
    }
}
