//! What an authentic payload says: the repositories pushed to, the ref, and the changed paths
//! when the payload lists them. Nothing in it is trusted beyond "look at these repositories
//! now"; the refresh itself asks git.

use crate::{Delivery, Provider, web_url_matches};
use serde_json::Value;
use std::collections::BTreeSet;

/// What an authentic request announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Push(Push),
    /// The git server testing the hook (GitHub `ping`, Bitbucket Server `diagnostics:ping`):
    /// authentic, and names no push.
    Ping,
}

/// A push to one repository, which the payload may name by several URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// Every URL of the repository in the payload, sorted, without duplicates.
    pub repositories: Vec<String>,
    /// The pushed ref, as `refs/heads/…` or `refs/tags/…` where the payload says which
    /// (Bitbucket Cloud names a branch or tag; it is given the same form here).
    pub reference: Option<String>,
    /// The paths added, modified or removed by the pushed commits, relative to the repository
    /// root. `None`: unknown (the payload lists no files, or a cut-short list), so every
    /// Application of the repository is to be refreshed, as Argo CD does with an empty list.
    pub changed_paths: Option<BTreeSet<String>>,
}

impl Push {
    /// The revision Argo CD compares with `targetRevision`: the ref without `refs/heads/`
    /// or `refs/tags/` (see [`revision`]).
    pub fn revision(&self) -> Option<&str> {
        self.reference.as_deref().map(revision)
    }

    /// Whether `repo_url` (an Application's `repoURL`) is this push's repository, by Argo CD's
    /// web-URL rule ([`web_url_matches`]) against any URL in the payload.
    pub fn names(&self, repo_url: &str) -> bool {
        self.repositories
            .iter()
            .any(|url| web_url_matches(url, repo_url))
    }
}

/// An authentic payload that cannot be read as a push.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("failed to read the webhook payload: it is not JSON")]
    NotJson,
    #[error("failed to read a webhook from {provider}: its event {event:?} is not a push")]
    UnsupportedEvent { provider: Provider, event: String },
    #[error("failed to read a push webhook from {provider}: its payload names no repository URL")]
    NoRepository { provider: Provider },
}

/// [`read_push`] of a body that still has to be parsed as JSON.
pub fn read_body(delivery: &Delivery, body: &[u8]) -> Result<Event, PayloadError> {
    let payload: Value = serde_json::from_slice(body).map_err(|_| PayloadError::NotJson)?;
    read_push(delivery, &payload)
}

/// The push (or ping) that an authentic `payload` announces. The events read are those Argo CD
/// reads: GitHub and Gogs `push`, GitLab `Push Hook`, `Tag Push Hook` and pushes in a
/// `System Hook`, Bitbucket `repo:push`, Bitbucket Server `repo:refs_changed` and Azure
/// DevOps `git.push`; anything else is [`PayloadError::UnsupportedEvent`].
pub fn read_push(delivery: &Delivery, payload: &Value) -> Result<Event, PayloadError> {
    let provider = delivery.provider;
    let event = match provider {
        Provider::AzureDevOps => payload["eventType"].as_str(),
        _ => delivery.event.as_deref(),
    }
    .unwrap_or_default();
    let unsupported = || PayloadError::UnsupportedEvent {
        provider,
        event: event.to_string(),
    };
    let (reference, changed_paths) = match (provider, event) {
        (Provider::GitHub, "ping") | (Provider::BitbucketServer, "diagnostics:ping") => {
            return Ok(Event::Ping);
        }
        (Provider::GitHub, "push") => (str_at(payload, "/ref"), commit_paths(payload, None)),
        (Provider::Gogs, "push") => (
            str_at(payload, "/ref"),
            commit_paths(payload, Some("/total_commits")),
        ),
        (Provider::GitLab, "Push Hook" | "Tag Push Hook") => gitlab(payload),
        (Provider::GitLab, "System Hook") if gitlab_system_push(payload) => gitlab(payload),
        (Provider::Bitbucket, "repo:push") => (bitbucket_reference(payload), None),
        (Provider::BitbucketServer, "repo:refs_changed") => (
            str_at(payload, "/changes/0/ref/id").or_else(|| str_at(payload, "/changes/0/refId")),
            None,
        ),
        (Provider::AzureDevOps, "git.push") => {
            (str_at(payload, "/resource/refUpdates/0/name"), None)
        }
        _ => return Err(unsupported()),
    };
    let repositories = repository_urls(payload);
    if repositories.is_empty() {
        return Err(PayloadError::NoRepository { provider });
    }
    Ok(Event::Push(Push {
        repositories,
        reference,
        changed_paths,
    }))
}

/// Argo CD's `ParseRevision`: what follows the second `/` (`refs/heads/a/b` → `a/b`), or the
/// part after the only `/`, or the whole name.
pub fn revision(reference: &str) -> &str {
    reference.splitn(3, '/').last().unwrap_or(reference)
}

/// Every repository URL a push payload names, whichever server sent it (pure).
pub fn repository_urls(payload: &Value) -> Vec<String> {
    let pointers = [
        // GitHub, Gitea, Gogs
        "/repository/html_url",
        "/repository/clone_url",
        "/repository/ssh_url",
        "/repository/git_url",
        // GitLab
        "/project/web_url",
        "/project/git_http_url",
        "/project/git_ssh_url",
        "/repository/git_http_url",
        "/repository/git_ssh_url",
        // Bitbucket Cloud
        "/repository/links/html/href",
        // Azure DevOps
        "/resource/repository/remoteUrl",
    ];
    let mut urls: Vec<String> = pointers.iter().filter_map(|p| str_at(payload, p)).collect();
    // Bitbucket Server lists its clone links.
    let clone_links = payload.pointer("/repository/links/clone");
    for link in clone_links.and_then(Value::as_array).into_iter().flatten() {
        if let Some(href) = link["href"].as_str().filter(|h| !h.is_empty()) {
            urls.push(href.to_string());
        }
    }
    urls.sort();
    urls.dedup();
    urls
}

fn str_at(payload: &Value, pointer: &str) -> Option<String> {
    payload
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn gitlab(payload: &Value) -> (Option<String>, Option<BTreeSet<String>>) {
    (
        str_at(payload, "/ref"),
        commit_paths(payload, Some("/total_commits_count")),
    )
}

/// A system hook carries a push when its `object_kind` or `event_name` says so.
fn gitlab_system_push(payload: &Value) -> bool {
    ["/object_kind", "/event_name"].iter().any(|p| {
        payload
            .pointer(p)
            .and_then(Value::as_str)
            .is_some_and(|kind| kind == "push" || kind == "tag_push")
    })
}

/// Bitbucket Cloud's first change (Argo CD reads only the first): the new branch or tag, or
/// the old one when it was deleted.
fn bitbucket_reference(payload: &Value) -> Option<String> {
    let change = payload.pointer("/push/changes/0")?;
    let side = [&change["new"], &change["old"]]
        .into_iter()
        .find(|side| side.is_object())?;
    let name = side["name"].as_str().filter(|n| !n.is_empty())?;
    Some(match side["type"].as_str() {
        Some("branch" | "named_branch") => format!("refs/heads/{name}"),
        Some("tag") => format!("refs/tags/{name}"),
        _ => name.to_string(),
    })
}

/// The union of the commits' `added`, `modified` and `removed` lists, or `None` when it would
/// be incomplete: no `commits` list, a commit without any of the three lists, fewer commits
/// listed than `total_pointer` counts (GitLab and Gitea shorten the list), GitHub's cap of
/// 2048 commits reached, or no path at all.
fn commit_paths(payload: &Value, total_pointer: Option<&str>) -> Option<BTreeSet<String>> {
    const GITHUB_COMMIT_CAP: usize = 2048;
    let commits = payload.get("commits")?.as_array()?;
    let total = total_pointer.and_then(|p| payload.pointer(p)?.as_u64());
    let listed = commits.len() as u64;
    if total.is_some_and(|t| t > listed) || commits.len() >= GITHUB_COMMIT_CAP {
        return None;
    }
    let mut paths = BTreeSet::new();
    for commit in commits {
        let lists: Vec<&Vec<Value>> = ["added", "modified", "removed"]
            .iter()
            .filter_map(|k| commit.get(*k)?.as_array())
            .collect();
        if lists.is_empty() {
            return None;
        }
        let names = lists.into_iter().flatten().filter_map(Value::as_str);
        paths.extend(names.filter(|p| !p.is_empty()).map(str::to_string));
    }
    (!paths.is_empty()).then_some(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn revision_is_read_as_argo_reads_it() {
        assert_eq!(revision("refs/heads/main"), "main");
        assert_eq!(revision("refs/heads/feature/x"), "feature/x");
        assert_eq!(revision("refs/tags/v1.2.0"), "v1.2.0");
        assert_eq!(revision("main"), "main");
    }

    #[test]
    fn shortened_or_missing_file_lists_mean_unknown() {
        let file = |p: &str| json!({"added": [], "modified": [p], "removed": []});
        let listed = json!({"commits": [file("a.yaml"), {"removed": ["b.yaml"]}]});
        assert_eq!(
            commit_paths(&listed, Some("/total_commits_count")),
            Some(BTreeSet::from(["a.yaml".to_string(), "b.yaml".to_string()]))
        );
        let cut = json!({"commits": [file("a.yaml")], "total_commits_count": 21});
        assert_eq!(commit_paths(&cut, Some("/total_commits_count")), None);
        let no_lists = json!({"commits": [file("a.yaml"), {"id": "1"}]});
        assert_eq!(commit_paths(&no_lists, None), None);
        assert_eq!(commit_paths(&json!({"commits": []}), None), None);
        assert_eq!(commit_paths(&json!({}), None), None);
    }

    #[test]
    fn bitbucket_names_branches_and_tags_as_refs() {
        let change =
            |new: Value, old: Value| json!({"push": {"changes": [{"new": new, "old": old}]}});
        let tag = change(json!({"type": "tag", "name": "v1"}), Value::Null);
        assert_eq!(bitbucket_reference(&tag).as_deref(), Some("refs/tags/v1"));
        let deleted = change(Value::Null, json!({"type": "branch", "name": "old"}));
        assert_eq!(
            bitbucket_reference(&deleted).as_deref(),
            Some("refs/heads/old")
        );
        assert_eq!(bitbucket_reference(&json!({"push": {}})), None);
    }
}
