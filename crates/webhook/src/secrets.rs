//! The webhook secrets of `argocd-secret`, read as Argo CD's settings manager reads them.

use crate::Provider;
use std::collections::BTreeMap;
use std::fmt;

/// A secret value. Its `Debug` prints `<redacted>`; it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(value: impl Into<Vec<u8>>) -> Self {
        Secret(value.into())
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Azure DevOps' basic-auth pair; either half may be empty, as in Argo CD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BasicAuth {
    pub username: Secret,
    pub password: Secret,
}

/// The configured webhook secrets; a provider without one is `None` and is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    pub(crate) github: Option<Secret>,
    pub(crate) gitlab: Option<Secret>,
    pub(crate) bitbucket_uuid: Option<Secret>,
    pub(crate) bitbucket_server: Option<Secret>,
    pub(crate) gogs: Option<Secret>,
    pub(crate) azure_devops: Option<BasicAuth>,
}

impl Secrets {
    /// The secrets in `argocd-secret`'s `data`. A value `$key` names another key of the same
    /// Secret (Argo CD's indirection); see [`Secrets::from_secret_data_with`] for other Secrets.
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Self {
        Self::from_secret_data_with(data, &BTreeMap::new())
    }

    /// Like [`Secrets::from_secret_data`], with the `data` of the other Secrets labelled
    /// `app.kubernetes.io/part-of: argocd`, by name, so that `$name:key` values resolve.
    ///
    /// As in Argo CD: a value is used as it is (not trimmed) unless it starts with `$`; then
    /// the value it names is used, trimmed of white space, and a name that resolves to
    /// nothing leaves the literal `$…` as the secret. An empty value is no secret.
    pub fn from_secret_data_with(
        data: &BTreeMap<String, Vec<u8>>,
        others: &BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    ) -> Self {
        let read = |key: &str| resolve(data.get(key).map(Vec::as_slice)?, data, others);
        let secret = |key: &str| read(key).filter(|v| !v.is_empty()).map(Secret);
        let username = read("webhook.azuredevops.username").unwrap_or_default();
        let password = read("webhook.azuredevops.password").unwrap_or_default();
        let azure_devops = (!username.is_empty() || !password.is_empty()).then_some(BasicAuth {
            username: Secret(username),
            password: Secret(password),
        });
        Secrets {
            github: secret("webhook.github.secret"),
            gitlab: secret("webhook.gitlab.secret"),
            bitbucket_uuid: secret("webhook.bitbucket.uuid"),
            bitbucket_server: secret("webhook.bitbucketserver.secret"),
            gogs: secret("webhook.gogs.secret"),
            azure_devops,
        }
    }

    /// Whether requests from `provider` can be authenticated (and so can be accepted).
    pub fn is_configured(&self, provider: Provider) -> bool {
        match provider {
            Provider::GitHub => self.github.is_some(),
            Provider::GitLab => self.gitlab.is_some(),
            Provider::Bitbucket => self.bitbucket_uuid.is_some(),
            Provider::BitbucketServer => self.bitbucket_server.is_some(),
            Provider::Gogs => self.gogs.is_some(),
            Provider::AzureDevOps => self.azure_devops.is_some(),
        }
    }

    /// The providers whose requests can be accepted, for a startup message.
    pub fn configured(&self) -> Vec<Provider> {
        Provider::ALL
            .into_iter()
            .filter(|p| self.is_configured(*p))
            .collect()
    }
}

/// Argo CD's `ReplaceStringSecret`: `$key` looks up `key` among the other Secrets' `name:key`
/// entries and this Secret's keys (which win), trimming what it finds.
fn resolve(
    value: &[u8],
    data: &BTreeMap<String, Vec<u8>>,
    others: &BTreeMap<String, BTreeMap<String, Vec<u8>>>,
) -> Option<Vec<u8>> {
    let Some(reference) = value.strip_prefix(b"$") else {
        return Some(value.to_vec());
    };
    let Ok(reference) = std::str::from_utf8(reference) else {
        return Some(value.to_vec());
    };
    let found = data.get(reference).or_else(|| {
        let (name, key) = reference.split_once(':')?;
        others.get(name)?.get(key)
    });
    Some(match found {
        Some(v) => v.trim_ascii().to_vec(),
        None => value.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let secrets = Secrets::from_secret_data(&data(&[
            ("webhook.github.secret", "hunter2"),
            ("webhook.azuredevops.password", "p4ss"),
        ]));
        let shown = format!("{secrets:?}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("p4ss"),
            "{shown}"
        );
        assert_eq!(
            secrets.configured(),
            vec![Provider::GitHub, Provider::AzureDevOps]
        );
    }

    #[test]
    fn empty_values_are_no_secret_and_references_resolve() {
        let others = BTreeMap::from([("hooks".to_string(), data(&[("gitlab", " from-other \n")]))]);
        let secrets = Secrets::from_secret_data_with(
            &data(&[
                ("webhook.github.secret", ""),
                ("webhook.gitlab.secret", "$hooks:gitlab"),
                ("webhook.gogs.secret", "$shared"),
                ("shared", "same\n"),
                ("webhook.bitbucketserver.secret", "$nowhere"),
            ]),
            &others,
        );
        assert_eq!(secrets.github, None);
        assert_eq!(secrets.gitlab, Some(Secret::new("from-other")));
        assert_eq!(secrets.gogs, Some(Secret::new("same")));
        assert_eq!(secrets.bitbucket_server, Some(Secret::new("$nowhere")));
        assert!(!secrets.is_configured(Provider::AzureDevOps));
    }
}
