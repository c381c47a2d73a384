//! The health listener (`serve --health-listen`): plain HTTP for the kubelet's probes, apart
//! from the API so that probes need no TLS or login. `/healthz` answers while the process
//! runs; `/readyz` once the readiness check passes. It serves nothing else, so nothing it
//! answers needs authentication.

use crate::ServerError;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;

/// Whether the process is ready to be sent traffic and counted as available.
pub type ReadyCheck = Arc<dyn Fn() -> bool + Send + Sync>;

pub struct HealthListener {
    listener: tokio::net::TcpListener,
    ready: ReadyCheck,
}

impl HealthListener {
    pub async fn bind(address: SocketAddr, ready: ReadyCheck) -> Result<Self, ServerError> {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| ServerError::Listen { address, source })?;
        Ok(Self { listener, ready })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until the listener fails.
    pub async fn run(self) -> Result<(), ServerError> {
        let ready = self.ready;
        let router = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route(
                "/readyz",
                get(move || {
                    let ready = ready.clone();
                    async move { readiness(ready()) }
                }),
            );
        axum::serve(self.listener, router)
            .await
            .map_err(|e| ServerError::Stopped(e.to_string()))
    }
}

fn readiness(ready: bool) -> (StatusCode, &'static str) {
    if ready {
        (StatusCode::OK, "ready")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the watches have not listed yet",
        )
    }
}
