//! Talking to a remote with gix: listing its refs (a handshake only, no pack) and fetching
//! its branches and tags into a bare cache repository. Blocking.
//!
//! Credentials never reach gix inside a URL: userinfo is moved out of http(s) URLs into the
//! credentials callback, and every message gix produces is scrubbed before it is kept.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use gix_transport::client::blocking_io::http;

use gix::remote::{Direction, fetch::Tags, ref_map};

use crate::credentials::RepoCredentials;
use crate::message::error_chain;
use crate::mirror::remote_refs_from;
use crate::options::CacheOptions;
use crate::refs::RemoteRefs;
use crate::ssh::SshCommand;
use crate::url::{redact_url, scrub, userinfo};

/// The refs mirrored into a cache repository. Other refs (pull requests, notes) are only
/// fetched when a revision names them.
const FETCH_REFSPECS: [&str; 2] = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];

/// Listing refs or fetching failed. Every field is safe to print: URLs are redacted and
/// messages from git/gix scrubbed of credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    #[error("failed to open the cache repository for {url}: {message}")]
    OpenCache { url: String, message: String },
    #[error("failed to prepare ssh for {url}: {message}")]
    Ssh { url: String, message: String },
    #[error("failed to connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("failed to list the refs of {url}: {message}")]
    ListRefs { url: String, message: String },
    #[error("failed to fetch {url}: {message}")]
    Fetch { url: String, message: String },
    #[error("failed to update the cached refs of {url}: {message}")]
    UpdateRefs { url: String, message: String },
}

/// What a fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchReport {
    /// The refs the remote advertised, which the cache now mirrors.
    pub refs: RemoteRefs,
    /// False when every advertised commit was already cached, so no pack was downloaded.
    pub received_pack: bool,
}

/// One network operation's inputs: the URL as configured, the credentials and ssh settings.
pub(crate) struct Remote<'a> {
    url: &'a str,
    creds: RepoCredentials,
    url_account: Option<(String, String)>,
    options: &'a CacheOptions,
}

impl<'a> Remote<'a> {
    /// Takes credentials embedded in an http(s) URL out of it (configured credentials still
    /// win), so that gix only ever sees the redacted URL.
    pub(crate) fn new(url: &'a str, creds: &RepoCredentials, options: &'a CacheOptions) -> Self {
        let url_account = is_http(url).then(|| userinfo(url)).flatten().map(|info| {
            let (user, password) = info.split_once(':').unwrap_or((info, ""));
            (percent_decode(user), percent_decode(password))
        });
        Remote {
            url,
            creds: creds.clone(),
            url_account,
            options,
        }
    }

    /// HTTP basic auth: configured credentials, else those that were in the URL.
    fn account(&self) -> Option<(String, String)> {
        self.creds
            .basic_auth()
            .map(|(u, p)| (u.to_string(), p.to_string()))
            .or_else(|| self.url_account.clone())
    }

    pub(crate) fn shown(&self) -> String {
        redact_url(self.url)
    }

    /// The URL handed to gix: without userinfo for http(s); ssh keeps its (non-secret) user.
    fn connect_url(&self) -> String {
        if is_http(self.url) {
            redact_url(self.url)
        } else {
            self.url.to_string()
        }
    }

    pub(crate) fn clean(&self, err: &(dyn std::error::Error + 'static)) -> String {
        let mut secrets = self.creds.secret_values();
        secrets.extend(
            self.url_account
                .as_ref()
                .map(|(_, p)| p.as_str())
                .filter(|p| !p.is_empty()),
        );
        let proxy_password = self
            .creds
            .proxy
            .as_deref()
            .and_then(userinfo)
            .and_then(|i| i.split_once(':'))
            .map(|(_, p)| p);
        secrets.extend(proxy_password);
        scrub(&error_chain(err), self.url, &secrets)
    }

    /// Opens the cache repository with only this operation's settings: no system, global or
    /// environment configuration, so no credential helper or prompt can ever run.
    fn open(
        &self,
        repo_path: &Path,
        ssh: Option<&SshCommand>,
    ) -> Result<gix::Repository, RemoteError> {
        let mut overrides: Vec<String> = Vec::new();
        if let Some(ssh) = ssh {
            overrides.push(format!("core.sshCommand={}", ssh.command()));
            overrides.push("ssh.variant=ssh".into());
        }
        let options = gix::open::Options::isolated().config_overrides(overrides);
        let mut repo = gix::open_opts(repo_path, options).map_err(|e| RemoteError::OpenCache {
            url: self.shown(),
            message: self.clean(&e),
        })?;
        // Ref updates may want a reflog identity; the isolated config has none.
        repo.committer_or_set_generic_fallback()
            .map_err(|e| RemoteError::OpenCache {
                url: self.shown(),
                message: self.clean(&e),
            })?;
        Ok(repo)
    }

    fn ssh_command(&self) -> Result<Option<SshCommand>, RemoteError> {
        if !is_ssh(self.url) {
            return Ok(None);
        }
        SshCommand::prepare(&self.options.ssh, &self.creds)
            .map(Some)
            .map_err(|e| RemoteError::Ssh {
                url: self.shown(),
                message: self.clean(&e),
            })
    }

    fn credentials_callback(
        &self,
    ) -> impl FnMut(
        gix::credentials::helper::Action,
    ) -> gix::Result<Option<gix::credentials::protocol::Outcome>>
    + use<> {
        let account = self.account();
        move |action| match action {
            gix::credentials::helper::Action::Get(ctx) => match account.clone() {
                Some((username, password)) => Ok(Some(gix::credentials::protocol::Outcome {
                    identity: gix::sec::identity::Account {
                        username,
                        password,
                        oauth_refresh_token: None,
                    },
                    next: ctx.into(),
                })),
                None => {
                    use gix::error::ErrorExt;
                    Err(gix::error::unauthenticated("the server requires authentication and no credentials are configured for this repository").raise())
                }
            },
            // Nothing is stored or erased: credentials live in Secrets, not in a helper.
            _ => Ok(None),
        }
    }

    /// HTTP client settings for this operation. gix's reqwest backend ignores `http.sslVerify`
    /// and the like, so they are applied to the reqwest client directly: certificate checks
    /// off for an insecure repository, and a time limit per request.
    fn http_transport_options(
        &self,
        repo: &gix::Repository,
    ) -> Result<Option<Box<dyn std::any::Any>>, RemoteError> {
        if !is_http(self.url) {
            return Ok(None);
        }
        let url = self.connect_url();
        let defaults =
            repo.transport_options(url.as_str(), None)
                .map_err(|e| RemoteError::Connect {
                    url: self.shown(),
                    message: self.clean(&e),
                })?;
        let mut options = defaults
            .and_then(|any| any.downcast::<http::Options>().ok())
            .map(|boxed| *boxed)
            .unwrap_or_default();
        if self.creds.proxy.as_deref().is_some_and(|p| !p.is_empty()) {
            // gix's reqwest backend has no proxy setting of its own (not wired up yet).
            tracing::warn!(url = %self.shown(), "a proxy is configured for this repository but proxies are not supported yet; connecting directly");
        }
        let (insecure, timeout) = (self.creds.insecure, self.options.http_timeout);
        let client = http::reqwest::Options {
            configure_client: Some(Box::new(move |builder| {
                Ok(builder
                    .danger_accept_invalid_certs(insecure)
                    .timeout(timeout))
            })),
            configure_request: None,
        };
        options.backend = Some(Arc::new(Mutex::new(client)));
        Ok(Some(Box::new(options)))
    }

    /// Lists the remote's branches, tags and HEAD: one handshake, no objects downloaded.
    pub(crate) fn list_refs(&self, repo_path: &Path) -> Result<RemoteRefs, RemoteError> {
        let ssh = self.ssh_command()?;
        let repo = self.open(repo_path, ssh.as_ref())?;
        let connect_err = |e: gix::Error| RemoteError::Connect {
            url: self.shown(),
            message: self.clean(&e),
        };
        let remote = repo
            .remote_at(self.connect_url().as_str())
            .and_then(|r| r.with_refspecs(FETCH_REFSPECS, Direction::Fetch))
            .map_err(connect_err)?
            .with_fetch_tags(Tags::None);
        let mut connection = remote
            .connect(Direction::Fetch)
            .map_err(connect_err)?
            .with_credentials(self.credentials_callback());
        if let Some(options) = self.http_transport_options(&repo)? {
            connection = connection.with_transport_options(options);
        }
        let (ref_map, _handshake) = connection
            .ref_map(gix::progress::Discard, ref_map_options())
            .map_err(|e| RemoteError::ListRefs {
                url: self.shown(),
                message: self.clean(&e),
            })?;
        Ok(remote_refs_from(&ref_map.remote_refs))
    }

    /// Fetches branches and tags (plus `extra_refs`, full names such as `refs/pull/1/head`)
    /// into the bare repository at `repo_path`, then makes its refs mirror the remote's:
    /// HEAD as on the remote, and branches and tags deleted there deleted here.
    pub(crate) fn fetch(
        &self,
        repo_path: &Path,
        extra_refs: &[String],
    ) -> Result<FetchReport, RemoteError> {
        let ssh = self.ssh_command()?;
        let repo = self.open(repo_path, ssh.as_ref())?;
        let connect_err = |e: gix::Error| RemoteError::Connect {
            url: self.shown(),
            message: self.clean(&e),
        };
        let fetch_err = |e: gix::Error| RemoteError::Fetch {
            url: self.shown(),
            message: self.clean(&e),
        };
        let mut specs: Vec<String> = FETCH_REFSPECS.iter().map(|s| s.to_string()).collect();
        specs.extend(extra_refs.iter().map(|r| format!("+{r}:{r}")));
        let remote = repo
            .remote_at(self.connect_url().as_str())
            .and_then(|r| r.with_refspecs(specs.iter().map(String::as_str), Direction::Fetch))
            .map_err(connect_err)?
            .with_fetch_tags(Tags::None);
        let mut connection = remote
            .connect(Direction::Fetch)
            .map_err(connect_err)?
            .with_credentials(self.credentials_callback());
        if let Some(options) = self.http_transport_options(&repo)? {
            connection = connection.with_transport_options(options);
        }
        let prepared = connection
            .prepare_fetch(gix::progress::Discard, ref_map_options())
            .map_err(|e| RemoteError::ListRefs {
                url: self.shown(),
                message: self.clean(&e),
            })?;
        let refs = remote_refs_from(&prepared.ref_map().remote_refs);
        if refs.refs().is_empty() {
            // An empty remote: nothing to download, and gix would refuse a fetch without refs.
            drop(prepared);
            self.mirror_refs(&repo, &refs)?;
            return Ok(FetchReport {
                refs,
                received_pack: false,
            });
        }
        let outcome = prepared
            .receive(gix::progress::Discard, &AtomicBool::new(false))
            .map_err(fetch_err)?;
        let received_pack = matches!(outcome.status, gix::remote::fetch::Status::Change { .. });
        self.mirror_refs(&repo, &refs)?;
        Ok(FetchReport {
            refs,
            received_pack,
        })
    }
}

fn ref_map_options() -> ref_map::Options {
    let head = gix::refspec::parse("HEAD".into(), gix::refspec::parse::Operation::Fetch)
        .map(|s| s.to_owned());
    ref_map::Options {
        extra_refspecs: head.into_iter().collect(),
        ..Default::default()
    }
}

fn is_http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// `ssh://…` or the scp-like `user@host:path` form (what gix treats as ssh).
pub(crate) fn is_ssh(url: &str) -> bool {
    if url.starts_with("ssh://") || url.starts_with("git+ssh://") || url.starts_with("ssh+git://") {
        return true;
    }
    !url.contains("://") && crate::url::is_ssh_url(url)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where the cache keeps the bare repository of a URL.
pub(crate) fn repo_dir(cache_dir: &Path, url: &str) -> PathBuf {
    cache_dir.join(format!("{}.git", crate::url::cache_key(url)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn url_credentials_move_out_of_the_url() {
        let ssh = CacheOptions::default();
        let remote = Remote::new(
            "https://alice:p%40ss@git.example.com/r",
            &RepoCredentials::anonymous(),
            &ssh,
        );
        assert_eq!(
            remote.account(),
            Some(("alice".to_string(), "p@ss".to_string()))
        );
        assert_eq!(remote.connect_url(), "https://git.example.com/r");

        // A lone token is sent as the user name, as git would.
        let token_only = Remote::new(
            "https://tok123@git.example.com/r",
            &RepoCredentials::anonymous(),
            &ssh,
        );
        assert_eq!(
            token_only.account(),
            Some(("tok123".to_string(), String::new()))
        );

        // Configured credentials win over the URL's.
        let configured = Remote::new(
            "https://alice:pw@h/r",
            &RepoCredentials::basic("bob", "secret"),
            &ssh,
        );
        assert_eq!(
            configured.account(),
            Some(("bob".to_string(), "secret".to_string()))
        );
    }

    #[test]
    fn ssh_urls_are_recognised() {
        assert!(is_ssh("ssh://git@host/org/repo"));
        assert!(is_ssh("git@host:org/repo"));
        assert!(!is_ssh("https://host/org/repo"));
        assert!(!is_ssh("file:///srv/repo"));
        assert!(!is_ssh("/srv/repo"));
    }
}
