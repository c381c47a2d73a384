//! Which kinds of objects an AppProject lets its Applications deploy (pure), as Argo CD
//! decides it: cluster-scoped kinds only when `clusterResourceWhitelist` names them (absent or
//! empty: none) and `clusterResourceBlacklist` does not; namespaced kinds when
//! `namespaceResourceWhitelist` is absent, empty or names them, and
//! `namespaceResourceBlacklist` does not. Group and kind are globs; a cluster entry's `name`
//! is a glob on the object's name.

use crate::validate::glob;
use driftless_model::project::{AppProjectSpec, ResourceRestriction};
use serde_json::Value;

/// One object as the lists see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource<'a> {
    pub group: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub namespaced: bool,
}

impl<'a> Resource<'a> {
    /// A rendered object: namespaced when it carries a namespace (rendering sets it for every
    /// namespaced kind and clears it for cluster-scoped ones).
    pub fn of(object: &'a Value) -> Self {
        let text = |v: &'a Value| v.as_str().unwrap_or_default();
        let api_version = text(&object["apiVersion"]);
        Self {
            group: api_version.rsplit_once('/').map_or("", |(group, _)| group),
            kind: text(&object["kind"]),
            name: text(&object["metadata"]["name"]),
            namespaced: !text(&object["metadata"]["namespace"]).is_empty(),
        }
    }
}

fn matches(rule: &ResourceRestriction, resource: &Resource<'_>, with_name: bool) -> bool {
    glob(&rule.group, resource.group)
        && glob(&rule.kind, resource.kind)
        && (!with_name || rule.name.as_deref().is_none_or(|n| glob(n, resource.name)))
}

fn listed(
    list: Option<&Vec<ResourceRestriction>>,
    resource: &Resource<'_>,
    with_name: bool,
) -> bool {
    list.into_iter()
        .flatten()
        .any(|rule| matches(rule, resource, with_name))
}

/// Whether `project` permits `resource`.
pub fn permitted(project: &AppProjectSpec, resource: &Resource<'_>) -> bool {
    if resource.namespaced {
        let allowed = project
            .namespace_resource_whitelist
            .as_ref()
            .filter(|list| !list.is_empty())
            .is_none_or(|list| list.iter().any(|r| matches(r, resource, false)));
        allowed
            && !listed(
                project.namespace_resource_blacklist.as_ref(),
                resource,
                false,
            )
    } else {
        listed(project.cluster_resource_whitelist.as_ref(), resource, true)
            && !listed(project.cluster_resource_blacklist.as_ref(), resource, true)
    }
}

/// The objects of `desired` that `project` (named `project_name`) does not permit, as Argo
/// CD words it, one line per object; empty when all are permitted.
pub fn not_permitted(
    project: &AppProjectSpec,
    project_name: &str,
    desired: &[Value],
) -> Vec<String> {
    desired
        .iter()
        .map(Resource::of)
        .filter(|resource| !permitted(project, resource))
        .map(|r| {
            format!(
                "resource {}:{}/{} is not permitted in project {project_name}",
                r.group, r.kind, r.name
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    struct Fixture {
        projects: BTreeMap<String, AppProjectSpec>,
        cases: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        project: String,
        group: String,
        kind: String,
        name: String,
        namespaced: bool,
        permitted: bool,
    }

    #[test]
    fn every_fixture_case_is_decided_as_argo_cd_decides_it() {
        let fixture: Fixture =
            serde_norway::from_str(include_str!("../testdata/project_resources.yaml"))
                .expect("the fixture parses");
        assert!(fixture.cases.len() > 15);
        for case in &fixture.cases {
            let project = &fixture.projects[&case.project];
            let resource = Resource {
                group: &case.group,
                kind: &case.kind,
                name: &case.name,
                namespaced: case.namespaced,
            };
            assert_eq!(
                permitted(project, &resource),
                case.permitted,
                "{} {}/{} {} in project {}",
                case.group,
                case.kind,
                case.name,
                if case.namespaced {
                    "(namespaced)"
                } else {
                    "(cluster)"
                },
                case.project
            );
        }
    }

    #[test]
    fn rendered_objects_are_named_once_each_when_refused() {
        let project: AppProjectSpec = serde_json::from_value(serde_json::json!({
            "clusterResourceWhitelist": [],
            "namespaceResourceBlacklist": [{"group": "", "kind": "ConfigMap"}]
        }))
        .expect("a project");
        let desired = vec![
            serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                               "metadata": {"name": "admin"}}),
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "settings", "namespace": "shop"}}),
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
                               "metadata": {"name": "web", "namespace": "shop"}}),
        ];
        assert_eq!(
            not_permitted(&project, "team", &desired),
            [
                "resource rbac.authorization.k8s.io:ClusterRole/admin is not permitted in project team",
                "resource :ConfigMap/settings is not permitted in project team",
            ]
        );
    }
}
