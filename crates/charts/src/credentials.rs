//! Credentials for a Helm repository or OCI registry, from Argo CD repository Secrets of
//! `type: helm` (or `oci`): `username`/`password`, `tlsClientCertData`/`tlsClientCertKey`,
//! `insecure`, `enableOCI`, `insecureOCIForceHttp`. The choice of Secret (a `repository` Secret
//! for the URL, else the longest `repo-creds` prefix) is driftless-source's, shared with git.

use driftless_source::{CredentialSecret, RepoType, choose_secrets};
use std::collections::BTreeMap;
use std::fmt;

/// How to reach one chart repository. `Debug` never prints a secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HelmCredentials {
    pub username: Option<String>,
    pub password: Option<String>,
    /// A client certificate and its key, PEM.
    pub tls_client_cert: Option<String>,
    pub tls_client_key: Option<String>,
    /// Extra CA certificates to trust, PEM (Argo CD's `argocd-tls-certs-cm` entry for the host).
    pub ca_pem: Option<String>,
    /// Skip TLS verification.
    pub insecure: bool,
    /// The repository URL names an OCI registry (`enableOCI`), not an `index.yaml` server.
    pub enable_oci: bool,
    /// Talk plain HTTP to the OCI registry (`insecureOCIForceHttp`).
    pub oci_force_http: bool,
}

impl HelmCredentials {
    pub fn basic(username: &str, password: &str) -> Self {
        Self {
            username: Some(username.to_string()),
            password: Some(password.to_string()),
            ..Self::default()
        }
    }

    /// Username and password, when both are set.
    pub fn basic_auth(&self) -> Option<(&str, &str)> {
        match (self.username.as_deref(), self.password.as_deref()) {
            (Some(u), Some(p)) if !u.is_empty() && !p.is_empty() => Some((u, p)),
            _ => None,
        }
    }

    fn has_credentials(&self) -> bool {
        self.basic_auth().is_some() || self.tls_client_cert.is_some()
    }

    /// The values no message may show.
    pub fn secret_values(&self) -> Vec<&str> {
        [self.password.as_deref(), self.tls_client_key.as_deref()]
            .into_iter()
            .flatten()
            .filter(|v| !v.is_empty())
            .collect()
    }

    fn from_secret(secret: &CredentialSecret) -> Self {
        let owned = |key: &str| secret.value(key).map(str::to_string);
        let flag = |key: &str| secret.value(key) == Some("true");
        Self {
            username: owned("username"),
            password: owned("password"),
            tls_client_cert: owned("tlsClientCertData"),
            tls_client_key: owned("tlsClientCertKey"),
            ca_pem: None,
            insecure: flag("insecure"),
            enable_oci: flag("enableOCI") || secret.repo_type() == Some(RepoType::Oci),
            oci_force_http: flag("insecureOCIForceHttp"),
        }
    }
}

impl fmt::Debug for HelmCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |v: &Option<String>| if v.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("HelmCredentials")
            .field("username", &self.username)
            .field("password", &shown(&self.password))
            .field("tls_client_cert", &shown(&self.tls_client_cert))
            .field("tls_client_key", &shown(&self.tls_client_key))
            .field("insecure", &self.insecure)
            .field("enable_oci", &self.enable_oci)
            .field("oci_force_http", &self.oci_force_http)
            .finish()
    }
}

/// [`select_helm_credentials`], with the extra CA certificates `tls_certs` holds for the host.
pub fn helm_credentials_for(
    url: &str,
    project: Option<&str>,
    secrets: &[CredentialSecret],
    tls_certs: &BTreeMap<String, String>,
) -> HelmCredentials {
    HelmCredentials {
        ca_pem: crate::url::ca_for(url, tls_certs),
        ..select_helm_credentials(url, project, secrets)
    }
}

/// The credentials Argo CD would use for the chart repository `url`: a Helm Secret, else an
/// OCI one; fields the `repository` Secret leaves empty come from the template when the
/// Secret holds no credentials of its own. Anonymous when nothing matches.
pub fn select_helm_credentials(
    url: &str,
    project: Option<&str>,
    secrets: &[CredentialSecret],
) -> HelmCredentials {
    let url = url.strip_prefix("oci://").unwrap_or(url);
    for repo_type in [RepoType::Helm, RepoType::Oci] {
        let chosen = choose_secrets(url, project, secrets, repo_type);
        if chosen.repository.is_none() && chosen.template.is_none() {
            continue;
        }
        let mut credentials = chosen
            .repository
            .map(HelmCredentials::from_secret)
            .unwrap_or_default();
        if let Some(template) = chosen.template.map(HelmCredentials::from_secret) {
            if chosen.repository.is_none() {
                return template;
            }
            if !credentials.has_credentials() {
                credentials.username = credentials.username.or(template.username);
                credentials.password = credentials.password.or(template.password);
                credentials.tls_client_cert =
                    credentials.tls_client_cert.or(template.tls_client_cert);
                credentials.tls_client_key = credentials.tls_client_key.or(template.tls_client_key);
                credentials.enable_oci |= template.enable_oci;
            }
        }
        return credentials;
    }
    HelmCredentials::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_source::SecretKind;

    fn secret(kind: SecretKind, name: &str, data: &[(&str, &str)]) -> CredentialSecret {
        CredentialSecret {
            kind,
            name: name.to_string(),
            data: data
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn helm_secrets_are_chosen_like_git_ones_and_git_secrets_are_ignored() {
        let secrets = vec![
            secret(
                SecretKind::Repository,
                "git",
                &[
                    ("url", "https://charts.example.com"),
                    ("password", "git-pw"),
                ],
            ),
            secret(
                SecretKind::RepoCreds,
                "charts-template",
                &[
                    ("url", "https://charts.example.com"),
                    ("type", "helm"),
                    ("username", "robot"),
                    ("password", "template-pw"),
                ],
            ),
            secret(
                SecretKind::Repository,
                "stable",
                &[
                    ("url", "https://charts.example.com/stable"),
                    ("type", "helm"),
                    ("insecure", "true"),
                ],
            ),
        ];
        let stable = select_helm_credentials("https://charts.example.com/stable", None, &secrets);
        assert_eq!(
            stable.basic_auth(),
            Some(("robot", "template-pw")),
            "filled from the template"
        );
        assert!(stable.insecure, "the repository Secret's own flags stay");
        let other = select_helm_credentials("https://charts.example.com/other", None, &secrets);
        assert_eq!(other.basic_auth(), Some(("robot", "template-pw")));
        let none = select_helm_credentials("https://elsewhere.example.com", None, &secrets);
        assert_eq!(none, HelmCredentials::default());
    }

    #[test]
    fn oci_secrets_and_enable_oci_mark_a_registry() {
        let secrets = vec![secret(
            SecretKind::Repository,
            "registry",
            &[
                ("url", "registry.example.com/charts"),
                ("type", "helm"),
                ("enableOCI", "true"),
                ("username", "u"),
                ("password", "p"),
            ],
        )];
        let chosen = select_helm_credentials("oci://registry.example.com/charts", None, &secrets);
        assert!(chosen.enable_oci);
        assert_eq!(chosen.basic_auth(), Some(("u", "p")));
    }

    #[test]
    fn debug_hides_the_password_and_key() {
        let mut credentials = HelmCredentials::basic("robot", "hunter2-secret");
        credentials.tls_client_key = Some("-----BEGIN PRIVATE KEY-----".into());
        let shown = format!("{credentials:?}");
        assert!(
            !shown.contains("hunter2-secret") && !shown.contains("PRIVATE KEY"),
            "{shown}"
        );
    }
}
