//! Repository credentials and Argo CD's rule for choosing them from Secrets. Pure: the Secrets
//! arrive as values (see `secrets` for reading them from a cluster).
//!
//! Argo CD's rule: a Secret labelled `argocd.argoproj.io/secret-type: repository` whose `url`
//! is the same repository (after normalisation) wins; every credential field it leaves empty is
//! filled from the `repo-creds` Secret (a credential template) whose `url` is the longest prefix
//! of the repository URL. With no `repository` Secret, the best template alone applies.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::Secret;

use crate::url::normalize_git_url;

/// The label that marks Argo CD repository Secrets.
pub const SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";

/// How to authenticate to one repository. `Debug` never prints a secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RepoCredentials {
    pub username: Option<String>,
    pub password: Option<String>,
    /// A private key in OpenSSH/PEM form, for `ssh://` and `git@host:path` URLs.
    pub ssh_private_key: Option<String>,
    /// Skip TLS certificate verification (https) and host key checking (ssh).
    pub insecure: bool,
    /// An HTTP(S) proxy URL for this repository (Argo CD's `proxy`). Read and inherited, but
    /// not applied yet: connections go direct and a warning is logged.
    pub proxy: Option<String>,
}

impl RepoCredentials {
    /// No credentials: public repositories, or credentials inside the URL itself.
    pub fn anonymous() -> Self {
        RepoCredentials::default()
    }

    /// HTTP basic auth (a token usually goes in `password`).
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        RepoCredentials {
            username: Some(username.into()),
            password: Some(password.into()),
            ..Default::default()
        }
    }

    /// An SSH private key.
    pub fn ssh_key(private_key: impl Into<String>) -> Self {
        RepoCredentials {
            ssh_private_key: Some(private_key.into()),
            ..Default::default()
        }
    }

    /// Argo CD's "has credentials": any of username, password or key is set.
    pub fn has_credentials(&self) -> bool {
        [&self.username, &self.password, &self.ssh_private_key]
            .iter()
            .any(|v| v.as_deref().is_some_and(|s| !s.is_empty()))
    }

    /// Username and password for HTTP basic auth, when both are set (as Argo CD requires).
    pub fn basic_auth(&self) -> Option<(&str, &str)> {
        match (self.username.as_deref(), self.password.as_deref()) {
            (Some(u), Some(p)) if !u.is_empty() && !p.is_empty() => Some((u, p)),
            _ => None,
        }
    }

    /// The values that must never appear in a message.
    pub(crate) fn secret_values(&self) -> Vec<&str> {
        [self.password.as_deref(), self.ssh_private_key.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Argo CD's template inheritance: every empty credential field is taken from `template`.
    fn fill_from(&mut self, template: &RepoCredentials) {
        fn fill(field: &mut Option<String>, from: &Option<String>) {
            if field.as_deref().is_none_or(str::is_empty) {
                field.clone_from(from);
            }
        }
        fill(&mut self.username, &template.username);
        fill(&mut self.password, &template.password);
        fill(&mut self.ssh_private_key, &template.ssh_private_key);
        fill(&mut self.proxy, &template.proxy);
    }
}

impl fmt::Debug for RepoCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |v: &Option<String>| if v.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("RepoCredentials")
            .field("username", &self.username)
            .field("password", &shown(&self.password))
            .field("ssh_private_key", &shown(&self.ssh_private_key))
            .field("insecure", &self.insecure)
            .field("proxy", &self.proxy.as_deref().map(crate::url::redact_url))
            .finish()
    }
}

/// Which of Argo CD's two repository Secret kinds a Secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// `repository`: credentials for one repository URL.
    Repository,
    /// `repo-creds`: a credential template for every URL under a prefix.
    RepoCreds,
}

impl SecretKind {
    /// The kind named by the `argocd.argoproj.io/secret-type` label value.
    pub fn from_label(value: &str) -> Option<Self> {
        match value {
            "repository" => Some(SecretKind::Repository),
            "repo-creds" => Some(SecretKind::RepoCreds),
            _ => None,
        }
    }
}

/// A repository Secret reduced to what choosing credentials needs: its kind, name and decoded
/// `data` (keys `url`, `type`, `project`, `username`, `password`, `sshPrivateKey`, `insecure`,
/// `proxy`). `Debug` prints only the name, kind and url.
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialSecret {
    pub kind: SecretKind,
    pub name: String,
    pub data: BTreeMap<String, String>,
}

impl fmt::Debug for CredentialSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialSecret")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("url", &self.url().map(crate::url::redact_url))
            .finish_non_exhaustive()
    }
}

impl CredentialSecret {
    /// Reads a Kubernetes Secret; `None` unless it carries the repository label. `stringData`
    /// entries override `data`, as the API server would apply them.
    pub fn from_secret(secret: &Secret) -> Option<Self> {
        let labels = secret.metadata.labels.as_ref()?;
        let kind = SecretKind::from_label(labels.get(SECRET_TYPE_LABEL)?)?;
        let mut data: BTreeMap<String, String> = secret
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
            .collect();
        data.extend(
            secret
                .string_data
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        Some(CredentialSecret {
            kind,
            name: secret.metadata.name.clone().unwrap_or_default(),
            data,
        })
    }

    /// A `data` value, `None` when absent or empty.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.data
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn url(&self) -> Option<&str> {
        self.value("url")
    }

    /// The repository type the Secret is for (`type` absent means git); `None` for a type
    /// driftless does not read.
    pub fn repo_type(&self) -> Option<RepoType> {
        match self.value("type") {
            None | Some("git") => Some(RepoType::Git),
            Some("helm") => Some(RepoType::Helm),
            Some("oci") => Some(RepoType::Oci),
            Some(_) => None,
        }
    }

    /// Usable by an application of `project`: unscoped, or scoped to that very project.
    fn usable_by(&self, project: Option<&str>) -> bool {
        match self.value("project") {
            None => true,
            Some(scope) => project == Some(scope),
        }
    }

    fn is_scoped(&self) -> bool {
        self.value("project").is_some()
    }

    /// The credentials this Secret holds.
    pub fn credentials(&self) -> RepoCredentials {
        let owned = |key: &str| self.value(key).map(str::to_string);
        RepoCredentials {
            username: owned("username"),
            password: owned("password"),
            ssh_private_key: owned("sshPrivateKey"),
            insecure: self.value("insecure") == Some("true"),
            proxy: owned("proxy"),
        }
    }
}

/// Which kind of repository a Secret is for (its `type`; absent means git).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoType {
    Git,
    Helm,
    Oci,
}

/// The Secrets Argo CD's rule picks for one URL: the `repository` Secret of that very URL, and
/// the `repo-creds` template with the longest matching prefix. Either may be absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChosenSecrets<'a> {
    pub repository: Option<&'a CredentialSecret>,
    pub template: Option<&'a CredentialSecret>,
}

/// Picks the Secrets of `repo_type` for `url`, used by an application of `project` (see the
/// module doc). Among several `repository` Secrets for the same URL, one scoped to `project`
/// wins over an unscoped one, then the first by name; Secrets scoped to another project are
/// never used.
pub fn choose_secrets<'a>(
    url: &str,
    project: Option<&str>,
    secrets: &'a [CredentialSecret],
    repo_type: RepoType,
) -> ChosenSecrets<'a> {
    let wanted = normalize_git_url(url);
    let mut usable: Vec<&CredentialSecret> = secrets
        .iter()
        .filter(|s| s.repo_type() == Some(repo_type) && s.usable_by(project))
        .collect();
    usable.sort_by(|a, b| a.name.cmp(&b.name));

    let repository = usable
        .iter()
        .filter(|s| s.kind == SecretKind::Repository)
        .filter(|s| s.url().is_some_and(|u| normalize_git_url(u) == wanted))
        .min_by_key(|s| !s.is_scoped())
        .copied();

    let template = usable
        .iter()
        .filter(|s| s.kind == SecretKind::RepoCreds)
        .filter_map(|s| {
            let prefix = normalize_git_url(s.url()?);
            (!prefix.is_empty() && wanted.starts_with(&prefix)).then_some((prefix.len(), *s))
        })
        // Longest prefix wins; on a tie the first by name (max_by_key keeps the last maximum).
        .rev()
        .max_by_key(|(len, _)| *len)
        .map(|(_, s)| s);
    ChosenSecrets {
        repository,
        template,
    }
}

/// Chooses the git credentials for `url` by [`choose_secrets`]; anonymous when nothing matches.
/// Every field the `repository` Secret leaves empty comes from the template, unless it holds
/// credentials of its own.
pub fn select_credentials(
    url: &str,
    project: Option<&str>,
    secrets: &[CredentialSecret],
) -> RepoCredentials {
    let chosen = choose_secrets(url, project, secrets, RepoType::Git);
    let mut credentials = chosen
        .repository
        .map(|s| s.credentials())
        .unwrap_or_default();
    if !credentials.has_credentials()
        && let Some(template) = chosen.template
    {
        credentials.fill_from(&template.credentials());
    }
    credentials
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn debug_never_prints_secrets() {
        let creds = RepoCredentials {
            username: Some("alice".into()),
            password: Some("hunter22".into()),
            ssh_private_key: Some("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA".into()),
            insecure: false,
            proxy: Some("http://proxyuser:proxypass@proxy:3128".into()),
        };
        let printed = format!("{creds:?}");
        assert!(printed.contains("alice"), "{printed}");
        for secret in ["hunter22", "BEGIN OPENSSH", "proxypass"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }

    #[test]
    fn basic_auth_needs_both_parts() {
        assert_eq!(
            RepoCredentials::basic("u", "p").basic_auth(),
            Some(("u", "p"))
        );
        assert_eq!(RepoCredentials::basic("", "p").basic_auth(), None);
        assert_eq!(RepoCredentials::anonymous().basic_auth(), None);
        assert!(!RepoCredentials::anonymous().has_credentials());
        assert!(RepoCredentials::ssh_key("k").has_credentials());
    }
}
