//! The input of `check`: every rendered object of every Application, and an index over it
//! so that cross-object rules (references, collisions) look things up instead of scanning.

use driftless_model::ResourceKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// One rendered object and the Application that renders it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppObject {
    pub app: String,
    pub object: Value,
}

/// The whole rendered tree: every object of every Application checked together.
/// Objects should carry `metadata.namespace` (the Application's destination namespace filled
/// in where the manifest left it out), since references are resolved by namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub objects: Vec<AppObject>,
}

impl Tree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, app: impl Into<String>, object: Value) {
        self.objects.push(AppObject {
            app: app.into(),
            object,
        });
    }

    /// A tree of one Application's objects.
    pub fn of_app(app: &str, objects: impl IntoIterator<Item = Value>) -> Self {
        let objects = objects.into_iter().map(|object| AppObject {
            app: app.to_string(),
            object,
        });
        Self {
            objects: objects.collect(),
        }
    }
}

/// An object of the tree with its identity worked out once.
#[derive(Debug)]
pub(crate) struct Obj<'a> {
    pub app: &'a str,
    pub value: &'a Value,
    pub key: ResourceKey,
}

impl Obj<'_> {
    pub fn ns(&self) -> &str {
        &self.key.namespace
    }

    pub fn name(&self) -> &str {
        &self.key.name
    }

    /// The value at a JSON pointer, e.g. `/spec/hosts`.
    pub fn at(&self, pointer: &str) -> Option<&Value> {
        self.value.pointer(pointer)
    }
}

/// The tree indexed by kind and by identity. Objects without an identity (no kind or name)
/// are left out: no rule can name them in a finding.
pub(crate) struct Context<'a> {
    pub objects: Vec<Obj<'a>>,
    /// (group, kind, indexes): a short list, one entry per kind in the tree.
    by_kind: Vec<(&'a str, &'a str, Vec<usize>)>,
    by_key: HashMap<ResourceKey, usize>,
}

impl<'a> Context<'a> {
    pub fn new(tree: &'a Tree) -> Self {
        let objects: Vec<Obj<'a>> = tree
            .objects
            .iter()
            .filter_map(|o| {
                ResourceKey::of(&o.object).ok().map(|key| Obj {
                    app: &o.app,
                    value: &o.object,
                    key,
                })
            })
            .collect();
        let mut by_kind: HashMap<(&'a str, &'a str), Vec<usize>> = HashMap::new();
        let mut by_key = HashMap::new();
        for (index, obj) in objects.iter().enumerate() {
            by_kind
                .entry(group_kind_of(obj.value))
                .or_default()
                .push(index);
            by_key.entry(obj.key.clone()).or_insert(index);
        }
        let by_kind = by_kind
            .into_iter()
            .map(|((group, kind), indexes)| (group, kind, indexes))
            .collect();
        Self {
            objects,
            by_kind,
            by_key,
        }
    }

    /// Every object of one group and kind, in tree order.
    pub fn of_kind<'s>(
        &'s self,
        group: &str,
        kind: &str,
    ) -> impl Iterator<Item = &'s Obj<'a>> + use<'s, 'a> {
        self.indexes_of(group, kind)
            .iter()
            .filter_map(|&i| self.objects.get(i))
    }

    fn indexes_of(&self, group: &str, kind: &str) -> &[usize] {
        let entry = self
            .by_kind
            .iter()
            .find(|(g, k, _)| *g == group && *k == kind);
        entry
            .map(|(_, _, indexes)| indexes.as_slice())
            .unwrap_or(&[])
    }

    /// The object with this identity, if the tree has it.
    pub fn find(&self, group: &str, kind: &str, namespace: &str, name: &str) -> Option<&Obj<'a>> {
        let key = ResourceKey::new(group, kind, namespace, name);
        self.by_key.get(&key).and_then(|&i| self.objects.get(i))
    }
}

/// The group and kind of an object, borrowed from it (the index keys on these).
fn group_kind_of(value: &Value) -> (&str, &str) {
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let group = driftless_model::GroupKind::group_of_api_version(api_version);
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    (group, kind)
}
