//! A Helm chart repository for tests: the files of a directory served on 127.0.0.1 and an
//! ephemeral port over HTTP or HTTPS, the way `helm repo add` and `helm pull` expect
//! (`GET /index.yaml`, `GET /<chart>-<version>.tgz`).
//!
//! Files are read at request time, so a test can publish a new version while the server runs.
//! Every file carries an `ETag` (a hash of its contents) and `If-None-Match` answers
//! `304 Not Modified`; every request is logged so tests can count downloads.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConnection, StreamOwned};
use sha2::{Digest, Sha256};

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRequest {
    pub method: String,
    /// The decoded path without the query, e.g. `/index.yaml`.
    pub path: String,
    pub status: u16,
    /// Whether the request carried the expected basic-auth credentials (true without auth).
    pub authorized: bool,
}

/// Configures a [`HelmRepoServer`].
#[derive(Debug, Clone)]
pub struct HelmRepoServerBuilder {
    root: PathBuf,
    basic_auth: Option<(String, String)>,
    tls: bool,
    require_client_cert: bool,
}

impl HelmRepoServerBuilder {
    /// Require HTTP basic auth with these credentials on every request (401 otherwise).
    pub fn basic_auth(mut self, username: &str, password: &str) -> Self {
        self.basic_auth = Some((username.to_string(), password.to_string()));
        self
    }

    /// Serve HTTPS with a certificate for `127.0.0.1` and `localhost` issued by a CA made for
    /// this server; clients trust [`HelmRepoServer::ca_pem`].
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Serve HTTPS and refuse the handshake unless the client presents a certificate issued by
    /// the server's CA ([`HelmRepoServer::client_identity_pem`]).
    pub fn require_client_cert(mut self) -> Self {
        self.tls = true;
        self.require_client_cert = true;
        self
    }

    pub fn start(self) -> anyhow::Result<HelmRepoServer> {
        let tls = if self.tls {
            Some(TlsMaterial::generate(self.require_client_cert)?)
        } else {
            None
        };
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .context("bind the Helm repository server to 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config: self,
            tls,
            log: Mutex::default(),
            stop: AtomicBool::new(false),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::spawn(move || accept_loop(listener, shared))
        };
        Ok(HelmRepoServer {
            addr,
            shared,
            thread: Some(thread),
        })
    }
}

/// Serves a directory as a Helm chart repository at [`url`](Self::url). Stops when dropped.
pub struct HelmRepoServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl HelmRepoServer {
    /// Serves `root` over plain HTTP without authentication.
    pub fn start(root: impl Into<PathBuf>) -> anyhow::Result<Self> {
        Self::builder(root).start()
    }

    pub fn builder(root: impl Into<PathBuf>) -> HelmRepoServerBuilder {
        HelmRepoServerBuilder {
            root: root.into(),
            basic_auth: None,
            tls: false,
            require_client_cert: false,
        }
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The directory served.
    pub fn root(&self) -> &Path {
        &self.shared.config.root
    }

    /// The PEM of the CA that issued the server (and client) certificates; None over HTTP.
    pub fn ca_pem(&self) -> Option<&str> {
        self.shared.tls.as_ref().map(|t| t.ca_pem.as_str())
    }

    /// A client certificate issued by the server's CA (PEM); None over HTTP.
    pub fn client_cert_pem(&self) -> Option<&str> {
        self.shared.tls.as_ref().map(|t| t.client_cert_pem.as_str())
    }

    /// The private key of [`client_cert_pem`](Self::client_cert_pem) (PKCS#8 PEM).
    pub fn client_key_pem(&self) -> Option<&str> {
        self.shared.tls.as_ref().map(|t| t.client_key_pem.as_str())
    }

    /// Client certificate then key in one PEM, as `reqwest::Identity::from_pem` takes it.
    pub fn client_identity_pem(&self) -> Option<String> {
        self.shared
            .tls
            .as_ref()
            .map(|t| format!("{}{}", t.client_cert_pem, t.client_key_pem))
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<RepoRequest> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// How many requests asked for `path` (`/index.yaml` or `index.yaml`), whatever the answer.
    pub fn count(&self, path: &str) -> usize {
        let path = with_slash(path);
        self.requests().iter().filter(|r| r.path == path).count()
    }

    /// How many times the file at `path` was sent in full: GETs answered 200.
    pub fn downloads(&self, path: &str) -> usize {
        let path = with_slash(path);
        self.requests()
            .iter()
            .filter(|r| r.path == path && r.method == "GET" && r.status == 200)
            .count()
    }

    /// Forgets the requests logged so far.
    pub fn clear_log(&self) {
        if let Ok(mut log) = self.shared.log.lock() {
            log.clear();
        }
    }
}

impl Drop for HelmRepoServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn with_slash(path: &str) -> String {
    format!("/{}", path.trim_start_matches('/'))
}

/// State shared by the connection threads.
struct Shared {
    config: HelmRepoServerBuilder,
    tls: Option<TlsMaterial>,
    log: Mutex<Vec<RepoRequest>>,
    stop: AtomicBool,
}

/// The per-server CA, the certificates it issued and the rustls config serving them.
struct TlsMaterial {
    ca_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
    config: Arc<rustls::ServerConfig>,
}

impl TlsMaterial {
    fn generate(require_client_cert: bool) -> anyhow::Result<Self> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "driftless test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)
            .context("generate the test CA")?;

        let server_key = KeyPair::generate()?;
        let mut server_params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
        server_params
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server_params
            .signed_by(&server_key, &ca)
            .context("issue the server certificate")?;

        let client_key = KeyPair::generate()?;
        let mut client_params = CertificateParams::new(Vec::<String>::new())?;
        client_params
            .distinguished_name
            .push(DnType::CommonName, "driftless test client");
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client_params
            .signed_by(&client_key, &ca)
            .context("issue the client certificate")?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.der().clone())?;
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let mut config = builder
            .with_single_cert(vec![server_cert.der().clone()], key)
            .context("load the server certificate into rustls")?;
        // The server speaks HTTP/1.1 only; say so, so clients never try h2.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            ca_pem: ca.pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
            config: Arc::new(config),
        })
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let shared = shared.clone();
        std::thread::spawn(move || serve_connection(stream, &shared));
    }
}

/// A plain or TLS connection.
enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

impl Conn {
    /// Ends a TLS session cleanly so clients don't see a truncation.
    fn close(&mut self) {
        if let Conn::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
    }
}

fn serve_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let conn = match &shared.tls {
        None => Conn::Plain(stream),
        Some(tls) => match ServerConnection::new(tls.config.clone()) {
            Ok(session) => Conn::Tls(Box::new(StreamOwned::new(session, stream))),
            Err(_) => return,
        },
    };
    // Keep-alive: serve requests on this connection until the client closes it.
    let mut reader = BufReader::new(conn);
    while let Ok(Some(request)) = read_request(&mut reader) {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let close = request.wants_close();
        let (record, response) = answer(shared, &request);
        if let Ok(mut log) = shared.log.lock() {
            log.push(record);
        }
        let conn = reader.get_mut();
        if conn
            .write_all(&response)
            .and_then(|_| conn.flush())
            .is_err()
        {
            return;
        }
        if close {
            break;
        }
    }
    reader.get_mut().close();
}

struct Request {
    method: String,
    path: String,
    http10: bool,
    headers: BTreeMap<String, String>,
}

impl Request {
    fn wants_close(&self) -> bool {
        let connection = self
            .headers
            .get("connection")
            .map(|v| v.to_ascii_lowercase());
        match connection.as_deref() {
            Some("close") => true,
            Some("keep-alive") => false,
            _ => self.http10,
        }
    }
}

/// Reads one HTTP/1.x request head and skips its body; `None` when the connection closed.
fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default();
    let http10 = parts.next() == Some("HTTP/1.0");
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    let Some(headers) = driftless_source::testing::read_headers(reader)? else {
        return Ok(None);
    };
    if headers.contains_key("transfer-encoding") {
        // No client of a chart repository sends a body; refuse rather than lose framing.
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "chunked request bodies are not supported",
        ));
    }
    let length: u64 = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    std::io::copy(&mut reader.take(length), &mut std::io::sink())?;
    Ok(Some(Request {
        method,
        path: percent_decode(path),
        http10,
        headers,
    }))
}

fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn authorized(expected: Option<&(String, String)>, request: &Request) -> bool {
    let Some((user, password)) = expected else {
        return true;
    };
    let Some(value) = request.headers.get("authorization") else {
        return false;
    };
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("basic")
        && base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .is_ok_and(|decoded| decoded == format!("{user}:{password}").as_bytes())
}

/// The file under `root` a request path names; None for `..`, empty segments and the like.
fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    let mut file = root.to_path_buf();
    for part in path.trim_start_matches('/').split('/') {
        if part.is_empty() || part == "." || part == ".." || part.contains('\\') {
            return None;
        }
        file.push(part);
    }
    Some(file)
}

fn content_type(path: &str) -> &'static str {
    if path.ends_with(".yaml") || path.ends_with(".yml") {
        "application/x-yaml"
    } else if path.ends_with(".tgz") || path.ends_with(".gz") {
        "application/gzip"
    } else if path.ends_with(".prov") || path.ends_with(".txt") {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

/// A strong validator: the SHA-256 of the contents, quoted.
fn etag(contents: &[u8]) -> String {
    format!("\"{:x}\"", Sha256::digest(contents))
}

/// Whether an `If-None-Match` header value matches `tag` (weak comparison, as RFC 9110 says).
fn none_match(header: &str, tag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    header
        .split(',')
        .any(|candidate| candidate.trim() == "*" || bare(candidate) == bare(tag))
}

fn answer(shared: &Shared, request: &Request) -> (RepoRequest, Vec<u8>) {
    let authorized = authorized(shared.config.basic_auth.as_ref(), request);
    let mut headers: Vec<(&str, String)> = Vec::new();
    let head = request.method == "HEAD";
    let (status, body) = if !authorized {
        headers.push((
            "WWW-Authenticate",
            "Basic realm=\"driftless helm repository\"".to_string(),
        ));
        (401, b"authentication required\n".to_vec())
    } else if request.method != "GET" && !head {
        headers.push(("Allow", "GET, HEAD".to_string()));
        (405, b"only GET and HEAD\n".to_vec())
    } else {
        match resolve(&shared.config.root, &request.path).map(std::fs::read) {
            None => (404, b"not found\n".to_vec()),
            Some(Err(err)) if matches!(err.kind(), std::io::ErrorKind::NotFound) => {
                (404, b"not found\n".to_vec())
            }
            // A directory reads as an error too; it is no file of the repository.
            Some(Err(err)) if matches!(err.kind(), std::io::ErrorKind::IsADirectory) => {
                (404, b"not found\n".to_vec())
            }
            Some(Err(err)) => (500, format!("read {}: {err}\n", request.path).into_bytes()),
            Some(Ok(contents)) => {
                let tag = etag(&contents);
                headers.push(("ETag", tag.clone()));
                let fresh = request
                    .headers
                    .get("if-none-match")
                    .is_some_and(|h| none_match(h, &tag));
                if fresh {
                    (304, Vec::new())
                } else {
                    headers.push(("Content-Type", content_type(&request.path).to_string()));
                    (200, contents)
                }
            }
        }
    };
    if status != 304 {
        headers.push(("Content-Length", body.len().to_string()));
    }
    if request.wants_close() {
        headers.push(("Connection", "close".to_string()));
    }
    let mut response = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
    for (name, value) in &headers {
        response.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    response.extend_from_slice(b"\r\n");
    if !head && status != 304 {
        response.extend_from_slice(&body);
    }
    let record = RepoRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        status,
        authorized,
    };
    (record, response)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn resolves_only_paths_inside_the_root() {
        let root = Path::new("/srv/charts");
        assert_eq!(
            resolve(root, "/index.yaml"),
            Some(PathBuf::from("/srv/charts/index.yaml"))
        );
        assert_eq!(
            resolve(root, "/sub/a-1.0.0.tgz"),
            Some(PathBuf::from("/srv/charts/sub/a-1.0.0.tgz"))
        );
        assert_eq!(resolve(root, "/"), None);
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a//b"), None);
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("/a-1.0.0%2Bbuild.tgz"), "/a-1.0.0+build.tgz");
        assert_eq!(percent_decode("/100%"), "/100%");
        assert_eq!(percent_decode("/%zz"), "/%zz");
    }

    #[test]
    fn matches_if_none_match_lists() {
        let tag = "\"abc\"";
        assert!(none_match("\"abc\"", tag));
        assert!(none_match("\"x\", W/\"abc\"", tag));
        assert!(none_match("*", tag));
        assert!(!none_match("\"abd\"", tag));
    }
}
