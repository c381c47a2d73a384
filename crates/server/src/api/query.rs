//! Which Applications a list request asks for (pure): filters by project, label selector, sync
//! and health status, repository, destination namespace, the Application's own namespace and
//! a name search; a page ([`super::index::AppIndex::page`]) is `limit` apps after `continue`.

use super::index::Listed;
use kube::core::{Selector, SelectorExt};
use serde::Deserialize;

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

    pub fn matches(&self, app: &Listed) -> bool {
        (self.projects.is_empty() || self.projects.contains(&app.project))
            && self
                .selector
                .as_ref()
                .is_none_or(|s| s.matches(&app.labels))
            && (self.sync.is_empty() || self.sync.contains(&app.sync))
            && (self.health.is_empty() || self.health.contains(&app.health))
            && self
                .repo
                .as_ref()
                .is_none_or(|repo| app.repos.contains(repo))
            && self
                .namespace
                .as_ref()
                .is_none_or(|n| *n == app.destination_namespace)
            && self
                .app_namespace
                .as_ref()
                .is_none_or(|n| Some(n.as_str()) == app.namespace())
            && self
                .search
                .as_ref()
                .is_none_or(|s| app.name_lower.contains(s))
    }
}

/// Argo CD compares repository URLs without a trailing `.git` or `/`, in lower case.
pub(super) fn normalize_repo(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    url.strip_suffix(".git").unwrap_or(url).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::super::index::{AppIndex, Page};
    use super::*;
    use kube::api::DynamicObject;
    use pretty_assertions::assert_eq;
    use serde_json::json;
    use std::sync::Arc;

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
        AppIndex::from_objects("argocd", fleet()).page(
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
        let only_shop = |a: &Listed| a.rbac_object.starts_with("shop/");
        let page = AppIndex::from_objects("argocd", fleet()).page(
            &Filter::new(&ListParams::default()).unwrap(),
            only_shop,
            Some(1),
            None,
        );
        assert_eq!(names(&page), ["db"]);
        assert_eq!(page.total, 2);
    }
}
