//! Which git server sent a request, told from its event headers as Argo CD tells it.

use crate::Headers;
use std::fmt;

/// A git server whose push webhooks are understood.
///
/// Gitea (and Forgejo) has no provider of its own: it sends Gogs' headers beside its own, and
/// Argo CD reads it as Gogs, so it is verified with `webhook.gogs.secret`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Provider {
    GitHub,
    GitLab,
    /// Bitbucket Cloud (bitbucket.org).
    Bitbucket,
    /// Bitbucket Server and Data Center.
    BitbucketServer,
    /// Gogs, and Gitea through its Gogs headers.
    Gogs,
    AzureDevOps,
}

impl Provider {
    pub const ALL: [Provider; 6] = [
        Provider::GitHub,
        Provider::GitLab,
        Provider::Bitbucket,
        Provider::BitbucketServer,
        Provider::Gogs,
        Provider::AzureDevOps,
    ];

    /// The `argocd-secret` keys that hold this provider's secret.
    pub fn secret_keys(self) -> &'static [&'static str] {
        match self {
            Provider::GitHub => &["webhook.github.secret"],
            Provider::GitLab => &["webhook.gitlab.secret"],
            Provider::Bitbucket => &["webhook.bitbucket.uuid"],
            Provider::BitbucketServer => &["webhook.bitbucketserver.secret"],
            Provider::Gogs => &["webhook.gogs.secret"],
            Provider::AzureDevOps => &[
                "webhook.azuredevops.username",
                "webhook.azuredevops.password",
            ],
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Provider::GitHub => "GitHub",
            Provider::GitLab => "GitLab",
            Provider::Bitbucket => "Bitbucket",
            Provider::BitbucketServer => "Bitbucket Server",
            Provider::Gogs => "Gogs",
            Provider::AzureDevOps => "Azure DevOps",
        })
    }
}

/// What a request's headers say it is: its sender, and the event name they carry (Azure DevOps
/// names its event in the body instead, so `event` is `None` there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub provider: Provider,
    pub event: Option<String>,
}

/// The sender named by the headers, tried in Argo CD's order: Azure DevOps (`X-Vss-ActivityId`),
/// Gogs (`X-Gogs-Event`, before GitHub since Gitea sends both), GitHub (`X-GitHub-Event`),
/// GitLab (`X-Gitlab-Event`), Bitbucket Cloud (`X-Hook-UUID`), then Bitbucket Server
/// (`X-Event-Key` without `X-Hook-UUID`). An empty header counts as absent.
pub fn detect(headers: &Headers) -> Option<Delivery> {
    let event = |name: &str| headers.non_empty(name).map(str::to_string);
    let delivery = |provider, event| Some(Delivery { provider, event });
    if headers.non_empty("X-Vss-ActivityId").is_some() {
        return delivery(Provider::AzureDevOps, None);
    }
    if let Some(name) = event("X-Gogs-Event") {
        return delivery(Provider::Gogs, Some(name));
    }
    if let Some(name) = event("X-GitHub-Event") {
        return delivery(Provider::GitHub, Some(name));
    }
    if let Some(name) = event("X-Gitlab-Event") {
        return delivery(Provider::GitLab, Some(name));
    }
    if headers.non_empty("X-Hook-UUID").is_some() {
        return delivery(Provider::Bitbucket, event("X-Event-Key"));
    }
    if let Some(name) = event("X-Event-Key") {
        return delivery(Provider::BitbucketServer, Some(name));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detected(pairs: &[(&str, &str)]) -> Option<Provider> {
        detect(&pairs.iter().copied().collect()).map(|d| d.provider)
    }

    #[test]
    fn headers_name_the_provider_in_argo_order() {
        let gitea = [
            ("X-Gitea-Event", "push"),
            ("X-Gogs-Event", "push"),
            ("X-GitHub-Event", "push"),
        ];
        assert_eq!(detected(&gitea), Some(Provider::Gogs));
        assert_eq!(
            detected(&[("X-Event-Key", "repo:push"), ("X-Hook-UUID", "u")]),
            Some(Provider::Bitbucket)
        );
        assert_eq!(
            detected(&[("X-Event-Key", "repo:refs_changed")]),
            Some(Provider::BitbucketServer)
        );
        assert_eq!(
            detected(&[("x-vss-activityid", "a"), ("X-GitHub-Event", "push")]),
            Some(Provider::AzureDevOps)
        );
        assert_eq!(detected(&[("X-GitHub-Event", "")]), None);
        assert_eq!(detected(&[("X-Gitea-Event", "push")]), None);
    }
}
