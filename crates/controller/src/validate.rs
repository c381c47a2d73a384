//! Is the Application's spec usable (pure)? Sources present, one destination (a server or a
//! name), and a project that exists and permits the source repositories and, once the
//! destination is resolved to a cluster, that cluster and namespace. A failure becomes an
//! `InvalidSpecError` condition.

use driftless_model::project::AppProjectSpec;
use driftless_model::{Application, ApplicationDestination};

pub use driftless_model::{IN_CLUSTER_NAME, IN_CLUSTER_SERVER};
/// The project every installation has, permitting everything, whether or not its object exists.
pub const DEFAULT_PROJECT: &str = "default";

/// Checks `app` against its project (`None`: no AppProject of that name was found).
pub fn validate(app: &Application, project: Option<&AppProjectSpec>) -> Result<(), String> {
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
        if !permitted(
            project.source_repos.as_deref().unwrap_or_default(),
            &source.repo_url,
        ) {
            return Err(format!(
                "application repo {} is not permitted in project '{project_name}'",
                driftless_source::redact_url(&source.repo_url)
            ));
        }
    }
    Ok(())
}

/// Whether the project lets `app` deploy to the cluster its destination resolved to
/// (`cluster_name`, `cluster_server`): a project destination may name either, as in Argo CD.
pub fn destination_permitted(
    app: &Application,
    project: Option<&AppProjectSpec>,
    cluster_name: &str,
    cluster_server: &str,
) -> Result<(), String> {
    let Some(project) = project else {
        return Ok(());
    };
    let project_name = project_name(app);
    let namespace = app.spec.destination.namespace.clone().unwrap_or_default();
    let allowed = project.destinations.iter().flatten().any(|d| {
        let server_ok = d.server.as_deref().is_some_and(|p| glob(p, cluster_server));
        let name_ok = d.name.as_deref().is_some_and(|p| glob(p, cluster_name));
        (server_ok || name_ok) && d.namespace.as_deref().is_some_and(|p| glob(p, &namespace))
    });
    if !allowed {
        return Err(format!(
            "application destination server '{cluster_server}' and namespace '{namespace}' do not match any of the allowed destinations in project '{project_name}'"
        ));
    }
    Ok(())
}

fn project_name(app: &Application) -> &str {
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

/// Argo CD's allow list: a value is permitted when some pattern matches it and no `!pattern` does.
fn permitted(patterns: &[String], value: &str) -> bool {
    let denied = patterns
        .iter()
        .filter_map(|p| p.strip_prefix('!'))
        .any(|p| glob(p, value));
    let allowed = patterns
        .iter()
        .filter(|p| !p.starts_with('!'))
        .any(|p| glob(p, value));
    allowed && !denied
}

/// `*` any run of characters, `?` one character, everything else itself.
pub fn glob(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
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
        assert_eq!(validate(&app(good()), None), Ok(()));
        let mut other = good();
        other["project"] = json!("team");
        assert_eq!(
            validate(&app(other), None),
            Err("application references project team which does not exist".into())
        );
    }

    #[test]
    fn bad_sources_and_destinations_are_reported() {
        let mut no_source = good();
        no_source.as_object_mut().unwrap().remove("source");
        assert!(
            validate(&app(no_source), None)
                .unwrap_err()
                .contains("spec.source")
        );
        let mut both = good();
        both["destination"]["name"] = json!("in-cluster");
        assert!(
            validate(&app(both), None)
                .unwrap_err()
                .contains("both name and server")
        );
        let mut neither = good();
        neither["destination"] = json!({"namespace": "shop"});
        assert!(
            validate(&app(neither), None)
                .unwrap_err()
                .contains("server or name is required")
        );
        let mut by_name = good();
        by_name["destination"] = json!({"name": "in-cluster", "namespace": "shop"});
        assert_eq!(validate(&app(by_name), None), Ok(()));
    }

    #[test]
    fn projects_restrict_repositories_and_destinations() {
        let p = project(json!({
            "sourceRepos": ["https://git.example/team/*", "!https://git.example/team/secret.git"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "shop-*"}]
        }));
        let mut ok = good();
        ok["destination"]["namespace"] = json!("shop-prod");
        assert_eq!(validate(&app(ok.clone()), Some(&p)), Ok(()));
        let mut denied_repo = ok.clone();
        denied_repo["source"]["repoURL"] = json!("https://git.example/team/secret.git");
        assert!(
            validate(&app(denied_repo), Some(&p))
                .unwrap_err()
                .contains("not permitted")
        );
        let local = |a: &Application| {
            destination_permitted(a, Some(&p), IN_CLUSTER_NAME, IN_CLUSTER_SERVER)
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
            destination_permitted(&remote, Some(&p), "staging", "https://10.0.0.9:6443"),
            Ok(())
        );
        let mut ops = good();
        ops["destination"] = json!({"server": "https://10.0.0.1:6443", "namespace": "ops"});
        assert_eq!(
            destination_permitted(&app(ops), Some(&p), "prod", "https://10.0.0.1:6443"),
            Ok(())
        );
        assert!(destination_permitted(&remote, Some(&p), "prod", "https://10.0.0.1:6443").is_err());
    }

    #[test]
    fn globs_match_like_argo_cd() {
        assert!(glob("*", ""));
        assert!(glob("shop-*", "shop-prod"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(glob("*/team/*", "https://git.example/team/x"));
        assert!(!glob("shop", "shop-prod"));
    }
}
