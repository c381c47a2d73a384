//! The Applications as a list reads them (pure): in listing order (namespace, then name), each
//! with the fields the filters compare and its RBAC object taken out once, when the watch
//! delivers it. A request then walks a sorted map comparing strings, instead of reading the
//! JSON of 10,000 apps and sorting them again every time.

use super::query::Filter;
use kube::api::DynamicObject;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// The RBAC object of an app: `<project>/<name>`, or `<project>/<namespace>/<name>` for an
/// app outside the control namespace (Argo CD's form).
pub fn rbac_object(app: &DynamicObject, control_namespace: &str) -> String {
    let name = app.metadata.name.as_deref().unwrap_or("");
    rbac_object_of(
        project_of(app),
        app.metadata.namespace.as_deref(),
        name,
        control_namespace,
    )
}

/// The RBAC object of the app `name` in `namespace` of `project`: `project/name` in the
/// control namespace, `project/namespace/name` elsewhere.
pub fn rbac_object_of(
    project: &str,
    namespace: Option<&str>,
    name: &str,
    control_namespace: &str,
) -> String {
    match namespace {
        Some(ns) if ns != control_namespace => format!("{project}/{ns}/{name}"),
        _ => format!("{project}/{name}"),
    }
}

fn project_of(app: &DynamicObject) -> &str {
    match app.data["spec"]["project"].as_str() {
        Some(p) if !p.is_empty() => p,
        _ => "default",
    }
}

/// An app's place in the listing order (namespace, then name).
pub fn sort_key(app: &DynamicObject) -> String {
    format!(
        "{}/{}",
        app.metadata.namespace.as_deref().unwrap_or(""),
        app.metadata.name.as_deref().unwrap_or("")
    )
}

/// One app with what the filters and RBAC read of it.
#[derive(Debug)]
pub struct Listed {
    pub object: Arc<DynamicObject>,
    pub rbac_object: String,
    pub(super) project: String,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) sync: String,
    pub(super) health: String,
    /// Normalized as [`super::query::normalize_repo`] does.
    pub(super) repos: Vec<String>,
    pub(super) destination_namespace: String,
    pub(super) name_lower: String,
}

impl Listed {
    pub fn new(object: Arc<DynamicObject>, control_namespace: &str) -> Self {
        let data = &object.data;
        let text = |value: &serde_json::Value| value.as_str().unwrap_or("").to_string();
        let spec = &data["spec"];
        let repos = std::iter::once(&spec["source"])
            .chain(spec["sources"].as_array().into_iter().flatten())
            .filter_map(|s| s["repoURL"].as_str())
            .map(super::query::normalize_repo)
            .collect();
        Self {
            rbac_object: rbac_object(&object, control_namespace),
            project: project_of(&object).to_string(),
            labels: object.metadata.labels.clone().unwrap_or_default(),
            sync: text(&data["status"]["sync"]["status"]),
            health: text(&data["status"]["health"]["status"]),
            repos,
            destination_namespace: text(&spec["destination"]["namespace"]),
            name_lower: object.metadata.name.as_deref().unwrap_or("").to_lowercase(),
            object,
        }
    }

    pub fn namespace(&self) -> Option<&str> {
        self.object.metadata.namespace.as_deref()
    }
}

/// One page of a listing.
pub struct Page {
    pub items: Vec<Arc<DynamicObject>>,
    /// The token for the next page; None on the last.
    pub continue_after: Option<String>,
    pub remaining: usize,
    pub total: usize,
}

/// The apps of the control namespace (and any other the watch covers), by listing order.
#[derive(Debug, Default)]
pub struct AppIndex {
    control_namespace: String,
    apps: BTreeMap<String, Arc<Listed>>,
    /// A relist under way (the watch restarted): filled by [`Self::relist_apply`] and put in
    /// place by [`Self::relist_done`], so readers never see a half-built list.
    relisting: Option<BTreeMap<String, Arc<Listed>>>,
}

impl AppIndex {
    pub fn new(control_namespace: &str) -> Self {
        Self {
            control_namespace: control_namespace.to_string(),
            ..Self::default()
        }
    }

    pub fn from_objects(
        control_namespace: &str,
        objects: impl IntoIterator<Item = Arc<DynamicObject>>,
    ) -> Self {
        let mut index = Self::new(control_namespace);
        for object in objects {
            index.apply(object);
        }
        index
    }

    pub fn len(&self) -> usize {
        self.apps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
    }

    pub fn apply(&mut self, object: Arc<DynamicObject>) {
        let listed = Listed::new(object, &self.control_namespace);
        self.apps.insert(sort_key(&listed.object), Arc::new(listed));
    }

    pub fn delete(&mut self, object: &DynamicObject) {
        self.apps.remove(&sort_key(object));
    }

    pub fn relist_start(&mut self) {
        self.relisting = Some(BTreeMap::new());
    }

    pub fn relist_apply(&mut self, object: Arc<DynamicObject>) {
        let listed = Listed::new(object, &self.control_namespace);
        self.relisting
            .get_or_insert_with(BTreeMap::new)
            .insert(sort_key(&listed.object), Arc::new(listed));
    }

    pub fn relist_done(&mut self) {
        if let Some(apps) = self.relisting.take() {
            self.apps = apps;
        }
    }

    /// The apps `visible` keeps that match `filter`, and the page of `limit` after the key
    /// `continue_after`; the counts are of every app that matches and is visible.
    pub fn page(
        &self,
        filter: &Filter,
        visible: impl Fn(&Listed) -> bool,
        limit: Option<usize>,
        continue_after: Option<&str>,
    ) -> Page {
        let limit = limit.map_or(usize::MAX, |l| l.max(1));
        let kept = |listed: &&Arc<Listed>| filter.matches(listed) && visible(listed);
        let before = continue_after.map_or(0, |after| {
            self.apps
                .range::<str, _>((Bound::Unbounded, Bound::Included(after)))
                .map(|(_, l)| l)
                .filter(kept)
                .count()
        });
        let start = continue_after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut items = Vec::new();
        let mut last_key = None;
        let mut after_page = 0;
        for (key, listed) in self.apps.range::<str, _>((start, Bound::Unbounded)) {
            if !kept(&listed) {
                continue;
            }
            if items.len() < limit {
                items.push(listed.object.clone());
                last_key = Some(key);
            } else {
                after_page += 1;
            }
        }
        Page {
            total: before + items.len() + after_page,
            continue_after: last_key.filter(|_| after_page > 0).cloned(),
            remaining: after_page,
            items,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::query::ListParams;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn app(namespace: &str, name: &str, project: &str) -> Arc<DynamicObject> {
        Arc::new(
            serde_json::from_value(json!({
                "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"project": project},
            }))
            .expect("app"),
        )
    }

    fn names(page: &Page) -> Vec<String> {
        page.items.iter().map(|a| sort_key(a)).collect()
    }

    fn all() -> Filter {
        Filter::new(&ListParams::default()).expect("no filter")
    }

    #[test]
    fn rbac_objects_name_the_namespace_only_outside_the_control_namespace() {
        let index = AppIndex::from_objects(
            "argocd",
            [app("argocd", "web", "shop"), app("team-a", "db", "")],
        );
        let objects: Vec<&str> = index
            .apps
            .values()
            .map(|l| l.rbac_object.as_str())
            .collect();
        assert_eq!(objects, ["shop/web", "default/team-a/db"]);
    }

    #[test]
    fn counts_and_pages_skip_what_is_hidden_on_both_sides_of_the_token() {
        let apps = (0..10).map(|i| app("argocd", &format!("app-{i}"), &format!("p{}", i % 2)));
        let index = AppIndex::from_objects("argocd", apps);
        let even = |l: &Listed| l.rbac_object.starts_with("p0/");
        let first = index.page(&all(), even, Some(2), None);
        assert_eq!(names(&first), ["argocd/app-0", "argocd/app-2"]);
        assert_eq!((first.total, first.remaining), (5, 3));
        let second = index.page(&all(), even, Some(2), first.continue_after.as_deref());
        assert_eq!(names(&second), ["argocd/app-4", "argocd/app-6"]);
        assert_eq!((second.total, second.remaining), (5, 1));
        let last = index.page(&all(), even, Some(2), second.continue_after.as_deref());
        assert_eq!(names(&last), ["argocd/app-8"]);
        assert_eq!((last.continue_after, last.remaining), (None, 0));
        let unlimited = index.page(&all(), |_| true, None, None);
        assert_eq!(
            (unlimited.items.len(), unlimited.continue_after),
            (10, None)
        );
    }

    #[test]
    fn a_relist_replaces_the_list_only_when_it_is_done() {
        let mut index = AppIndex::from_objects("argocd", [app("argocd", "old", "p")]);
        index.relist_start();
        index.relist_apply(app("argocd", "new", "p"));
        let during = index.page(&all(), |_| true, None, None);
        assert_eq!(names(&during), ["argocd/old"]);
        index.relist_done();
        let after = index.page(&all(), |_| true, None, None);
        assert_eq!(names(&after), ["argocd/new"]);
        index.delete(&app("argocd", "new", "p"));
        assert!(index.is_empty());
    }
}
