//! Is the Application's spec usable (pure)? Sources present, one destination (a server or a
//! name), and a project that exists and permits the source repositories and, once the
//! destination is resolved to a cluster, that cluster and namespace. A failure becomes an
//! `InvalidSpecError` condition.

use crate::project_scope::ProjectScope;
use driftless_model::glob;
use driftless_model::project::AppProjectSpec;
use driftless_model::{Application, ApplicationDestination};
use driftless_source::normalize_git_url;
use k8s_openapi::api::core::v1::Secret;
use std::collections::BTreeMap;

pub use driftless_model::{IN_CLUSTER_NAME, IN_CLUSTER_SERVER};
/// The project every installation has, permitting everything, whether or not its object exists.
pub const DEFAULT_PROJECT: &str = "default";

/// Checks `app` against its project (`None`: no AppProject of that name was found), with the
/// repositories Secrets scoped to the project add to its `sourceRepos`.
pub fn validate(
    app: &Application,
    project: Option<&AppProjectSpec>,
    scope: &ProjectScope,
) -> Result<(), String> {
    let sources = app.sources();
    if sources.is_empty() {
        return Err("spec.source or spec.sources is required".into());
    }
    if let Some(source) = sources.iter().find(|s| s.repo_url.trim().is_empty()) {
        let path = source.path.clone().unwrap_or_default();
        return Err(format!("source with path {path:?} has no repoURL"));
    }
    check_destination(&app.spec.destination)?;
    let project_name = project_name(app);
    let Some(project) = project else {
        if project_name == DEFAULT_PROJECT {
            return Ok(());
        }
        return Err(format!(
            "application references project {project_name} which does not exist"
        ));
    };
    for source in sources {
        if !source_permitted(project, scope, &source.repo_url) {
            return Err(format!(
                "application repo {} is not permitted in project '{project_name}'",
                driftless_source::redact_url(&source.repo_url)
            ));
        }
    }
    Ok(())
}

/// An app outside the control namespace `control` may use only a project whose
/// `sourceNamespaces` lists its namespace (Argo CD's apps in any namespace); the built-in
/// `default` project without an object lists none.
pub fn namespace_permitted(
    app: &Application,
    project: Option<&AppProjectSpec>,
    control: &str,
) -> Result<(), String> {
    let namespace = app.metadata.namespace.as_deref().unwrap_or_default();
    if namespace.is_empty() || namespace == control {
        return Ok(());
    }
    let listed = project
        .and_then(|p| p.source_namespaces.as_deref())
        .unwrap_or_default();
    if glob::in_list(listed, namespace) {
        return Ok(());
    }
    Err(format!(
        "application '{}' in namespace '{namespace}' is not permitted to use project '{}'",
        app.metadata.name.as_deref().unwrap_or_default(),
        project_name(app)
    ))
}

/// Argo CD's `sourceRepos` test: URLs compared normalized, `*` not crossing `/`, `!` denials.
pub fn source_permitted(project: &AppProjectSpec, scope: &ProjectScope, repo_url: &str) -> bool {
    let patterns: Vec<String> = project
        .source_repos
        .iter()
        .flatten()
        .chain(&scope.repos)
        .map(|p| match p.strip_prefix('!') {
            Some(denied) => format!("!{}", normalize_git_url(denied)),
            None => normalize_git_url(p),
        })
        .collect();
    glob::permitted_by(&patterns, &normalize_git_url(repo_url), Some('/'))
}

/// Whether the project lets `app` deploy to the cluster its destination resolved to
/// (`cluster_name`, `cluster_server`), worded as Argo CD words a refusal.
pub fn destination_permitted(
    app: &Application,
    project: Option<&AppProjectSpec>,
    scope: &ProjectScope,
    cluster_name: &str,
    cluster_server: &str,
) -> Result<(), String> {
    let Some(project) = project else {
        return Ok(());
    };
    let namespace = app.spec.destination.namespace.clone().unwrap_or_default();
    if !deploys_to(project, scope, cluster_name, cluster_server, &namespace) {
        let project_name = project_name(app);
        return Err(format!(
            "application destination server '{cluster_server}' and namespace '{namespace}' do not match any of the allowed destinations in project '{project_name}'"
        ));
    }
    Ok(())
}

/// Argo CD's destination test for one cluster and namespace: the project's `destinations` and
/// those of its scoped clusters, each matching by name or server and by namespace; a `!`
/// entry that the cluster or namespace fails refuses outright; with
/// `permitOnlyProjectScopedClusters` the cluster must also be scoped to the project.
pub fn deploys_to(
    project: &AppProjectSpec,
    scope: &ProjectScope,
    cluster_name: &str,
    cluster_server: &str,
    namespace: &str,
) -> bool {
    let scoped = scope.destinations();
    let mut matched_any = false;
    for item in project.destinations.iter().flatten().chain(&scoped) {
        let pattern = |p: &Option<String>| p.clone().unwrap_or_default();
        let (name_p, server_p, namespace_p) = (
            pattern(&item.name),
            pattern(&item.server),
            pattern(&item.namespace),
        );
        let name_ok = !cluster_name.is_empty() && glob::matches_negatable(&name_p, cluster_name);
        let server_ok =
            !cluster_server.is_empty() && glob::matches_negatable(&server_p, cluster_server);
        let namespace_ok = glob::matches_negatable(&namespace_p, namespace);
        if (server_ok || name_ok) && namespace_ok {
            matched_any = true;
        } else if (!name_ok && glob::is_deny(&name_p))
            || (!server_ok && glob::is_deny(&server_p) && namespace_ok)
            || (!namespace_ok && glob::is_deny(&namespace_p) && server_ok)
        {
            return false;
        }
    }
    if matched_any && project.permit_only_project_scoped_clusters == Some(true) {
        return scope.has_cluster(cluster_name, cluster_server);
    }
    matched_any
}

/// For a child Application an App of Apps renders: why its own project refuses it, if it does
/// (the project is missing, or does not permit its sources or destination), so the parent
/// does not create an app that could never sync. `projects` holds every AppProject by name;
/// a destination that names no known cluster is left for the child to report.
pub fn child_refusal(
    child: &serde_json::Value,
    projects: &BTreeMap<String, AppProjectSpec>,
    secrets: &[Secret],
    control: &str,
) -> Option<String> {
    let is_app = child["apiVersion"]
        .as_str()
        .is_some_and(|v| v.starts_with("argoproj.io/"))
        && child["kind"] == Application::KIND;
    if !is_app {
        return None;
    }
    let app: Application = match serde_json::from_value(child.clone()) {
        Ok(app) => app,
        Err(error) => return Some(format!("it is not a valid Application: {error}")),
    };
    let name = project_name(&app);
    let project = projects.get(name);
    let scope = ProjectScope::of(secrets, name);
    if let Err(message) = validate(&app, project, &scope) {
        return Some(message);
    }
    if let Err(message) = namespace_permitted(&app, project, control) {
        return Some(message);
    }
    let resolved = crate::cluster_lookup::resolve(&app.spec.destination, secrets).ok()?;
    let (cluster_name, cluster_server) = crate::cluster_lookup::name_and_server(&resolved);
    destination_permitted(&app, project, &scope, &cluster_name, &cluster_server).err()
}

pub fn project_name(app: &Application) -> &str {
    if app.spec.project.is_empty() {
        DEFAULT_PROJECT
    } else {
        app.spec.project.as_str()
    }
}

fn check_destination(destination: &ApplicationDestination) -> Result<(), String> {
    let server = destination.server.as_deref().filter(|s| !s.is_empty());
    let name = destination.name.as_deref().filter(|s| !s.is_empty());
    match (server, name) {
        (Some(_), Some(_)) => {
            Err("application destination can't have both name and server defined".into())
        }
        (None, None) => Err("application destination server or name is required".into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn app(spec: Value) -> Application {
        serde_json::from_value(json!({"metadata": {"name": "a"}, "spec": spec})).unwrap()
    }

    fn good() -> Value {
        json!({"project": "default", "source": {"repoURL": "https://git.example/team/apps.git"},
               "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"}})
    }

    fn project(value: Value) -> AppProjectSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_default_project_needs_no_object() {
        assert_eq!(
            validate(&app(good()), None, &ProjectScope::default()),
            Ok(())
        );
        let mut other = good();
        other["project"] = json!("team");
        assert_eq!(
            validate(&app(other), None, &ProjectScope::default()),
            Err("application references project team which does not exist".into())
        );
    }

    #[test]
    fn bad_sources_and_destinations_are_reported() {
        let mut no_source = good();
        no_source.as_object_mut().unwrap().remove("source");
        assert!(
            validate(&app(no_source), None, &ProjectScope::default())
                .unwrap_err()
                .contains("spec.source")
        );
        let mut both = good();
        both["destination"]["name"] = json!("in-cluster");
        assert!(
            validate(&app(both), None, &ProjectScope::default())
                .unwrap_err()
                .contains("both name and server")
        );
        let mut neither = good();
        neither["destination"] = json!({"namespace": "shop"});
        assert!(
            validate(&app(neither), None, &ProjectScope::default())
                .unwrap_err()
                .contains("server or name is required")
        );
        let mut by_name = good();
        by_name["destination"] = json!({"name": "in-cluster", "namespace": "shop"});
        assert_eq!(
            validate(&app(by_name), None, &ProjectScope::default()),
            Ok(())
        );
    }

    #[test]
    fn projects_restrict_repositories_and_destinations() {
        let p = project(json!({
            "sourceRepos": ["https://git.example/team/*", "!https://git.example/team/secret.git"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "shop-*"}]
        }));
        let mut ok = good();
        ok["destination"]["namespace"] = json!("shop-prod");
        assert_eq!(
            validate(&app(ok.clone()), Some(&p), &ProjectScope::default()),
            Ok(())
        );
        let mut denied_repo = ok.clone();
        denied_repo["source"]["repoURL"] = json!("https://git.example/team/secret.git");
        assert!(
            validate(&app(denied_repo), Some(&p), &ProjectScope::default())
                .unwrap_err()
                .contains("not permitted")
        );
        let local = |a: &Application| {
            destination_permitted(
                a,
                Some(&p),
                &ProjectScope::default(),
                IN_CLUSTER_NAME,
                IN_CLUSTER_SERVER,
            )
        };
        assert_eq!(local(&app(ok.clone())), Ok(()));
        assert!(
            local(&app(good()))
                .unwrap_err()
                .contains("do not match any of the allowed destinations")
        );
    }

    #[test]
    fn project_destinations_match_the_resolved_cluster_by_name_or_server() {
        let p = project(json!({
            "sourceRepos": ["*"],
            "destinations": [{"name": "staging", "namespace": "*"},
                             {"server": "https://10.0.0.1:*", "namespace": "ops"}]
        }));
        let mut remote = good();
        remote["destination"] = json!({"name": "staging", "namespace": "shop"});
        let remote = app(remote);
        assert_eq!(
            destination_permitted(
                &remote,
                Some(&p),
                &ProjectScope::default(),
                "staging",
                "https://10.0.0.9:6443"
            ),
            Ok(())
        );
        let mut ops = good();
        ops["destination"] = json!({"server": "https://10.0.0.1:6443", "namespace": "ops"});
        assert_eq!(
            destination_permitted(
                &app(ops),
                Some(&p),
                &ProjectScope::default(),
                "prod",
                "https://10.0.0.1:6443"
            ),
            Ok(())
        );
        assert!(
            destination_permitted(
                &remote,
                Some(&p),
                &ProjectScope::default(),
                "prod",
                "https://10.0.0.1:6443"
            )
            .is_err()
        );
    }

    #[test]
    fn child_applications_are_checked_against_their_own_projects() {
        let projects: BTreeMap<String, AppProjectSpec> = [(
            "team".to_string(),
            project(json!({"sourceRepos": ["https://git.example/team/*"],
                           "destinations": [{"server": "*", "namespace": "team-*"}]})),
        )]
        .into();
        let child = |project: &str, repo: &str, namespace: &str| {
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                   "metadata": {"name": "child", "namespace": "argocd"},
                   "spec": {"project": project, "source": {"repoURL": repo},
                            "destination": {"server": IN_CLUSTER_SERVER, "namespace": namespace}}})
        };
        let check = |v: serde_json::Value| child_refusal(&v, &projects, &[], "argocd");
        assert_eq!(
            check(child("team", "https://git.example/team/web", "team-web")),
            None
        );
        assert_eq!(
            check(child("admins", "https://git.example/team/web", "team-web")),
            Some("application references project admins which does not exist".into())
        );
        assert!(
            check(child("team", "https://git.example/ops/x", "team-web"))
                .unwrap()
                .contains("is not permitted")
        );
        assert!(
            check(child("team", "https://git.example/team/web", "kube-system"))
                .unwrap()
                .contains("do not match")
        );
        assert_eq!(
            check(child("", "https://anything.example/x", "kube-system")),
            None,
            "default project"
        );
        assert_eq!(
            check(json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            None
        );
        let mut elsewhere = child("team", "https://git.example/team/web", "team-web");
        elsewhere["metadata"]["namespace"] = json!("team-a");
        assert_eq!(
            check(elsewhere),
            Some(
                "application 'child' in namespace 'team-a' is not permitted to use project 'team'"
                    .into()
            )
        );
    }

    #[test]
    fn apps_elsewhere_need_the_project_to_list_their_namespace() {
        let mut a = app(good());
        a.metadata.namespace = Some("team-a".into());
        let listing = project(json!({"sourceRepos": ["*"], "sourceNamespaces": ["team-*"]}));
        assert_eq!(namespace_permitted(&a, Some(&listing), "argocd"), Ok(()));
        assert!(namespace_permitted(&a, Some(&project(json!({}))), "argocd").is_err());
        assert!(namespace_permitted(&a, None, "argocd").is_err());
        a.metadata.namespace = Some("argocd".into());
        assert_eq!(namespace_permitted(&a, None, "argocd"), Ok(()));
    }

    #[derive(serde::Deserialize)]
    struct DestinationFixture {
        projects: BTreeMap<String, AppProjectSpec>,
        scope: ScopeFixture,
        destinations: Vec<DestinationCase>,
        repositories: RepositoryFixture,
    }

    #[derive(serde::Deserialize)]
    struct ScopeFixture {
        clusters: Vec<ScopedClusterFixture>,
    }

    #[derive(serde::Deserialize)]
    struct ScopedClusterFixture {
        name: String,
        server: String,
        namespaces: Vec<String>,
    }

    #[derive(serde::Deserialize)]
    struct DestinationCase {
        project: String,
        name: String,
        server: String,
        namespace: String,
        permitted: bool,
    }

    #[derive(serde::Deserialize)]
    struct RepositoryFixture {
        projects: BTreeMap<String, AppProjectSpec>,
        cases: Vec<RepositoryCase>,
    }

    #[derive(serde::Deserialize)]
    struct RepositoryCase {
        project: String,
        url: String,
        permitted: bool,
    }

    #[test]
    fn every_destination_and_repository_fixture_is_decided_as_argo_cd_decides_it() {
        let fixture: DestinationFixture =
            serde_norway::from_str(include_str!("../testdata/project_destinations.yaml"))
                .expect("the fixture parses");
        let scope = ProjectScope {
            repos: Vec::new(),
            clusters: fixture
                .scope
                .clusters
                .into_iter()
                .map(|c| crate::project_scope::ScopedCluster {
                    name: c.name,
                    server: c.server,
                    namespaces: c.namespaces,
                })
                .collect(),
        };
        for case in &fixture.destinations {
            let project = &fixture.projects[&case.project];
            assert_eq!(
                deploys_to(project, &scope, &case.name, &case.server, &case.namespace),
                case.permitted,
                "{} {} {} in project {}",
                case.name,
                case.server,
                case.namespace,
                case.project
            );
        }
        let none = ProjectScope::default();
        for case in &fixture.repositories.cases {
            let project = &fixture.repositories.projects[&case.project];
            assert_eq!(
                source_permitted(project, &none, &case.url),
                case.permitted,
                "{} in project {}",
                case.url,
                case.project
            );
        }
    }

    #[test]
    fn deny_destinations_refuse_by_name_server_or_namespace() {
        let p = project(json!({
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"},
                             {"server": "!https://prod.example", "namespace": "*"},
                             {"server": "*", "namespace": "!kube-system"}]
        }));
        let none = ProjectScope::default();
        let to = |name: &str, server: &str, ns: &str| deploys_to(&p, &none, name, server, ns);
        assert!(to("staging", "https://staging.example", "shop"));
        assert!(!to("prod", "https://prod.example", "shop"));
        assert!(!to("staging", "https://staging.example", "kube-system"));
    }

    #[test]
    fn scoped_secrets_extend_the_project_and_can_be_required() {
        let mut p = project(json!({
            "sourceRepos": ["https://git.example/team/*"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "shop"}]
        }));
        let scope = ProjectScope {
            repos: vec!["https://git.example/vendor/charts.git".into()],
            clusters: vec![crate::project_scope::ScopedCluster {
                name: "edge".into(),
                server: "https://edge.example".into(),
                namespaces: vec!["cache".into()],
            }],
        };
        let to = |p: &AppProjectSpec, name: &str, server: &str, ns: &str| {
            deploys_to(p, &scope, name, server, ns)
        };
        assert!(source_permitted(
            &p,
            &scope,
            "https://git.example/vendor/charts"
        ));
        assert!(source_permitted(
            &p,
            &scope,
            "https://GIT.example/team/apps.git"
        ));
        assert!(!source_permitted(
            &p,
            &scope,
            "https://git.example/team/apps/nested"
        ));
        assert!(to(&p, "edge", "https://edge.example", "cache"));
        assert!(!to(&p, "edge", "https://edge.example", "shop"));
        assert!(to(&p, IN_CLUSTER_NAME, IN_CLUSTER_SERVER, "shop"));
        p.permit_only_project_scoped_clusters = Some(true);
        assert!(!to(&p, IN_CLUSTER_NAME, IN_CLUSTER_SERVER, "shop"));
        assert!(to(&p, "edge", "https://edge.example", "cache"));
    }
}
