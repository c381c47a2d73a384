//! The API server against the real API server: login, RBAC, tokens, the webhook, listing and
//! the live stream. Each test runs a controller and the API server in-process on its own
//! namespace (which is also their control namespace), and talks HTTP to it.

mod audit;
mod auth;
mod cli;
mod generate;
mod inspect;
mod listing;
mod metrics;
mod operations;
mod sso;
mod tree_diff;
mod webhook;

pub(crate) use webhook::push;

use crate::gitops::*;
use driftless_controller::Handle;
use driftless_server::{Server, ServerConfig};
use driftless_testkit::TestNamespace;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// A controller and the API server on one test namespace, and an HTTP client for it.
pub(crate) struct ApiEnv {
    pub(crate) env: Gitops,
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) handle: Handle,
    server: tokio::task::AbortHandle,
}

impl Drop for ApiEnv {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// What the test writes into argocd-cm, argocd-rbac-cm and argocd-secret before the start.
#[derive(Default)]
pub(crate) struct Config {
    pub(crate) cm: BTreeMap<String, String>,
    pub(crate) rbac: BTreeMap<String, String>,
    pub(crate) secret: BTreeMap<String, String>,
    /// The audit log's database, kept by the controller and served by the API.
    pub(crate) audit: Option<String>,
}

impl Config {
    pub(crate) fn cm(mut self, key: &str, value: &str) -> Self {
        self.cm.insert(key.into(), value.into());
        self
    }
    pub(crate) fn rbac(mut self, key: &str, value: &str) -> Self {
        self.rbac.insert(key.into(), value.into());
        self
    }
    /// Keep an audit log in `database` (checkpointed every second).
    pub(crate) fn audit(mut self, database: &str) -> Self {
        self.audit = Some(database.into());
        self
    }
    pub(crate) fn secret(mut self, key: &str, value: &str) -> Self {
        self.secret.insert(key.into(), value.into());
        self
    }
    /// A local account that logs in with `password` (bcrypt cost 4: tests need no slow hash).
    pub(crate) fn user(self, name: &str, password: &str) -> Self {
        let hash = bcrypt::hash(password, 4).expect("bcrypt");
        let key = if name == "admin" {
            "admin.password".to_string()
        } else {
            format!("accounts.{name}.password")
        };
        let with_hash = self.secret(&key, &hash);
        if name == "admin" {
            with_hash
        } else {
            with_hash.cm(&format!("accounts.{name}"), "login")
        }
    }
}

impl ApiEnv {
    pub(crate) async fn start(prefix: &str, config: Config) -> anyhow::Result<Self> {
        Self::start_with(prefix, config, |_| {}).await
    }

    pub(crate) async fn start_with(
        prefix: &str,
        config: Config,
        adjust: impl FnOnce(&mut driftless_controller::ControllerConfig),
    ) -> anyhow::Result<Self> {
        let mut env = Gitops::new(prefix).await?;
        write_config(&env.ns, &config).await?;
        let audit = config.audit.clone();
        let controller_audit = audit.clone();
        let (_, handle) = env
            .spawn(move |c| {
                adjust(c);
                c.audit =
                    controller_audit.map(|database| driftless_controller::audit::AuditConfig {
                        database,
                        checkpoint_interval: Duration::from_secs(1),
                        retention: None,
                    });
            })
            .await?;
        let mut server_config = ServerConfig::new(&env.ns.name, "127.0.0.1:0".parse()?);
        server_config.insecure = true;
        server_config.audit_database = audit;
        let server = Server::bind(
            env.ns.client.clone(),
            server_config,
            Some(std::sync::Arc::new(handle.clone())),
        )
        .await?;
        let address = server.local_addr().expect("bound");
        let task = tokio::spawn(async move {
            if let Err(error) = server.run().await {
                eprintln!("API server stopped: {error}");
            }
        });
        let api = Self {
            env,
            base: format!("http://{address}"),
            http: client(None)?,
            handle,
            server: task.abort_handle(),
        };
        driftless_testkit::wait_until(TIMEOUT, "the API server is ready", || async {
            let ready = api.http.get(format!("{}/readyz", api.base)).send().await;
            Ok(ready.ok().filter(|r| r.status() == 200))
        })
        .await?;
        Ok(api)
    }

    /// `method path` with `token` (if any) and a JSON body (if any): the status and the body.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> anyhow::Result<(u16, Value)> {
        self.call(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// Waits until the API server's own watch has the app `name` (a request right after
    /// `kubectl apply` may come before it).
    pub(crate) async fn wait_seen(&self, name: &str, token: &str) -> anyhow::Result<()> {
        let path = format!("/api/v1/applications/{name}");
        driftless_testkit::wait_until(TIMEOUT, "the API server sees the app", || async {
            Ok((self.get(&path, token).await?.0 == 200).then_some(()))
        })
        .await
    }

    /// Creates the app `name` of the test repository's `path` (`spec_extra`: more lines under
    /// its spec) and waits until the API server has it.
    pub(crate) async fn add_app(
        &self,
        name: &str,
        path: &str,
        spec_extra: &str,
        token: &str,
    ) -> anyhow::Result<()> {
        let (env, url) = (&self.env, self.env.repo.file_url());
        env.apply_app(&application(name, &env.ns.name, &url, path, spec_extra, ""))
            .await?;
        self.wait_seen(name, token).await
    }

    /// Starts a sync of the app `name` with an empty request, which the server must accept.
    pub(crate) async fn start_sync(&self, name: &str, token: &str) -> anyhow::Result<()> {
        let path = format!("/api/v1/applications/{name}/sync");
        let (status, body) = self.post(&path, token, json!({})).await?;
        anyhow::ensure!(
            status == 200,
            "the sync of {name} was refused: {status} {body}"
        );
        Ok(())
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        token: &str,
        body: Value,
    ) -> anyhow::Result<(u16, Value)> {
        self.call(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }

    /// Logs in; the session token.
    pub(crate) async fn login(&self, user: &str, password: &str) -> anyhow::Result<String> {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/session",
                None,
                Some(json!({"username": user, "password": password})),
            )
            .await?;
        anyhow::ensure!(status == 200, "login of {user}: {status} {body}");
        Ok(body["token"].as_str().unwrap_or_default().to_string())
    }

    /// The key argocd-secret holds for signing tokens (the server wrote it at start).
    pub(crate) async fn signing_key(
        &self,
    ) -> anyhow::Result<driftless_server::auth::tokens::SigningKey> {
        let secrets: Api<Secret> = self.env.ns.api();
        let secret = secrets.get("argocd-secret").await?;
        let key = secret
            .data
            .unwrap_or_default()
            .get("server.secretkey")
            .map(|b| b.0.clone())
            .unwrap_or_default();
        Ok(driftless_server::auth::tokens::SigningKey::new(key))
    }
}

/// Writes `config` into the namespace's argocd-cm, argocd-rbac-cm and argocd-secret.
pub(crate) async fn write_config(ns: &TestNamespace, config: &Config) -> anyhow::Result<()> {
    let maps: Api<ConfigMap> = ns.api();
    let secrets: Api<Secret> = ns.api();
    let apply = PatchParams::apply("test").force();
    for (name, data) in [("argocd-cm", &config.cm), ("argocd-rbac-cm", &config.rbac)] {
        let map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data});
        maps.patch(name, &apply, &Patch::Apply(&map)).await?;
    }
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "argocd-secret"}, "stringData": config.secret});
    secrets
        .patch("argocd-secret", &apply, &Patch::Apply(&secret))
        .await?;
    Ok(())
}

/// An HTTP client; `trusted`: a PEM certificate to trust for HTTPS.
pub(crate) fn client(trusted: Option<&str>) -> anyhow::Result<reqwest::Client> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = trusted {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert?)?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// An AppProject allowing everything, with `extra` lines under `spec`.
pub(crate) fn project(name: &str, namespace: &str, extra: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  sourceRepos: ['*']\n  destinations: [{{server: '*', namespace: '*'}}]\n{extra}"
    )
}

/// [`application`] in `project`.
pub(crate) fn app_in(
    project: &str,
    name: &str,
    namespace: &str,
    repo: &str,
    spec_extra: &str,
    meta_extra: &str,
) -> String {
    application(name, namespace, repo, "app", spec_extra, meta_extra)
        .replace("project: default", &format!("project: {project}"))
}

/// A ServiceAccount `name` in the test namespace and a token for it (an hour), from the API
/// server's TokenRequest: what a Kubernetes client would send.
pub(crate) async fn service_account_token(env: &Gitops, name: &str) -> anyhow::Result<String> {
    use k8s_openapi::api::authentication::v1::TokenRequest;
    use k8s_openapi::api::core::v1::ServiceAccount;
    let accounts: Api<ServiceAccount> = env.ns.api();
    accounts
        .create(
            &Default::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}}))?,
        )
        .await?;
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"expirationSeconds": 3600}}))?;
    let answer = accounts
        .create_token_request(name, &Default::default(), &request)
        .await?;
    answer
        .status
        .and_then(|s| s.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| anyhow::anyhow!("the API server gave no token for {name}"))
}
