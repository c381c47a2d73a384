//! Which ServiceAccount a sync acts as (pure): the first entry of the AppProject's
//! `destinationServiceAccounts` whose `server` and `namespace` globs match the app's resolved
//! destination. `defaultServiceAccount` is `name` (in the app's destination namespace) or
//! `namespace:name`. Without a match the sync runs as the engine itself, unless impersonation
//! is required (`driftless serve --sync-impersonation`), which makes it an error.

use driftless_model::glob::matches as glob;
use driftless_model::project::AppProjectSpec;

/// A ServiceAccount to impersonate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceAccountRef {
    pub namespace: String,
    pub name: String,
}

impl ServiceAccountRef {
    /// The user name the API server gives this ServiceAccount.
    pub fn username(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImpersonationError {
    #[error(
        "failed to choose a service account to sync as: project {project} has no destinationServiceAccounts entry matching server {server} and namespace {namespace:?} (driftless serve --sync-impersonation requires one)"
    )]
    NoMatch {
        project: String,
        server: String,
        namespace: String,
    },
    #[error(
        "failed to choose a service account to sync as: project {project} names {value:?} as defaultServiceAccount, which is not `name` or `namespace:name`"
    )]
    Invalid { project: String, value: String },
    #[error(
        "failed to choose a service account to sync as: project {project} names {name:?} without a namespace and the application's destination has none"
    )]
    NoNamespace { project: String, name: String },
}

/// Where an app deploys, as the entries are matched against it.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    /// The server address (resolved from the destination's name when it gave one).
    pub server: &'a str,
    pub namespace: &'a str,
}

impl<'a> Destination<'a> {
    /// Where `app` deploys, on the cluster at `server`.
    pub fn of(app: &'a driftless_model::Application, server: &'a str) -> Self {
        Self {
            server,
            namespace: app
                .spec
                .destination
                .namespace
                .as_deref()
                .unwrap_or_default(),
        }
    }
}

/// The ServiceAccount syncs of an app deploying to `destination` act as: `Ok(None)` is the
/// engine's own identity (no entry matched and impersonation is not `required`).
pub fn choose(
    project_name: &str,
    project: Option<&AppProjectSpec>,
    destination: Destination<'_>,
    required: bool,
) -> Result<Option<ServiceAccountRef>, ImpersonationError> {
    let entries = project
        .and_then(|p| p.destination_service_accounts.as_ref())
        .into_iter()
        .flatten();
    let server = destination.server.trim_end_matches('/');
    for entry in entries {
        let namespace_pattern = entry.namespace.as_deref().unwrap_or_default();
        let server_pattern = entry.server.trim_end_matches('/');
        if glob(server_pattern, server) && glob(namespace_pattern, destination.namespace) {
            return parse(
                project_name,
                &entry.default_service_account,
                destination.namespace,
            )
            .map(Some);
        }
    }
    if required {
        return Err(ImpersonationError::NoMatch {
            project: project_name.to_string(),
            server: server.to_string(),
            namespace: destination.namespace.to_string(),
        });
    }
    Ok(None)
}

fn parse(
    project: &str,
    value: &str,
    destination_namespace: &str,
) -> Result<ServiceAccountRef, ImpersonationError> {
    let invalid = || ImpersonationError::Invalid {
        project: project.to_string(),
        value: value.to_string(),
    };
    let (namespace, name) = match value.trim().split_once(':') {
        Some((namespace, name)) => (namespace.trim(), name.trim()),
        None => (destination_namespace, value.trim()),
    };
    let label = |s: &str| {
        !s.is_empty()
            && s.len() <= 253
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    };
    if !label(name) || name.contains(':') {
        return Err(invalid());
    }
    if namespace.is_empty() {
        return Err(ImpersonationError::NoNamespace {
            project: project.to_string(),
            name: name.to_string(),
        });
    }
    if !label(namespace) {
        return Err(invalid());
    }
    Ok(ServiceAccountRef {
        namespace: namespace.to_string(),
        name: name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_model::project::DestinationServiceAccount;

    fn project(entries: &[(&str, Option<&str>, &str)]) -> AppProjectSpec {
        AppProjectSpec {
            destination_service_accounts: Some(
                entries
                    .iter()
                    .map(|(server, namespace, sa)| DestinationServiceAccount {
                        server: server.to_string(),
                        namespace: namespace.map(str::to_string),
                        default_service_account: sa.to_string(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }
    }

    fn at<'a>(server: &'a str, namespace: &'a str) -> Destination<'a> {
        Destination { server, namespace }
    }

    fn sa(namespace: &str, name: &str) -> Option<ServiceAccountRef> {
        Some(ServiceAccountRef {
            namespace: namespace.into(),
            name: name.into(),
        })
    }

    const LOCAL: &str = "https://kubernetes.default.svc";

    #[test]
    fn the_first_matching_entry_wins_and_a_bare_name_lives_in_the_destination_namespace() {
        let spec = project(&[
            (LOCAL, Some("shop-*"), "shop-deployer"),
            ("*", Some("*"), "infra:catch-all"),
        ]);
        let chosen = choose("team", Some(&spec), at(LOCAL, "shop-eu"), false).unwrap();
        assert_eq!(chosen, sa("shop-eu", "shop-deployer"));
        assert_eq!(
            chosen.unwrap().username(),
            "system:serviceaccount:shop-eu:shop-deployer"
        );
        let other = choose("team", Some(&spec), at("https://edge/", "cache"), false).unwrap();
        assert_eq!(other, sa("infra", "catch-all"));
    }

    #[test]
    fn servers_compare_without_a_trailing_slash() {
        let spec = project(&[("https://edge.example/", Some("*"), "deployer")]);
        let chosen = choose("p", Some(&spec), at("https://edge.example", "web"), true).unwrap();
        assert_eq!(chosen, sa("web", "deployer"));
    }

    #[test]
    fn without_a_match_the_engine_syncs_unless_impersonation_is_required() {
        let spec = project(&[(LOCAL, Some("shop"), "deployer")]);
        assert_eq!(
            choose("team", Some(&spec), at(LOCAL, "other"), false),
            Ok(None)
        );
        assert_eq!(choose("team", None, at(LOCAL, "other"), false), Ok(None));
        let error = choose("team", Some(&spec), at(LOCAL, "other"), true).unwrap_err();
        assert!(matches!(error, ImpersonationError::NoMatch { .. }));
        let message = error.to_string();
        assert!(
            message.contains("team") && message.contains("other"),
            "{message}"
        );
        assert!(message.contains("--sync-impersonation"), "{message}");
        assert!(choose("default", None, at(LOCAL, "x"), true).is_err());
    }

    #[test]
    fn malformed_service_accounts_are_errors_naming_the_project() {
        for bad in ["", "a:b:c", "Upper", "ns:", "with space"] {
            let spec = project(&[("*", Some("*"), bad)]);
            let error = choose("team", Some(&spec), at(LOCAL, "web"), false).unwrap_err();
            assert!(error.to_string().contains("team"), "{bad}: {error}");
        }
        let spec = project(&[("*", None, "deployer")]);
        // An entry without a namespace matches only an empty destination namespace, which
        // leaves a bare name nowhere to live.
        assert_eq!(
            choose("team", Some(&spec), at(LOCAL, ""), false),
            Err(ImpersonationError::NoNamespace {
                project: "team".into(),
                name: "deployer".into()
            })
        );
        assert_eq!(
            choose("team", Some(&spec), at(LOCAL, "web"), false),
            Ok(None)
        );
    }
}
