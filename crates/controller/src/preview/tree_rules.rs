//! The tree preview's decisions (pure): which rendered objects are child Applications, which
//! children follow the root to the revision asked for, and what became of each child.

use driftless_model::{Application, ApplicationSource, GROUP};
use driftless_source::cache_key;
use serde::Serialize;
use serde_json::Value;

/// What the revision does to a child app of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Change {
    /// Rendered at the revision and not in the cluster yet.
    Added,
    /// In the cluster and no longer rendered: it would be pruned.
    Removed,
    /// Its Application object differs.
    Changed,
    Unchanged,
}

impl Change {
    /// From the status of the child's Application object in its parent's diff.
    pub fn of_status(status: &str) -> Change {
        match status {
            "Missing" => Change::Added,
            "Extraneous" => Change::Removed,
            "OutOfSync" => Change::Changed,
            _ => Change::Unchanged,
        }
    }
}

/// Whether a rendered object is an Argo CD Application.
pub fn is_application(object: &Value) -> bool {
    object["kind"] == "Application"
        && object["apiVersion"]
            .as_str()
            .is_some_and(|v| v.split('/').next() == Some(GROUP))
}

/// The name of an object.
pub fn name_of(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

/// A child is rendered at the asked-for revision when its first source reads the same
/// repository at the same target as one of the root's sources: in an App of Apps that is
/// the branch under review. Any other child (another repository, a pinned tag, a chart
/// version) is rendered at its own target.
pub fn follows_root(child: &Application, root: &[ApplicationSource]) -> bool {
    let Some(first) = child.sources().first() else {
        return false;
    };
    root.iter().any(|r| {
        r.chart.is_none()
            && first.chart.is_none()
            && cache_key(&r.repo_url) == cache_key(&first.repo_url)
            && target(r) == target(first)
    })
}

fn target(source: &ApplicationSource) -> &str {
    match source.target_revision.as_deref().map(str::trim) {
        None | Some("") => "HEAD",
        Some(revision) => revision,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn app(repo: &str, revision: Option<&str>) -> Application {
        serde_json::from_value(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "child"},
            "spec": {"project": "default",
                "source": {"repoURL": repo, "path": "x", "targetRevision": revision},
                "destination": {"server": "https://kubernetes.default.svc"}}
        }))
        .unwrap()
    }

    #[test]
    fn children_of_the_same_repository_and_target_follow_the_root() {
        let root = app("https://git.example/platform.git", Some("main"));
        let sources = root.sources();
        assert!(follows_root(
            &app("https://git.example/platform", Some("main")),
            sources
        ));
        assert!(!follows_root(
            &app("https://git.example/platform.git", Some("v1.2.0")),
            sources
        ));
        assert!(!follows_root(
            &app("https://git.example/other.git", Some("main")),
            sources
        ));
        let head = app("https://git.example/platform.git", None);
        assert!(follows_root(
            &app("https://git.example/platform.git", Some("HEAD")),
            head.sources()
        ));
    }

    #[test]
    fn applications_are_found_by_group_and_kind() {
        assert!(is_application(
            &json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application"})
        ));
        assert!(!is_application(
            &json!({"apiVersion": "v1", "kind": "Application"})
        ));
        assert!(!is_application(
            &json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet"})
        ));
    }

    #[test]
    fn the_parents_diff_says_what_became_of_a_child() {
        assert_eq!(Change::of_status("Missing"), Change::Added);
        assert_eq!(Change::of_status("Extraneous"), Change::Removed);
        assert_eq!(Change::of_status("OutOfSync"), Change::Changed);
        assert_eq!(Change::of_status("Synced"), Change::Unchanged);
    }
}
