//! The server's certificate: from a `kubernetes.io/tls` Secret (Argo CD's `argocd-server-tls`
//! by default) when there is one, else a self-signed one made at start for localhost and the
//! host's name. Plain HTTP only with an explicit `--insecure`.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;

pub const DEFAULT_SECRET: &str = "argocd-server-tls";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("failed to read Secret {namespace}/{name}: {source}")]
    Read {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to read the certificate of Secret {secret}: {reason}")]
    Certificate { secret: String, reason: String },
    #[error("failed to make a self-signed certificate: {0}")]
    SelfSigned(String),
}

/// Where the certificate came from, and the rustls configuration serving it.
pub struct Served {
    pub config: Arc<rustls::ServerConfig>,
    /// The self-signed certificate in PEM (for clients to trust), when one was made.
    pub self_signed_pem: Option<String>,
}

pub async fn load(
    client: &kube::Client,
    namespace: &str,
    secret: &str,
) -> Result<Served, TlsError> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let found = secrets
        .get_opt(secret)
        .await
        .map_err(|source| TlsError::Read {
            namespace: namespace.to_string(),
            name: secret.to_string(),
            source,
        })?;
    let data = found.and_then(|s| s.data).unwrap_or_default();
    match (data.get("tls.crt"), data.get("tls.key")) {
        (Some(cert), Some(key)) => {
            let config = from_pem(&cert.0, &key.0).map_err(|reason| TlsError::Certificate {
                secret: format!("{namespace}/{secret}"),
                reason,
            })?;
            tracing::info!(secret = %format!("{namespace}/{secret}"), "serving the certificate of the Secret");
            Ok(Served {
                config,
                self_signed_pem: None,
            })
        }
        _ => self_signed(),
    }
}

fn from_pem(cert: &[u8], key: &[u8]) -> Result<Arc<rustls::ServerConfig>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls.crt: {e}"))?;
    if chain.is_empty() {
        return Err("tls.crt holds no certificate".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("tls.key: {e}"))?;
    config(chain, key)
}

/// A certificate for localhost, 127.0.0.1 and this host's name, valid for the process's life.
pub fn self_signed() -> Result<Served, TlsError> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if let Ok(host) = std::env::var("HOSTNAME")
        && !host.is_empty()
    {
        names.push(host);
    }
    let key = rcgen::KeyPair::generate().map_err(|e| TlsError::SelfSigned(e.to_string()))?;
    let params =
        rcgen::CertificateParams::new(names).map_err(|e| TlsError::SelfSigned(e.to_string()))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| TlsError::SelfSigned(e.to_string()))?;
    let der_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = config(vec![cert.der().clone()], der_key).map_err(TlsError::SelfSigned)?;
    tracing::info!("serving a self-signed certificate (no TLS Secret)");
    Ok(Served {
        config,
        self_signed_pem: Some(cert.pem()),
    })
}

fn config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
