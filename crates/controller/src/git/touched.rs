//! Which of the apps a repository move woke read something that moved: the tree at a git
//! source's path differs between the revision the app last compared and the one its target
//! names now. Those are compared first; the others (whose status only takes the new revision)
//! after them. Only an order: every woken app is compared either way.

use driftless_decisions::app_key::Key;
use driftless_model::Application;
use driftless_render::chart_of;
use driftless_source::{CommitId, RepoCache};
use std::collections::BTreeSet;

/// Whether the move may have changed what `app` renders (unknown counts as changed). Reads the
/// local repository cache only: call it off the async threads.
pub fn path_changed(cache: &RepoCache, app: &Application) -> bool {
    let Some(sync) = app.status.as_ref().and_then(|s| s.sync.as_ref()) else {
        return true;
    };
    let sources = app.sources();
    let last: Vec<Option<&String>> = match &sync.revisions {
        Some(revisions) if sources.len() > 1 => revisions.iter().map(Some).collect(),
        _ => vec![sync.revision.as_ref()],
    };
    sources.iter().enumerate().any(|(i, source)| {
        if chart_of(source).is_some() {
            return false;
        }
        let Some(old) = last
            .get(i)
            .copied()
            .flatten()
            .and_then(|r| r.parse::<CommitId>().ok())
        else {
            return true;
        };
        let target = driftless_render::revision_of(source);
        let Ok(repo) = cache.repo(&source.repo_url) else {
            return true;
        };
        let Ok(new) = repo.resolve(target) else {
            return true;
        };
        if new == old {
            return false;
        }
        let path = source.path.as_deref().unwrap_or("");
        match (repo.tree_id(old, path), repo.tree_id(new, path)) {
            (Ok(before), Ok(after)) => before != after,
            _ => true,
        }
    })
}

/// Who is reconciled when, after a move, besides the apps it touched (at once and first):
/// ApplicationSets and apps with a new chart version at once; the other apps, whose comparison
/// only records the new revision, after a moment when some touched app is syncing meanwhile (a
/// thousand status writes at once would slow the API server for the syncs that matter).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Wakes {
    pub now: Vec<Key>,
    pub later: Vec<String>,
}

pub fn wakes(touched: &BTreeSet<String>, moved: &BTreeSet<Key>, charted: &BTreeSet<Key>) -> Wakes {
    let mut wakes = Wakes::default();
    for key in moved.union(charted) {
        match key.app() {
            Some(app) if touched.contains(app) => {}
            Some(app) if !touched.is_empty() && !charted.contains(key) => {
                wakes.later.push(app.to_string())
            }
            _ => wakes.now.push(key.clone()),
        }
    }
    wakes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untouched_apps_wait_only_while_touched_ones_sync_and_never_one_with_a_new_chart() {
        let app = |n: &str| Key::App(n.to_string());
        let set = Key::AppSet("platform".to_string());
        let moved: BTreeSet<Key> = [app("web"), app("db"), app("cache"), set.clone()].into();
        let charted: BTreeSet<Key> = [app("cache"), app("chart-only")].into();
        let touched: BTreeSet<String> = ["web".to_string()].into();
        let wakes = wakes(&touched, &moved, &charted);
        assert_eq!(wakes.later, vec!["db".to_string()]);
        assert_eq!(
            wakes.now,
            vec![app("cache"), app("chart-only"), set.clone()]
        );

        // Nothing touched: nobody has anything to wait for.
        let wakes = super::wakes(&BTreeSet::new(), &moved, &BTreeSet::new());
        assert!(wakes.later.is_empty());
        assert_eq!(wakes.now.len(), 4);
    }
}

#[cfg(test)]
mod path_tests {
    use super::*;
    use driftless_source::RepoCredentials;
    use driftless_source::testing::ScratchRepo;
    use serde_json::json;

    fn app(url: &str, path: &str, last: Option<&str>) -> Application {
        serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"project": "default",
                     "source": {"repoURL": url, "path": path, "targetRevision": "HEAD"},
                     "destination": {"namespace": "shop"}},
            "status": last.map(|rev| json!({"sync": {"status": "Synced", "revision": rev}}))
                .unwrap_or(json!({})),
        }))
        .unwrap()
    }

    #[test]
    fn only_apps_whose_path_moved_go_first() {
        let repo = ScratchRepo::new();
        repo.write("apps/web/cm.yaml", "a: 1\n");
        repo.write("apps/db/cm.yaml", "a: 1\n");
        let first = repo.commit("both");
        repo.write("apps/web/cm.yaml", "a: 2\n");
        repo.commit("web changes");
        let dir = tempfile::tempdir().unwrap();
        let cache = RepoCache::new(dir.path()).unwrap();
        let url = repo.file_url();
        cache.fetch(&url, &RepoCredentials::anonymous()).unwrap();
        assert!(path_changed(&cache, &app(&url, "apps/web", Some(&first))));
        assert!(!path_changed(&cache, &app(&url, "apps/db", Some(&first))));
        assert!(
            path_changed(&cache, &app(&url, "apps/db", None)),
            "never compared: unknown counts as changed"
        );
        assert!(
            path_changed(&cache, &app(&url, "apps/gone", Some(&first))),
            "a path that is not there"
        );
    }
}
