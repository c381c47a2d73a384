//! `RespectIgnoreDifferences=true`: what a sync applies keeps the live value of every ignored
//! field, so that ignoring a difference also means not overwriting it.
//!
//! Lists are matched item by item: where a path goes through a list of objects that have a
//! `name` (containers, ports, env …), the live item is found in the desired list by name, not
//! by position, so a reordered or longer list never moves a value onto the wrong item. A live
//! item that git does not have at all is left out of what is applied (with server-side apply,
//! leaving it out keeps it, since another field manager owns it).

use crate::ignore::IgnoreRules;
use crate::pointer::Segment;
use driftless_model::ResourceKey;
use serde_json::{Map, Value};

/// `desired` with every ignored field set to its live value (or removed where live has none).
pub fn respect_ignored(
    rules: &IgnoreRules,
    key: &ResourceKey,
    desired: &Value,
    live: &Value,
) -> Value {
    let mut out = desired.clone();
    for path in rules.selected_paths(key, live) {
        if let (Some(value), Some(target)) = (get(live, &path), map_path(live, &out, &path)) {
            set(&mut out, &target, value.clone());
        }
    }
    for path in rules.selected_paths(key, desired) {
        if map_path(desired, live, &path)
            .and_then(|p| get(live, &p))
            .is_none()
        {
            crate::pointer::remove_path(&mut out, &path);
        }
    }
    out
}

/// [`respect_ignored`] over a whole render: each desired object with a live counterpart keeps
/// the live values of its ignored fields; objects not yet live are returned as they are.
pub fn respect_ignored_all(rules: &IgnoreRules, desired: &[Value], live: &[Value]) -> Vec<Value> {
    let live: std::collections::BTreeMap<ResourceKey, &Value> = live
        .iter()
        .filter_map(|o| ResourceKey::of(o).ok().map(|k| (k, o)))
        .collect();
    desired
        .iter()
        .map(|want| {
            match ResourceKey::of(want)
                .ok()
                .and_then(|k| live.get(&k).map(|l| (k, *l)))
            {
                Some((key, have)) => respect_ignored(rules, &key, want, have),
                None => want.clone(),
            }
        })
        .collect()
}

fn get<'a>(doc: &'a Value, path: &[Segment]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |node, seg| match (seg, node) {
        (Segment::Key(k), Value::Object(map)) => map.get(k),
        (Segment::Index(i), Value::Array(list)) => list.get(*i),
        _ => None,
    })
}

/// Translates a path in `from` to the same place in `to`: keys stay, list indices follow the
/// item's `name` when the items have one. `None` when `to` has no such list item.
fn map_path(from: &Value, to: &Value, path: &[Segment]) -> Option<Vec<Segment>> {
    let mut out = Vec::with_capacity(path.len());
    let (mut a, mut b) = (Some(from), Some(to));
    for seg in path {
        let mapped = match seg {
            Segment::Key(k) => Segment::Key(k.clone()),
            Segment::Index(i) => {
                let item = a.and_then(|v| v.as_array()).and_then(|l| l.get(*i))?;
                let target = b.and_then(Value::as_array)?;
                match item.get("name").and_then(Value::as_str) {
                    Some(name) => Segment::Index(
                        target
                            .iter()
                            .position(|t| t.get("name").and_then(Value::as_str) == Some(name))?,
                    ),
                    None if *i < target.len() => Segment::Index(*i),
                    None => return None,
                }
            }
        };
        a = a.and_then(|v| get(v, std::slice::from_ref(seg)));
        b = b.and_then(|v| get(v, std::slice::from_ref(&mapped)));
        out.push(mapped);
    }
    Some(out)
}

/// Sets `value` at `path`, creating missing mappings on the way; a list index must exist.
fn set(doc: &mut Value, path: &[Segment], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        *doc = value;
        return;
    };
    let mut node = doc;
    for seg in parents {
        node = match seg {
            Segment::Key(k) => {
                if !node.is_object() {
                    *node = Value::Object(Map::new());
                }
                match node {
                    Value::Object(map) => map.entry(k.clone()).or_insert(Value::Null),
                    _ => return,
                }
            }
            Segment::Index(i) => match node.as_array_mut().and_then(|l| l.get_mut(*i)) {
                Some(item) => item,
                None => return,
            },
        };
    }
    match (last, node) {
        (Segment::Key(k), node) => {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            if let Value::Object(map) = node {
                map.insert(k.clone(), value);
            }
        }
        (Segment::Index(i), Value::Array(list)) if *i < list.len() => list[*i] = value,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IgnoreRule;
    use serde_json::json;

    fn rules(pointers: &[&str], jq: &[&str]) -> IgnoreRules {
        IgnoreRules::new(&[IgnoreRule {
            group: "apps".into(),
            kind: "Deployment".into(),
            json_pointers: pointers.iter().map(|s| s.to_string()).collect(),
            jq_path_expressions: jq.iter().map(|s| s.to_string()).collect(),
            ..IgnoreRule::default()
        }])
        .unwrap()
    }

    fn key() -> ResourceKey {
        ResourceKey::new("apps", "Deployment", "shop", "web")
    }

    #[test]
    fn ignored_scalar_keeps_its_live_value_and_the_rest_comes_from_git() {
        let desired = json!({"spec": {"replicas": 2, "paused": false}});
        let live = json!({"spec": {"replicas": 7, "paused": true}});
        let out = respect_ignored(&rules(&["/spec/replicas"], &[]), &key(), &desired, &live);
        assert_eq!(out, json!({"spec": {"replicas": 7, "paused": false}}));
    }

    #[test]
    fn list_items_are_matched_by_name_not_position() {
        let desired = json!({"spec": {"containers": [{"name": "app", "image": "app:2"}, {"name": "log", "image": "log:1"}]}});
        // Live has the items in another order, plus an injected sidecar git does not have.
        let live = json!({"spec": {"containers": [
            {"name": "proxy", "image": "proxy:9"}, {"name": "log", "image": "log:5"}, {"name": "app", "image": "app:1"}]}});
        let jq = ".spec.containers[] | select(.name == \"log\") | .image";
        let out = respect_ignored(
            &rules(
                &[],
                &[jq, ".spec.containers[] | select(.name == \"proxy\")"],
            ),
            &key(),
            &desired,
            &live,
        );
        assert_eq!(
            out,
            json!({"spec": {"containers": [{"name": "app", "image": "app:2"}, {"name": "log", "image": "log:5"}]}}),
            "the log image comes from live, app's from git, and the sidecar is not added"
        );
    }

    #[test]
    fn ignored_field_absent_live_is_not_applied() {
        let desired = json!({"metadata": {"annotations": {"owner": "git", "team": "a"}}});
        let live = json!({"metadata": {"annotations": {"team": "a"}}});
        let out = respect_ignored(
            &rules(&["/metadata/annotations/owner"], &[]),
            &key(),
            &desired,
            &live,
        );
        assert_eq!(out, json!({"metadata": {"annotations": {"team": "a"}}}));
    }
}
