//! The driftless API server: login (local accounts, API keys, project role tokens, Kubernetes
//! tokens through TokenReview), RBAC as argocd-rbac-cm defines it, the Application,
//! AppProject and ApplicationSet endpoints under `/api/v1`, a live stream of changes, and the
//! git webhook, verified with argocd-secret's secrets. Runs inside `driftless serve`, beside
//! the controller, so a webhook reaches the git watcher directly.
//!
//! Pure parts: [`auth::accounts`], [`auth::tokens`], [`auth::throttle`], [`api::query`],
//! [`api::selector`], [`policy`] (over `driftless-rbac`). Edges: [`settings`] (argocd-cm,
//! argocd-rbac-cm, argocd-secret), [`store`] (watches), [`tls`], and the handlers.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod auth;
pub mod error;
pub mod health;
pub mod metrics_listener;
pub mod policy;
pub mod settings;
pub mod state;
pub mod store;
pub mod tls;
pub mod ui;
pub mod webhook;

pub use state::Engine;

use state::{AppState, Shared};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The control namespace: Applications, AppProjects, argocd-cm, argocd-secret.
    pub namespace: String,
    pub listen: SocketAddr,
    /// Serve plain HTTP (behind a proxy that terminates TLS, or in tests).
    pub insecure: bool,
    /// The `kubernetes.io/tls` Secret to serve; without one a self-signed certificate is made.
    pub tls_secret: String,
    /// The audit log's database, for `/api/v1/audit` (None: the API serves no audit log).
    pub audit_database: Option<String>,
}

impl ServerConfig {
    pub fn new(namespace: &str, listen: SocketAddr) -> Self {
        Self {
            namespace: namespace.to_string(),
            listen,
            insecure: false,
            tls_secret: tls::DEFAULT_SECRET.to_string(),
            audit_database: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("failed to listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("failed to open the audit log for the API: {0}")]
    Audit(#[from] driftless_audit::AuditError),
    #[error("the API server stopped: {0}")]
    Stopped(String),
}

pub struct Server {
    state: Shared,
    watches: Vec<store::Watch>,
    listener: std::net::TcpListener,
    tls: Option<tls::Served>,
}

impl Server {
    /// Binds the address, makes sure argocd-secret has a signing key, and loads the certificate.
    pub async fn bind(
        client: kube::Client,
        config: ServerConfig,
        engine: Option<Arc<dyn Engine>>,
    ) -> Result<Self, ServerError> {
        let settings = settings::Settings::new(client.clone(), &config.namespace);
        settings.ensure_signing_key().await?;
        let tls = if config.insecure {
            None
        } else {
            Some(tls::load(&client, &config.namespace, &config.tls_secret).await?)
        };
        let listener = std::net::TcpListener::bind(config.listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|source| ServerError::Listen {
                address: config.listen,
                source,
            })?;
        let audit = config
            .audit_database
            .as_deref()
            .map(api::audit::AuditReader::open)
            .transpose()?;
        let (stores, watches) = store::Stores::start(&client, &config.namespace);
        let state = Arc::new(AppState {
            client,
            settings,
            stores,
            throttle: Mutex::new(auth::throttle::LoginThrottle::new(Default::default())),
            reviews: Default::default(),
            revoked: Default::default(),
            engine,
            oidc: Default::default(),
            tls: tls.is_some(),
            combined_policy: Mutex::new(None),
            webhook_budget: Mutex::new((0, 0)),
            audit,
        });
        Ok(Self {
            state,
            watches,
            listener,
            tls,
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// The self-signed certificate in PEM, when the server made one.
    pub fn self_signed_pem(&self) -> Option<String> {
        self.tls.as_ref().and_then(|t| t.self_signed_pem.clone())
    }

    /// Serves until the future is dropped or the listener fails.
    pub async fn run(self) -> Result<(), ServerError> {
        let Server {
            state,
            watches,
            listener,
            tls,
        } = self;
        let mut background = tokio::task::JoinSet::new();
        for watch in watches {
            background.spawn(watch);
        }
        let app = api::router(state).into_make_service_with_connect_info::<SocketAddr>();
        let stopped = |e: std::io::Error| ServerError::Stopped(e.to_string());
        let serve = async move {
            match tls {
                Some(served) => {
                    let config = axum_server::tls_rustls::RustlsConfig::from_config(served.config);
                    let mut server = axum_server::tls_rustls::from_tcp_rustls(listener, config)
                        .map_err(stopped)?;
                    server
                        .http_builder()
                        .http1()
                        .header_read_timeout(Duration::from_secs(10));
                    server.serve(app).await.map_err(stopped)
                }
                None => {
                    let mut server = axum_server::from_tcp(listener).map_err(stopped)?;
                    server
                        .http_builder()
                        .http1()
                        .header_read_timeout(Duration::from_secs(10));
                    server.serve(app).await.map_err(stopped)
                }
            }
        };
        tokio::select! {
            outcome = serve => outcome,
            Some(ended) = background.join_next() => Err(ServerError::Stopped(format!(
                "{} ended",
                ended.unwrap_or("a watch")
            ))),
        }
    }
}
