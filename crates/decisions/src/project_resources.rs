//! Which kinds of objects an AppProject lets its Applications deploy (pure), as Argo CD
//! decides it: cluster-scoped kinds only when `clusterResourceWhitelist` names them (absent or
//! empty: none) and `clusterResourceBlacklist` does not; namespaced kinds when
//! `namespaceResourceWhitelist` is absent, empty or names them, and
//! `namespaceResourceBlacklist` does not. Group and kind are globs; a cluster entry's `name`
//! is a glob on the object's name. A namespaced object's namespace must also be a destination
//! the project permits on the app's cluster, and the cluster Secret's scope must include it.

use crate::cluster_lookup::ClusterScope;
use crate::project_scope::ProjectScope;
use crate::validate::deploys_to;
use driftless_model::ResourceKey;
use driftless_model::glob::matches as glob;
use driftless_model::project::{AppProjectSpec, ResourceRestriction};
use serde_json::Value;
use std::collections::BTreeSet;

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

/// Everything that bounds what one app may deploy: its project's kind lists and destinations
/// (with what Secrets scoped to the project add) and the scope of its cluster's Secret.
#[derive(Debug, Clone, Copy)]
pub struct Boundary<'a> {
    /// `None`: the built-in `default` project without an object, which permits everything.
    pub project: Option<&'a AppProjectSpec>,
    pub project_name: &'a str,
    pub project_scope: &'a ProjectScope,
    pub cluster_name: &'a str,
    pub cluster_server: &'a str,
    pub cluster_scope: &'a ClusterScope,
    /// What the engine itself is limited to on that cluster (`driftless serve --namespaces`
    /// for the in-cluster destination); unlimited otherwise.
    pub engine_scope: &'a ClusterScope,
}

/// An object the boundary keeps out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub key: ResourceKey,
    pub message: String,
}

impl Boundary<'_> {
    /// Why `object` may not be deployed (or pruned), if it may not, as Argo CD words it.
    pub fn refusal(&self, object: &Value) -> Option<String> {
        let resource = Resource::of(object);
        let what = format!(
            "resource {}:{}/{}",
            resource.group, resource.kind, resource.name
        );
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .filter(|n| !n.is_empty());
        if let Some(project) = self.project {
            let name = self.project_name;
            if !permitted(project, &resource) {
                return Some(format!("{what} is not permitted in project {name}"));
            }
            if let Some(ns) = namespace
                && !deploys_to(
                    project,
                    self.project_scope,
                    self.cluster_name,
                    self.cluster_server,
                    ns,
                )
            {
                return Some(format!(
                    "{what}: namespace {ns} is not permitted in project '{name}'"
                ));
            }
        }
        self.engine_scope
            .refusal(self.cluster_name, namespace)
            .or_else(|| self.cluster_scope.refusal(self.cluster_name, namespace))
            .map(|why| format!("{what}: {why}"))
    }

    /// The objects of `objects` the boundary keeps out, once each, in order.
    pub fn refused(&self, objects: &[Value]) -> Vec<Refusal> {
        let mut seen = BTreeSet::new();
        objects
            .iter()
            .filter_map(|object| {
                let key = ResourceKey::of(object).ok()?;
                let message = self.refusal(object)?;
                seen.insert(key.clone()).then_some(Refusal { key, message })
            })
            .collect()
    }
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

    fn boundary<'a>(project: Option<&'a AppProjectSpec>, scope: &'a ClusterScope) -> Boundary<'a> {
        static NONE: std::sync::LazyLock<ProjectScope> = std::sync::LazyLock::new(Default::default);
        Boundary {
            project,
            project_name: "team",
            project_scope: &NONE,
            cluster_name: "in-cluster",
            cluster_server: "https://kubernetes.default.svc",
            cluster_scope: scope,
            engine_scope: &UNLIMITED,
        }
    }

    static UNLIMITED: ClusterScope = ClusterScope {
        namespaces: Vec::new(),
        cluster_resources: false,
        origin: crate::cluster_lookup::ScopeOrigin::Secret,
    };

    #[test]
    fn namespaced_mode_keeps_out_other_namespaces_and_cluster_kinds_naming_the_flag() {
        let engine = ClusterScope::namespaced(&["team-a".into(), "team-b".into()]);
        let b = Boundary {
            engine_scope: &engine,
            ..boundary(None, &UNLIMITED)
        };
        let in_ns = |ns: &str| {
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "a", "namespace": ns}})
        };
        assert_eq!(
            b.refusal(&in_ns("team-c")).as_deref(),
            Some(
                "resource :ConfigMap/a: namespace team-c is outside the namespaces driftless may manage on cluster in-cluster (driftless serve --namespaces team-a,team-b)"
            )
        );
        assert_eq!(b.refusal(&in_ns("team-b")), None);
        let role = serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1",
                                      "kind": "ClusterRole", "metadata": {"name": "r"}});
        let why = b.refusal(&role).unwrap_or_default();
        assert!(
            why.contains("cluster-scoped") && why.contains("--namespaces team-a,team-b"),
            "{why}"
        );
    }

    #[test]
    fn rendered_objects_are_named_once_each_when_refused() {
        let project: AppProjectSpec = serde_json::from_value(serde_json::json!({
            "clusterResourceWhitelist": [],
            "namespaceResourceBlacklist": [{"group": "", "kind": "ConfigMap"}],
            "destinations": [{"server": "*", "namespace": "shop"}]
        }))
        .expect("a project");
        let desired: Vec<Value> = serde_norway::from_str(
            r#"
- {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: admin}}
- {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: admin}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: shop}}
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop}}
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: escape, namespace: kube-system}}
"#,
        )
        .expect("objects");
        let unlimited = ClusterScope::default();
        let messages: Vec<String> = boundary(Some(&project), &unlimited)
            .refused(&desired)
            .into_iter()
            .map(|r| r.message)
            .collect();
        assert_eq!(
            messages,
            [
                "resource rbac.authorization.k8s.io:ClusterRole/admin is not permitted in project team",
                "resource :ConfigMap/settings is not permitted in project team",
                "resource apps:Deployment/escape: namespace kube-system is not permitted in project 'team'",
            ]
        );
        assert!(boundary(None, &unlimited).refused(&desired).is_empty());
    }

    #[test]
    fn a_cluster_secret_scope_keeps_out_other_namespaces_and_cluster_kinds() {
        let scope = ClusterScope {
            namespaces: vec!["shop".into()],
            cluster_resources: false,
            origin: crate::cluster_lookup::ScopeOrigin::Secret,
        };
        let object = |v: serde_json::Value| v;
        let b = boundary(None, &scope);
        assert_eq!(
            b.refusal(&object(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "namespace": "ops"}}))),
            Some("resource :ConfigMap/a: namespace ops is not managed on cluster in-cluster (its Secret lists shop)".into())
        );
        let namespace = serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
                                           "metadata": {"name": "shop"}});
        assert!(b.refusal(&namespace).is_some());
        let with_cluster_kinds = ClusterScope {
            cluster_resources: true,
            ..scope.clone()
        };
        assert_eq!(
            boundary(None, &with_cluster_kinds).refusal(&namespace),
            None
        );
        assert_eq!(
            b.refusal(&serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "namespace": "shop"}})),
            None
        );
    }
}
