//! Which Applications a list request asks for, and which page of them (pure): filters by
//! project, label selector, sync and health status, repository, destination namespace, the
//! Application's own namespace and a name search; a page is `limit` apps after `continue`.

use kube::api::DynamicObject;
use kube::core::{Selector, SelectorExt};
use serde::Deserialize;
use std::sync::Arc;

/// The query string of `GET /api/v1/applications`; repeated keys (`projects=a&projects=b`)
/// or commas both give several values.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    #[serde(default)]
    pub projects: Option<String>,
    #[serde(default)]
    pub selector: Option<String>,
    #[serde(default)]
    pub sync: Option<String>,
    #[serde(default)]
    pub health: Option<String>,
    #[serde(default)]
    pub repo: Option<String>,
    /// Destination namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub app_namespace: Option<String>,
    /// Part of the name, any case.
    #[serde(default)]
    pub search: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default, rename = "continue")]
    pub continue_after: Option<String>,
}

pub struct Filter {
    projects: Vec<String>,
    selector: Option<Selector>,
    sync: Vec<String>,
    health: Vec<String>,
    repo: Option<String>,
    namespace: Option<String>,
    app_namespace: Option<String>,
    search: Option<String>,
}

fn values(text: &Option<String>) -> Vec<String> {
    text.iter()
        .flat_map(|t| t.split(','))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

impl Filter {
    pub fn new(params: &ListParams) -> Result<Self, super::selector::SelectorError> {
        Ok(Self {
            projects: values(&params.projects),
            selector: params
                .selector
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(super::selector::parse)
                .transpose()?,
            sync: values(&params.sync),
            health: values(&params.health),
            repo: params.repo.as_deref().map(normalize_repo),
            namespace: params.namespace.clone().filter(|n| !n.is_empty()),
            app_namespace: params.app_namespace.clone().filter(|n| !n.is_empty()),
            search: params
                .search
                .as_deref()
                .map(str::to_lowercase)
                .filter(|s| !s.is_empty()),
        })
    }

    pub fn matches(&self, app: &DynamicObject) -> bool {
        let text = |pointer: &str| {
            app.data
                .pointer(pointer)
                .and_then(|v| v.as_str())
                .unwrap_or("")
        };
        let name = app.metadata.name.as_deref().unwrap_or("");
        let project = match text("/spec/project") {
            "" => "default",
            p => p,
        };
        (self.projects.is_empty() || self.projects.iter().any(|p| p == project))
            && self
                .selector
                .as_ref()
                .is_none_or(|s| s.matches(&app.metadata.labels.clone().unwrap_or_default()))
            && (self.sync.is_empty() || self.sync.iter().any(|s| s == text("/status/sync/status")))
            && (self.health.is_empty()
                || self
                    .health
                    .iter()
                    .any(|h| h == text("/status/health/status")))
            && self
                .repo
                .as_ref()
                .is_none_or(|repo| repositories(app).any(|r| &r == repo))
            && self
                .namespace
                .as_ref()
                .is_none_or(|n| n == text("/spec/destination/namespace"))
            && self
                .app_namespace
                .as_ref()
                .is_none_or(|n| Some(n.as_str()) == app.metadata.namespace.as_deref())
            && self
                .search
                .as_ref()
                .is_none_or(|s| name.to_lowercase().contains(s))
    }
}

/// The repositories an app's sources name, normalized for comparison.
fn repositories(app: &DynamicObject) -> impl Iterator<Item = String> + '_ {
    let spec = &app.data["spec"];
    std::iter::once(&spec["source"])
        .chain(spec["sources"].as_array().into_iter().flatten())
        .filter_map(|s| s["repoURL"].as_str())
        .map(normalize_repo)
}

/// Argo CD compares repository URLs without a trailing `.git` or `/`, in lower case.
fn normalize_repo(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    url.strip_suffix(".git").unwrap_or(url).to_lowercase()
}

/// An app's place in the listing order (namespace, then name).
pub fn sort_key(app: &DynamicObject) -> String {
    format!(
        "{}/{}",
        app.metadata.namespace.as_deref().unwrap_or(""),
        app.metadata.name.as_deref().unwrap_or("")
    )
}

/// One page of a listing.
pub struct Page {
    pub items: Vec<Arc<DynamicObject>>,
    /// The token for the next page; None on the last.
    pub continue_after: Option<String>,
    pub remaining: usize,
    pub total: usize,
}

/// The apps `visible` keeps that match `filter`, sorted, and the page after `continue_after`.
pub fn page(
    apps: Vec<Arc<DynamicObject>>,
    filter: &Filter,
    visible: impl Fn(&DynamicObject) -> bool,
    limit: Option<usize>,
    continue_after: Option<&str>,
) -> Page {
    let mut kept: Vec<(String, Arc<DynamicObject>)> = apps
        .into_iter()
        .filter(|a| filter.matches(a) && visible(a))
        .map(|a| (sort_key(&a), a))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let total = kept.len();
    let start = continue_after
        .map(|after| kept.partition_point(|(key, _)| key.as_str() <= after))
        .unwrap_or(0);
    let end = limit.map_or(total, |l| (start + l.max(1)).min(total));
    let continue_after = (end < total).then(|| kept[end - 1].0.clone());
    Page {
        items: kept[start..end].iter().map(|(_, a)| a.clone()).collect(),
        continue_after,
        remaining: total - end,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn app(
        name: &str,
        project: &str,
        sync: &str,
        health: &str,
        labels: serde_json::Value,
    ) -> Arc<DynamicObject> {
        Arc::new(
            serde_json::from_value(json!({
                "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "metadata": {"name": name, "namespace": "argocd", "labels": labels},
                "spec": {"project": project, "destination": {"namespace": format!("ns-{project}")},
                         "source": {"repoURL": format!("https://git.example/{project}.git")}},
                "status": {"sync": {"status": sync}, "health": {"status": health}},
            }))
            .unwrap(),
        )
    }

    fn fleet() -> Vec<Arc<DynamicObject>> {
        vec![
            app("web", "shop", "Synced", "Healthy", json!({"tier": "front"})),
            app(
                "db",
                "shop",
                "OutOfSync",
                "Degraded",
                json!({"tier": "data"}),
            ),
            app(
                "search",
                "find",
                "Synced",
                "Progressing",
                json!({"tier": "front"}),
            ),
            app("Web-Admin", "ops", "Synced", "Healthy", json!({})),
        ]
    }

    fn names(page: &Page) -> Vec<&str> {
        page.items
            .iter()
            .map(|a| a.metadata.name.as_deref().unwrap())
            .collect()
    }

    fn list(params: ListParams) -> Page {
        page(
            fleet(),
            &Filter::new(&params).unwrap(),
            |_| true,
            params.limit,
            params.continue_after.as_deref(),
        )
    }

    #[test]
    fn each_filter_narrows_the_list() {
        let cases: Vec<(ListParams, Vec<&str>)> = vec![
            (
                ListParams::default(),
                vec!["Web-Admin", "db", "search", "web"],
            ),
            (
                ListParams {
                    projects: Some("shop".into()),
                    ..Default::default()
                },
                vec!["db", "web"],
            ),
            (
                ListParams {
                    projects: Some("shop,ops".into()),
                    ..Default::default()
                },
                vec!["Web-Admin", "db", "web"],
            ),
            (
                ListParams {
                    selector: Some("tier=front".into()),
                    ..Default::default()
                },
                vec!["search", "web"],
            ),
            (
                ListParams {
                    sync: Some("OutOfSync".into()),
                    ..Default::default()
                },
                vec!["db"],
            ),
            (
                ListParams {
                    health: Some("Healthy,Progressing".into()),
                    ..Default::default()
                },
                vec!["Web-Admin", "search", "web"],
            ),
            (
                ListParams {
                    repo: Some("https://GIT.example/find/".into()),
                    ..Default::default()
                },
                vec!["search"],
            ),
            (
                ListParams {
                    namespace: Some("ns-ops".into()),
                    ..Default::default()
                },
                vec!["Web-Admin"],
            ),
            (
                ListParams {
                    search: Some("WEB".into()),
                    ..Default::default()
                },
                vec!["Web-Admin", "web"],
            ),
            (
                ListParams {
                    app_namespace: Some("elsewhere".into()),
                    ..Default::default()
                },
                vec![],
            ),
        ];
        for (params, expected) in cases {
            let shown = format!("{params:?}");
            assert_eq!(names(&list(params)), expected, "{shown}");
        }
    }

    #[test]
    fn pages_follow_each_other_without_gaps_or_repeats() {
        let first = list(ListParams {
            limit: Some(3),
            ..Default::default()
        });
        assert_eq!(names(&first), ["Web-Admin", "db", "search"]);
        assert_eq!((first.remaining, first.total), (1, 4));
        let next = list(ListParams {
            limit: Some(3),
            continue_after: first.continue_after.clone(),
            ..Default::default()
        });
        assert_eq!(names(&next), ["web"]);
        assert_eq!(next.continue_after, None);
    }

    #[test]
    fn apps_the_caller_may_not_see_are_left_out_before_paging() {
        let only_shop = |a: &DynamicObject| a.data["spec"]["project"] == "shop";
        let page = page(
            fleet(),
            &Filter::new(&ListParams::default()).unwrap(),
            only_shop,
            Some(1),
            None,
        );
        assert_eq!(names(&page), ["db"]);
        assert_eq!(page.total, 2);
    }
}
