//! The real Dex OpenID Connect provider (`dex`, built by `hack/build-tools`) on 127.0.0.1 and a
//! free port, issuer `http://127.0.0.1:PORT/dex`, with in-memory storage, static users (Dex's
//! password database, connector id `local`) and static clients, and optionally Dex's
//! `mockCallback` connector. Approval is skipped and the password grant goes to `local`.
//!
//! [`Dex::login`] plays the browser in the authorization-code flow: it follows Dex's pages from
//! an authorization URL a relying party built, submits the login form, and hands back the
//! redirect to the relying party (with `code` and `state`) without following it.
//!
//! Dex checks redirect URIs exactly for confidential clients, so the server under test must
//! know its callback address before Dex starts (bind its listener first). A public client with
//! no redirect URIs accepts any `http://127.0.0.1:PORT/...` or `http://localhost:PORT/...`, as
//! a CLI on a random port needs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use rand::Rng;
use regex::Regex;
use reqwest::Url;
use sha2::{Digest, Sha256};

/// How long Dex may take to answer its discovery document after it starts.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// Dex refuses password hashes cheaper than bcrypt's default cost.
const BCRYPT_COST: u32 = 10;
/// Pages [`Dex::login`] goes through before it gives up (a login takes three to five).
const MAX_LOGIN_STEPS: usize = 12;
/// The id of Dex's password-database connector.
pub const LOCAL_CONNECTOR: &str = "local";

/// A user of Dex's password database (`staticPasswords`). Logs in with its email.
#[derive(Debug, Clone)]
pub struct DexUser {
    pub email: String,
    pub password: String,
    /// The ID token's `name` claim (with scope `profile`).
    pub username: String,
    /// Dex's user id; the `sub` claim encodes it with the connector id.
    pub user_id: String,
    /// The ID token's `groups` claim (with scope `groups`).
    pub groups: Vec<String>,
}

impl DexUser {
    /// A user without groups; its user id is its username.
    pub fn new(email: &str, password: &str, username: &str) -> Self {
        DexUser {
            email: email.to_string(),
            password: password.to_string(),
            username: username.to_string(),
            user_id: username.to_string(),
            groups: Vec::new(),
        }
    }

    pub fn user_id(mut self, user_id: &str) -> Self {
        self.user_id = user_id.to_string();
        self
    }

    pub fn groups<S: Into<String>>(mut self, groups: impl IntoIterator<Item = S>) -> Self {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }
}

/// An OAuth2 client Dex knows (`staticClients`).
#[derive(Debug, Clone)]
pub struct DexClient {
    pub id: String,
    /// None for a public client (a CLI using PKCE), which authenticates with its id alone.
    pub secret: Option<String>,
    /// Matched exactly. A public client with none accepts any loopback `http` redirect.
    pub redirect_uris: Vec<String>,
    pub name: String,
}

impl DexClient {
    /// A confidential client with a random secret, allowed these redirect URIs only.
    pub fn confidential<S: Into<String>>(
        id: &str,
        redirect_uris: impl IntoIterator<Item = S>,
    ) -> Self {
        DexClient {
            id: id.to_string(),
            secret: Some(random_string(32)),
            redirect_uris: redirect_uris.into_iter().map(Into::into).collect(),
            name: id.to_string(),
        }
    }

    /// A public client without a secret or redirect URIs: any loopback `http` redirect is
    /// allowed, and PKCE protects the code.
    pub fn public(id: &str) -> Self {
        DexClient {
            id: id.to_string(),
            secret: None,
            redirect_uris: Vec::new(),
            name: id.to_string(),
        }
    }

    pub fn secret(mut self, secret: &str) -> Self {
        self.secret = Some(secret.to_string());
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    pub fn is_public(&self) -> bool {
        self.secret.is_none()
    }
}

/// What Dex starts with: users, clients, connectors. Empty by default.
#[derive(Debug, Clone, Default)]
pub struct DexConfig {
    pub users: Vec<DexUser>,
    pub clients: Vec<DexClient>,
    /// Also configure Dex's `mockCallback` connector (id `mock`): no form, always the user
    /// `kilgore@kilgore.trout` ("Kilgore Trout") in the group `authors`. With it, Dex shows a
    /// connector choice page first.
    pub mock_callback: bool,
    /// Run this `dex` binary instead of the one `hack/build-tools` built.
    pub binary: Option<PathBuf>,
}

impl DexConfig {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn user(mut self, user: DexUser) -> Self {
        self.users.push(user);
        self
    }

    pub fn client(mut self, client: DexClient) -> Self {
        self.clients.push(client);
        self
    }

    pub fn mock_callback_connector(mut self) -> Self {
        self.mock_callback = true;
        self
    }

    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }
}

/// The id of the `mockCallback` connector [`DexConfig::mock_callback_connector`] adds.
pub const MOCK_CONNECTOR: &str = "mock";

/// A running Dex at [`issuer`](Self::issuer); killed when dropped.
pub struct Dex {
    child: Child,
    issuer: String,
    discovery: serde_json::Value,
    config: DexConfig,
    config_path: PathBuf,
    log_path: PathBuf,
    http: reqwest::Client,
    // Config and log; removed after the process is gone.
    _dir: tempfile::TempDir,
}

/// A PKCE verifier and its S256 challenge, as a public client sends them.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        let verifier = random_string(64);
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier,
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// What Dex's token endpoint answered.
#[derive(Debug, Clone)]
pub struct DexTokens {
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// The whole answer.
    pub raw: serde_json::Value,
}

impl DexTokens {
    /// The ID token's claims, signature not checked.
    pub fn id_claims(&self) -> anyhow::Result<serde_json::Value> {
        jwt_claims(&self.id_token)
    }
}

impl Dex {
    /// Starts Dex with `config`: writes its config file into a temporary directory, runs
    /// `dex serve`, and waits until the discovery document answers.
    pub fn start(config: DexConfig) -> anyhow::Result<Dex> {
        let binary = match &config.binary {
            Some(binary) => binary.clone(),
            None => crate::tools::built_dex().context("Dex is not built: run hack/build-tools")?,
        };
        let dir = tempfile::tempdir().context("create Dex's temporary directory")?;
        let config_path = dir.path().join("config.yaml");
        let log_path = dir.path().join("dex.log");
        // Hashed once: bcrypt at Dex's minimum cost is slow in an unoptimised test build.
        let hashes = config
            .users
            .iter()
            .map(|u| bcrypt::hash(&u.password, BCRYPT_COST))
            .collect::<Result<Vec<_>, _>>()
            .context("bcrypt the Dex passwords")?;
        // A probed port may be taken before Dex binds it; then try another.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let addr = free_port()?;
            let issuer = format!("http://{addr}/dex");
            let yaml = config_yaml(&config, &hashes, addr)?;
            std::fs::write(&config_path, yaml)
                .with_context(|| format!("write {}", config_path.display()))?;
            let mut child = spawn(&binary, dir.path(), &config_path, &log_path)?;
            match wait_ready(&mut child, addr, &log_path) {
                Ok(discovery) => {
                    let http = reqwest::Client::builder()
                        .no_proxy()
                        .redirect(reqwest::redirect::Policy::none())
                        .timeout(Duration::from_secs(30))
                        .build()
                        .context("build the HTTP client for Dex")?;
                    return Ok(Dex {
                        child,
                        issuer,
                        discovery,
                        config,
                        config_path,
                        log_path,
                        http,
                        _dir: dir,
                    });
                }
                Err(err) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let port_taken = read_log(&log_path).contains("address already in use");
                    if !(port_taken && attempt < 3) {
                        return Err(err);
                    }
                }
            }
        }
    }

    /// `http://127.0.0.1:PORT/dex`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The discovery document (`<issuer>/.well-known/openid-configuration`) as Dex served it.
    pub fn discovery(&self) -> &serde_json::Value {
        &self.discovery
    }

    /// The `authorization_endpoint` of the discovery document.
    pub fn authorization_endpoint(&self) -> &str {
        self.discovery["authorization_endpoint"]
            .as_str()
            .unwrap_or_default()
    }

    /// The `token_endpoint` of the discovery document.
    pub fn token_endpoint(&self) -> &str {
        self.discovery["token_endpoint"]
            .as_str()
            .unwrap_or_default()
    }

    pub fn clients(&self) -> &[DexClient] {
        &self.config.clients
    }

    /// The client with this id, as configured (its secret included).
    pub fn client(&self, id: &str) -> Option<&DexClient> {
        self.config.clients.iter().find(|c| c.id == id)
    }

    pub fn users(&self) -> &[DexUser] {
        &self.config.users
    }

    /// The config file Dex runs with.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Dex's own log (stdout and stderr, level debug).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The authorization URL a relying party would send the browser to: response type
    /// `code`, these scopes, `state`, and with `pkce` its S256 challenge.
    pub fn authorization_url(
        &self,
        client_id: &str,
        redirect_uri: &str,
        scopes: &[&str],
        state: &str,
        pkce: Option<&Pkce>,
    ) -> anyhow::Result<String> {
        let scope = scopes.join(" ");
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", scope.as_str()),
            ("state", state),
        ];
        if let Some(pkce) = pkce {
            params.push(("code_challenge", pkce.challenge.as_str()));
            params.push(("code_challenge_method", "S256"));
        }
        let url = Url::parse_with_params(self.authorization_endpoint(), &params)
            .context("build the authorization URL")?;
        Ok(url.to_string())
    }

    /// The browser's part of the authorization-code flow, as the user `login` (an email of
    /// the password database) with `password`: from `authorization_url`, follows Dex's
    /// redirects and pages (connector choice, login form, approval), submits the form, and
    /// returns the URL Dex redirects to outside itself, the relying party's callback with
    /// `code` and `state`, without requesting it. Fails when Dex rejects the credentials or
    /// redirects with an `error`.
    pub async fn login(
        &self,
        authorization_url: &str,
        login: &str,
        password: &str,
    ) -> anyhow::Result<Url> {
        self.browse(authorization_url, LOCAL_CONNECTOR, Some((login, password)))
            .await
    }

    /// [`login`](Self::login) through the `mockCallback` connector, which asks for nothing.
    pub async fn login_mock_callback(&self, authorization_url: &str) -> anyhow::Result<Url> {
        self.browse(authorization_url, MOCK_CONNECTOR, None).await
    }

    /// Exchanges an authorization code at the token endpoint as `client_id` (with its secret
    /// when confidential, its PKCE verifier when given).
    pub async fn exchange_code(
        &self,
        client_id: &str,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> anyhow::Result<DexTokens> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(verifier) = code_verifier {
            form.push(("code_verifier", verifier));
        }
        self.token_request(client_id, form).await
    }

    /// The resource-owner password grant (Dex's `passwordConnector` is `local`): tokens for the
    /// user `login` straight from the token endpoint, no browser.
    pub async fn password_grant(
        &self,
        client_id: &str,
        login: &str,
        password: &str,
        scopes: &[&str],
    ) -> anyhow::Result<DexTokens> {
        let scope = scopes.join(" ");
        let form = vec![
            ("grant_type", "password"),
            ("username", login),
            ("password", password),
            ("scope", scope.as_str()),
        ];
        self.token_request(client_id, form).await
    }

    async fn token_request(
        &self,
        client_id: &str,
        mut form: Vec<(&str, &str)>,
    ) -> anyhow::Result<DexTokens> {
        let client = self
            .client(client_id)
            .with_context(|| format!("Dex has no client {client_id:?}"))?;
        let mut request = self.http.post(self.token_endpoint());
        match &client.secret {
            Some(secret) => request = request.basic_auth(&client.id, Some(secret)),
            None => form.push(("client_id", &client.id)),
        }
        let response = request
            .form(&form)
            .send()
            .await
            .with_context(|| format!("POST {}", self.token_endpoint()))?;
        let status = response.status();
        let body = response.text().await.context("read the token answer")?;
        if !status.is_success() {
            bail!(
                "Dex's token endpoint answered {status}: {body}\nDex log: {}",
                self.log_path.display()
            );
        }
        let raw: serde_json::Value =
            serde_json::from_str(&body).with_context(|| format!("token answer: {body}"))?;
        let field = |name: &str| raw[name].as_str().map(str::to_string);
        Ok(DexTokens {
            id_token: field("id_token").with_context(|| format!("no id_token in {body}"))?,
            access_token: field("access_token")
                .with_context(|| format!("no access_token in {body}"))?,
            refresh_token: field("refresh_token"),
            raw,
        })
    }

    /// Whether `url` is one of Dex's own pages (same origin, under the issuer's path).
    fn is_dex(&self, url: &Url) -> bool {
        let Ok(issuer) = Url::parse(&self.issuer) else {
            return false;
        };
        url.origin() == issuer.origin() && url.path().starts_with(issuer.path())
    }

    async fn browse(
        &self,
        authorization_url: &str,
        connector: &str,
        credentials: Option<(&str, &str)>,
    ) -> anyhow::Result<Url> {
        let mut url = Url::parse(authorization_url)
            .with_context(|| format!("parse the authorization URL {authorization_url:?}"))?;
        let mut form: Option<Vec<(String, String)>> = None;
        let mut submitted_password = false;
        let mut trail = Vec::new();
        for _ in 0..MAX_LOGIN_STEPS {
            trail.push(format!(
                "{} {}",
                if form.is_some() { "POST" } else { "GET" },
                url
            ));
            let request = match form.take() {
                Some(fields) => self.http.post(url.clone()).form(&fields),
                None => self.http.get(url.clone()),
            };
            let response = request
                .send()
                .await
                .with_context(|| format!("request {url} from Dex"))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .with_context(|| format!("{url} answered {status} without a Location"))?;
                let next = url
                    .join(location)
                    .with_context(|| format!("resolve the redirect {location:?} from {url}"))?;
                if self.is_dex(&next) {
                    url = next;
                    continue;
                }
                if let Some(error) = query_param(&next, "error") {
                    bail!(
                        "Dex redirected to the relying party with error {error:?} ({}): {next}\nDex log: {}",
                        query_param(&next, "error_description").unwrap_or_default(),
                        self.log_path.display()
                    );
                }
                return Ok(next);
            }
            let page = response.text().await.context("read Dex's page")?;
            let forms = parse_forms(&page);
            let login_form = forms.iter().find(|f| f.has_field("password"));
            // A refused login shows the form again, with 401.
            if let (true, Some(_), Some((login, _))) = (submitted_password, login_form, credentials)
            {
                bail!(
                    "Dex rejected the credentials of {login:?} ({status}): {}\nDex log: {}",
                    page_text(&page),
                    self.log_path.display()
                );
            }
            if !status.is_success() {
                bail!(
                    "Dex answered {status} at {url}: {}\nDex log: {}",
                    page_text(&page),
                    self.log_path.display()
                );
            }
            if let Some(login_form) = login_form {
                let Some((login, password)) = credentials else {
                    bail!(
                        "Dex asked for a password on the way through connector {connector:?}: {url}"
                    );
                };
                submitted_password = true;
                let mut fields = login_form.hidden_fields();
                fields.push(("login".to_string(), login.to_string()));
                fields.push(("password".to_string(), password.to_string()));
                url = url
                    .join(&login_form.action)
                    .with_context(|| format!("resolve the form action {:?}", login_form.action))?;
                form = Some(fields);
                continue;
            }
            if let Some(approval) = forms
                .iter()
                .find(|f| f.field_value("approval") == Some("approve"))
            {
                url = url
                    .join(&approval.action)
                    .with_context(|| format!("resolve the form action {:?}", approval.action))?;
                form = Some(approval.hidden_fields());
                continue;
            }
            let wanted = format!("/auth/{connector}");
            let link = links(&page).into_iter().find(|href| {
                url.join(href)
                    .map(|u| self.is_dex(&u) && u.path().ends_with(&wanted))
                    .unwrap_or(false)
            });
            if let Some(href) = link {
                url = url.join(&href)?;
                continue;
            }
            bail!(
                "Dex showed a page with no login form, approval or connector {connector:?} at {url}: {}",
                page_text(&page)
            );
        }
        bail!(
            "no redirect to the relying party after {MAX_LOGIN_STEPS} steps: {}",
            trail.join(" -> ")
        )
    }
}

impl Drop for Dex {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The claims (payload) of a JWT, signature not checked.
pub fn jwt_claims(token: &str) -> anyhow::Result<serde_json::Value> {
    let payload = token
        .split('.')
        .nth(1)
        .context("not a JWT: no payload part")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .context("the JWT payload is not base64url")?;
    serde_json::from_slice(&bytes).context("the JWT payload is not JSON")
}

fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn random_string(len: usize) -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A port on 127.0.0.1 nothing listens on right now.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .context("find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?)
}

/// Dex's config file; `hashes` are the bcrypt hashes of `config.users`' passwords, in order.
fn config_yaml(config: &DexConfig, hashes: &[String], addr: SocketAddr) -> anyhow::Result<String> {
    use serde_json::json;
    let passwords: Vec<_> = config
        .users
        .iter()
        .zip(hashes)
        .map(|(u, hash)| {
            json!({
                "email": u.email,
                "hash": hash,
                "username": u.username,
                "userID": u.user_id,
                "groups": u.groups,
            })
        })
        .collect();
    let clients: Vec<_> = config
        .clients
        .iter()
        .map(|c| {
            let mut client = json!({
                "id": c.id,
                "name": c.name,
                "redirectURIs": c.redirect_uris,
            });
            match &c.secret {
                Some(secret) => client["secret"] = json!(secret),
                None => client["public"] = json!(true),
            }
            client
        })
        .collect();
    let mut doc = json!({
        "issuer": format!("http://{addr}/dex"),
        "storage": {"type": "memory"},
        "web": {"http": addr.to_string()},
        "logger": {"level": "debug", "format": "text"},
        "oauth2": {
            "skipApprovalScreen": true,
            "passwordConnector": LOCAL_CONNECTOR,
        },
        "enablePasswordDB": true,
        "staticPasswords": passwords,
        "staticClients": clients,
    });
    if config.mock_callback {
        doc["connectors"] = json!([{"type": "mockCallback", "id": MOCK_CONNECTOR, "name": "Mock"}]);
    }
    serde_norway::to_string(&doc).context("render Dex's config")
}

fn spawn(binary: &Path, dir: &Path, config: &Path, log_path: &Path) -> anyhow::Result<Child> {
    let log = std::fs::File::create(log_path)
        .with_context(|| format!("create {}", log_path.display()))?;
    Command::new(binary)
        .arg("serve")
        .arg(config)
        // DEX_* variables switch Dex's features and override its config; none may leak in.
        .env_clear()
        .env("HOME", dir)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| {
            format!(
                "start {}; is Dex built? run hack/build-tools",
                binary.display()
            )
        })
}

/// Waits until the discovery document answers 200, Dex exits, or the deadline passes; returns
/// the document.
fn wait_ready(
    child: &mut Child,
    addr: SocketAddr,
    log_path: &Path,
) -> anyhow::Result<serde_json::Value> {
    let deadline = Instant::now() + START_DEADLINE;
    let path = "/dex/.well-known/openid-configuration";
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "Dex exited ({status}) before serving {path}; its log {}:\n{}",
                log_path.display(),
                tail(&read_log(log_path))
            );
        }
        let last = match get(addr, path) {
            Ok((200, body)) => {
                return serde_json::from_str(&body)
                    .with_context(|| format!("Dex's discovery document: {body}"));
            }
            Ok((status, _)) => format!("answered {status}"),
            Err(err) => err.to_string(),
        };
        if Instant::now() >= deadline {
            bail!(
                "Dex at {addr} did not serve {path} within {START_DEADLINE:?} ({last}); its log {}:\n{}",
                log_path.display(),
                tail(&read_log(log_path))
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A plain HTTP/1.0 GET (so the answer is neither chunked nor kept alive): status and body.
/// Blocking, so [`Dex::start`] needs no runtime.
fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer");
    let (head, body) = answer.split_once("\r\n\r\n").ok_or_else(invalid)?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(invalid)?;
    Ok((status, body.to_string()))
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The last lines of a log, enough to see why Dex failed.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// One `<form>` of a page: its action (entities decoded; empty means the page itself) and its
/// inputs as (name, type, value).
#[derive(Debug, Clone, PartialEq)]
struct Form {
    action: String,
    inputs: Vec<(String, String, String)>,
}

impl Form {
    fn has_field(&self, name: &str) -> bool {
        self.inputs.iter().any(|(n, _, _)| n == name)
    }

    fn field_value(&self, name: &str) -> Option<&str> {
        self.inputs
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, v)| v.as_str())
    }

    fn hidden_fields(&self) -> Vec<(String, String)> {
        self.inputs
            .iter()
            .filter(|(_, kind, _)| kind.eq_ignore_ascii_case("hidden"))
            .map(|(n, _, v)| (n.clone(), v.clone()))
            .collect()
    }
}

static FORM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<form\b([^>]*)>(.*?)</form>").expect("form pattern"));
static INPUT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<input\b([^>]*)>").expect("input pattern"));
static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)([a-z][a-z0-9_-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>/]+))"#)
        .expect("attribute pattern")
});
static HREF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')"#).expect("href pattern")
});
static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)<script\b.*?</script>|<style\b.*?</style>|<[^>]*>").expect("tag pattern")
});

/// The attributes of a tag's inside, names lowercased, values entity-decoded.
fn attributes(inside: &str) -> Vec<(String, String)> {
    ATTRIBUTE
        .captures_iter(inside)
        .map(|c| {
            let value = c
                .get(2)
                .or_else(|| c.get(3))
                .or_else(|| c.get(4))
                .map(|m| m.as_str())
                .unwrap_or_default();
            (c[1].to_ascii_lowercase(), decode_entities(value))
        })
        .collect()
}

fn attribute(attributes: &[(String, String)], name: &str) -> Option<String> {
    attributes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

fn parse_forms(page: &str) -> Vec<Form> {
    FORM.captures_iter(page)
        .map(|form| {
            let attrs = attributes(&form[1]);
            let inputs = INPUT
                .captures_iter(&form[2])
                .filter_map(|input| {
                    let attrs = attributes(&input[1]);
                    let name = attribute(&attrs, "name")?;
                    let kind = attribute(&attrs, "type").unwrap_or_else(|| "text".to_string());
                    let value = attribute(&attrs, "value").unwrap_or_default();
                    Some((name, kind, value))
                })
                .collect();
            Form {
                action: attribute(&attrs, "action").unwrap_or_default(),
                inputs,
            }
        })
        .collect()
}

fn links(page: &str) -> Vec<String> {
    HREF.captures_iter(page)
        .filter_map(|c| c.get(1).or_else(|| c.get(2)))
        .map(|m| decode_entities(m.as_str()))
        .collect()
}

/// A page's visible text, squeezed, for error messages (Dex's error page says what failed).
fn page_text(page: &str) -> String {
    let text = decode_entities(&TAG.replace_all(page, " "));
    let squeezed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    squeezed.chars().take(400).collect()
}

/// Decodes the character references Go's html/template writes: `&amp;`, `&lt;`, `&gt;`,
/// `&quot;`, `&apos;`, `&#NN;` and `&#xHH;`. Anything else is kept as it is.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let number = name.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_login_form_action_and_fields() {
        let page = r#"<div><form method="post" action="/dex/auth/local/login?back=&amp;state=abc&#43;d">
            <input tabindex="1" required id="login" name="login" type="text" autofocus/>
            <input tabindex="2" required id="password" name="password" type="password"/>
            <button type="submit">Login</button></form></div>"#;
        let forms = parse_forms(page);
        assert_eq!(forms.len(), 1);
        assert_eq!(forms[0].action, "/dex/auth/local/login?back=&state=abc+d");
        assert!(forms[0].has_field("login") && forms[0].has_field("password"));
        assert!(forms[0].hidden_fields().is_empty());
    }

    #[test]
    fn finds_the_approve_form_among_two() {
        let page = r#"<form method="post"><input type="hidden" name="req" value="r1"/>
            <input type="hidden" name="approval" value="approve"><button>Grant</button></form>
            <form method="post"><input type="hidden" name="req" value="r1"/>
            <input type="hidden" name="approval" value="rejected"></form>"#;
        let forms = parse_forms(page);
        let approve = forms
            .iter()
            .find(|f| f.field_value("approval") == Some("approve"))
            .expect("approve form");
        assert_eq!(approve.action, "");
        assert_eq!(
            approve.hidden_fields(),
            vec![
                ("req".to_string(), "r1".to_string()),
                ("approval".to_string(), "approve".to_string())
            ]
        );
    }

    #[test]
    fn decodes_links_and_text() {
        let page = r#"<a href="/dex/auth/mock?client_id=a&amp;state=s" target="_self">x</a>
            <script>var a = 1;</script><p>Bad   &quot;thing&quot;</p>"#;
        assert_eq!(links(page), vec!["/dex/auth/mock?client_id=a&state=s"]);
        assert_eq!(page_text(page), "x Bad \"thing\"");
        assert_eq!(decode_entities("a & b &bogus; &#x41;"), "a & b &bogus; A");
    }

    #[test]
    fn config_carries_users_clients_and_the_mock_connector() {
        let config = DexConfig::new()
            .user(DexUser::new("a@example.com", "pw", "alice").groups(["team"]))
            .client(DexClient::confidential("rp", ["http://127.0.0.1:1/callback"]).secret("s"))
            .client(DexClient::public("cli"))
            .mock_callback_connector();
        let addr = SocketAddr::from(([127, 0, 0, 1], 5556));
        let yaml = config_yaml(&config, &["$2b$10$hash".to_string()], addr).expect("renders");
        let doc: serde_json::Value = serde_norway::from_str(&yaml).expect("valid YAML");
        assert_eq!(doc["issuer"], "http://127.0.0.1:5556/dex");
        assert_eq!(doc["web"]["http"], "127.0.0.1:5556");
        assert_eq!(doc["storage"]["type"], "memory");
        assert_eq!(doc["staticPasswords"][0]["hash"], "$2b$10$hash");
        assert_eq!(doc["staticPasswords"][0]["groups"][0], "team");
        assert_eq!(doc["staticClients"][0]["secret"], "s");
        assert_eq!(doc["staticClients"][1]["public"], true);
        assert_eq!(
            doc["staticClients"][1]["redirectURIs"],
            serde_json::json!([])
        );
        assert_eq!(doc["connectors"][0]["type"], "mockCallback");
        assert_eq!(doc["oauth2"]["passwordConnector"], "local");
    }

    #[test]
    fn pkce_challenge_is_the_s256_of_the_verifier() {
        let pkce = Pkce::new();
        assert_eq!(pkce.verifier.len(), 64);
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(pkce.verifier.as_bytes()));
        assert_eq!(pkce.challenge, expected);
    }

    #[test]
    fn reads_jwt_claims() {
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"email":"a@b"}"#);
        let claims = jwt_claims(&format!("h.{payload}.s")).expect("claims");
        assert_eq!(claims["email"], "a@b");
        assert!(jwt_claims("nodots").is_err());
    }
}
