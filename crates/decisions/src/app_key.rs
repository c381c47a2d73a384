//! How the controller names an Application everywhere (work queue, caches, tracking labels and
//! annotations): Argo CD's instance name, the app's name in the control namespace and
//! `<namespace>_<name>` in another one (apps in any namespace). `_` is never part of a
//! Kubernetes namespace or name, so the key splits back unambiguously.

/// What a shared watch (a git repository, a chart) is kept for: an Application (by its key)
/// or an ApplicationSet (by name). Told apart by type, never by the shape of a string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    App(String),
    AppSet(String),
}

impl Key {
    /// The Application's key, if this is one.
    pub fn app(&self) -> Option<&str> {
        match self {
            Self::App(app) => Some(app),
            Self::AppSet(_) => None,
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::App(app) => write!(f, "application {app}"),
            Self::AppSet(set) => write!(f, "applicationset {set}"),
        }
    }
}

/// The key of the Application `name` in `namespace`, with `control` the control namespace.
pub fn key(namespace: &str, name: &str, control: &str) -> String {
    if namespace.is_empty() || namespace == control {
        name.to_string()
    } else {
        format!("{namespace}_{name}")
    }
}

/// The namespace and name a key stands for.
pub fn split<'a>(key: &'a str, control: &'a str) -> (&'a str, &'a str) {
    match key.split_once('_') {
        Some((namespace, name)) => (namespace, name),
        None => (control, key),
    }
}

/// Whether the controller serves Applications in `namespace`: the control namespace always,
/// another one when `--application-namespaces` lists it (globs, or `/regexp/`).
pub fn serves(namespace: &str, control: &str, extra: &[String]) -> bool {
    namespace == control || driftless_model::glob::in_list(extra, namespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_back_into_namespace_and_name() {
        assert_eq!(key("argocd", "web", "argocd"), "web");
        assert_eq!(key("", "web", "argocd"), "web");
        assert_eq!(key("team-a", "web", "argocd"), "team-a_web");
        assert_eq!(split("web", "argocd"), ("argocd", "web"));
        assert_eq!(split("team-a_web", "argocd"), ("team-a", "web"));
    }

    #[test]
    fn other_namespaces_are_served_only_when_listed() {
        let listed = vec!["team-*".to_string()];
        assert!(serves("argocd", "argocd", &[]));
        assert!(serves("team-a", "argocd", &listed));
        assert!(!serves("ops", "argocd", &listed));
    }
}
