//! The real CNCF distribution registry (`registry`, built by `hack/build-tools`) on 127.0.0.1
//! and a free port, with filesystem storage in a temporary directory and, unless anonymous,
//! htpasswd basic auth. Charts get in with the real `helm push`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::Rng;

use crate::charts::{isolated_helm, run};

/// How long the registry may take to answer `GET /v2/` after it starts.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// Configures an [`OciRegistry`].
#[derive(Debug, Clone)]
pub struct OciRegistryBuilder {
    binary: Option<PathBuf>,
    credentials: Option<(String, String)>,
}

impl OciRegistryBuilder {
    /// Require these basic-auth credentials (the default is `driftless` and a random password).
    pub fn credentials(mut self, username: &str, password: &str) -> Self {
        self.credentials = Some((username.to_string(), password.to_string()));
        self
    }

    /// No authentication: anyone may pull and push.
    pub fn anonymous(mut self) -> Self {
        self.credentials = None;
        self
    }

    /// Run this `registry` binary instead of the one `hack/build-tools` built.
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    pub fn start(self) -> anyhow::Result<OciRegistry> {
        let binary = match self.binary {
            Some(binary) => binary,
            None => crate::tools::built_registry()
                .context("the OCI registry (distribution) is not built: run hack/build-tools")?,
        };
        let dir = tempfile::tempdir().context("create the registry's temporary directory")?;
        let htpasswd = match &self.credentials {
            None => None,
            Some((user, password)) => {
                let path = dir.path().join("htpasswd");
                // The registry accepts only bcrypt; the lowest cost keeps every request fast.
                let hash = bcrypt::hash(password, 4).context("bcrypt the registry password")?;
                std::fs::write(&path, format!("{user}:{hash}\n"))
                    .with_context(|| format!("write {}", path.display()))?;
                Some(path)
            }
        };
        let log_path = dir.path().join("registry.log");
        // A probed port may be taken before the registry binds it; then try another.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let addr = free_port()?;
            let mut child = spawn(&binary, dir.path(), addr, htpasswd.as_deref(), &log_path)?;
            match wait_ready(&mut child, addr, htpasswd.is_some(), &log_path) {
                Ok(()) => {
                    return Ok(OciRegistry {
                        child,
                        addr,
                        credentials: self.credentials,
                        log_path,
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
}

/// A running registry at [`host`](Self::host); killed when dropped.
pub struct OciRegistry {
    child: Child,
    addr: SocketAddr,
    credentials: Option<(String, String)>,
    log_path: PathBuf,
    // Storage, config, htpasswd and log; removed after the process is gone.
    _dir: tempfile::TempDir,
}

impl OciRegistry {
    /// Starts the built registry requiring basic auth, as `driftless` with a random password.
    pub fn start() -> anyhow::Result<Self> {
        Self::builder().start()
    }

    /// Starts the built registry without authentication.
    pub fn start_anonymous() -> anyhow::Result<Self> {
        Self::builder().anonymous().start()
    }

    pub fn builder() -> OciRegistryBuilder {
        let password: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(24)
            .map(char::from)
            .collect();
        OciRegistryBuilder {
            binary: None,
            credentials: Some(("driftless".to_string(), password)),
        }
    }

    /// `127.0.0.1:PORT`, as OCI references name the registry.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`, for the distribution API (`/v2/...`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The username and password the registry requires; None when anonymous.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The registry's own log (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Pushes the chart archive `tgz` to `oci://HOST/<repo_path>` with the real helm (after
    /// `helm registry login` when the registry wants credentials), with helm's config, cache
    /// and registry credentials in a temporary directory. The chart lands at
    /// `<repo_path>/<chart name>:<chart version>`. Returns the manifest digest (`sha256:…`).
    pub fn push_chart(&self, helm: &Path, tgz: &Path, repo_path: &str) -> anyhow::Result<String> {
        let home = tempfile::tempdir().context("create a temporary HELM home")?;
        let helm_command = || {
            let mut command = isolated_helm(helm, home.path());
            // helm looks for a docker credential helper on PATH when its registry config
            // names none; an empty PATH keeps credentials in the temporary config file.
            command.env("PATH", "").env("HOME", home.path());
            command
        };
        if let Some((user, password)) = &self.credentials {
            let mut login = helm_command();
            login
                // --insecure alone still speaks TLS; the registry serves plain HTTP.
                .args(["registry", "login", "--insecure", "--plain-http"])
                .args(["--username", user])
                .arg("--password-stdin")
                .arg(self.host())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = login
                .spawn()
                .context("run helm registry login; is helm built? run hack/build-tools")?;
            if let Some(mut stdin) = child.stdin.take() {
                stdin
                    .write_all(password.as_bytes())
                    .context("write the password to helm registry login")?;
            }
            let output = child.wait_with_output()?;
            if !output.status.success() {
                bail!(
                    "helm registry login {} failed ({}): {}{}\nregistry log: {}",
                    self.host(),
                    output.status,
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr),
                    self.log_path.display()
                );
            }
        }
        let reference = format!("oci://{}/{}", self.host(), repo_path.trim_matches('/'));
        let output = run(
            helm_command()
                .arg("push")
                .arg(tgz)
                .arg(&reference)
                .arg("--plain-http"),
            &format!(
                "helm push {} {reference} (registry log: {})",
                tgz.display(),
                self.log_path.display()
            ),
        )?;
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        printed
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Digest:")
                    .map(|d| d.trim().to_string())
            })
            .with_context(|| format!("helm push printed no digest: {printed}"))
    }

    /// Pushes an OCI artifact of plain files, as `oras push` makes one: each layer is
    /// `(media type, bytes, title)`, the config `{}`. Returns the manifest digest.
    pub fn push_artifact(
        &self,
        repo_path: &str,
        tag: &str,
        layers: &[(&str, Vec<u8>, &str)],
    ) -> anyhow::Result<String> {
        let repo = repo_path.trim_matches('/');
        let config = b"{}".to_vec();
        let mut descriptors = Vec::new();
        for (media_type, bytes, title) in layers {
            let digest = self.upload_blob(repo, bytes)?;
            descriptors.push(serde_json::json!({
                "mediaType": media_type, "digest": digest, "size": bytes.len(),
                "annotations": {"org.opencontainers.image.title": title},
            }));
        }
        let config_digest = self.upload_blob(repo, &config)?;
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config.len()},
            "layers": descriptors,
        }))?;
        let content_type = "application/vnd.oci.image.manifest.v1+json";
        let path = format!("/v2/{repo}/manifests/{tag}");
        self.request("PUT", &path, content_type, &manifest, 201)?;
        Ok(sha256_digest(&manifest))
    }

    /// A monolithic blob upload: POST opens an upload, one PUT with the digest completes it.
    fn upload_blob(&self, repo: &str, bytes: &[u8]) -> anyhow::Result<String> {
        let digest = sha256_digest(bytes);
        let opened = self.request(
            "POST",
            &format!("/v2/{repo}/blobs/uploads/"),
            "application/octet-stream",
            &[],
            202,
        )?;
        let location = opened
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("location")
                    .then(|| value.trim().to_string())
            })
            .context("the registry named no upload location")?;
        let path = location
            .strip_prefix(&self.url())
            .unwrap_or(&location)
            .to_string();
        let separator = if path.contains('?') { '&' } else { '?' };
        let put = format!("{path}{separator}digest={digest}");
        self.request("PUT", &put, "application/octet-stream", bytes, 201)?;
        Ok(digest)
    }

    /// One plain HTTP/1.1 request to the registry, with basic auth when it has credentials.
    fn request(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
        expected: u16,
    ) -> anyhow::Result<String> {
        use base64::Engine;
        let mut stream = TcpStream::connect(self.addr).context("connect to the registry")?;
        let auth = self
            .credentials
            .as_ref()
            .map(|(u, p)| {
                let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
                format!("Authorization: Basic {token}\r\n")
            })
            .unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.host(),
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        let status = answer.split_whitespace().nth(1).unwrap_or_default();
        if status != expected.to_string() {
            bail!(
                "{method} {path} answered {status}, not {expected}: {}\nregistry log: {}",
                answer.lines().next().unwrap_or_default(),
                self.log_path.display()
            );
        }
        Ok(answer)
    }
}

fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

impl Drop for OciRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 nothing listens on right now.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .context("find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?)
}

fn config_yaml(dir: &Path, addr: SocketAddr, htpasswd: Option<&Path>) -> anyhow::Result<String> {
    // JSON strings are YAML strings: quotes whatever the temporary path holds.
    let quote = |p: &Path| serde_json::to_string(&p.to_string_lossy());
    let secret: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    let mut yaml = [
        "version: 0.1".to_string(),
        "log:".to_string(),
        "  level: info".to_string(),
        "  formatter: text".to_string(),
        "storage:".to_string(),
        "  filesystem:".to_string(),
        format!("    rootdirectory: {}", quote(&dir.join("data"))?),
        "  delete:".to_string(),
        "    enabled: true".to_string(),
        // Purging runs at start and walks the storage; nothing is left to purge in a test.
        "  maintenance:".to_string(),
        "    uploadpurging:".to_string(),
        "      enabled: false".to_string(),
        "http:".to_string(),
        format!("  addr: \"{addr}\""),
        format!("  secret: {secret}"),
        "health:".to_string(),
        "  storagedriver:".to_string(),
        "    enabled: false".to_string(),
    ]
    .join("\n");
    yaml.push('\n');
    if let Some(htpasswd) = htpasswd {
        yaml.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: driftless-test-registry\n    path: {}\n",
            quote(htpasswd)?
        ));
    }
    Ok(yaml)
}

fn spawn(
    binary: &Path,
    dir: &Path,
    addr: SocketAddr,
    htpasswd: Option<&Path>,
    log_path: &Path,
) -> anyhow::Result<Child> {
    let config = dir.join("config.yml");
    std::fs::write(&config, config_yaml(dir, addr, htpasswd)?)
        .with_context(|| format!("write {}", config.display()))?;
    let log = std::fs::File::create(log_path)
        .with_context(|| format!("create {}", log_path.display()))?;
    Command::new(binary)
        .arg("serve")
        .arg(&config)
        // REGISTRY_* variables override the config file; none of the caller's may leak in.
        .env_clear()
        .env("HOME", dir)
        // No collector listens; without these the registry keeps trying to export traces.
        .env("OTEL_SDK_DISABLED", "true")
        .env("OTEL_TRACES_EXPORTER", "none")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| {
            format!(
                "start {}; is the registry built? run hack/build-tools",
                binary.display()
            )
        })
}

/// Waits until `GET /v2/` answers 401 (with auth) or 200 (without), the registry exits, or
/// the deadline passes.
fn wait_ready(
    child: &mut Child,
    addr: SocketAddr,
    auth: bool,
    log_path: &Path,
) -> anyhow::Result<()> {
    let expected = if auth { 401 } else { 200 };
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "the registry exited ({status}) before answering GET /v2/; its log {}:\n{}",
                log_path.display(),
                tail(&read_log(log_path))
            );
        }
        let last = match probe(addr) {
            Ok(status) if status == expected => return Ok(()),
            Ok(status) => format!("answered {status}, want {expected}"),
            Err(err) => err.to_string(),
        };
        if Instant::now() >= deadline {
            bail!(
                "the registry at {addr} did not answer GET /v2/ within {START_DEADLINE:?} \
                 ({last}); its log {}:\n{}",
                log_path.display(),
                tail(&read_log(log_path))
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The status of `GET /v2/`, by hand: testkit has no HTTP client outside its tests.
fn probe(addr: SocketAddr) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "GET /v2/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 64];
    let mut len = 0;
    // "HTTP/1.1 401 ..." — the first 12 bytes hold the status.
    while len < 12 {
        let n = stream.read(&mut head[len..])?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let text = String::from_utf8_lossy(&head[..len]);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not an HTTP answer: {text:?}"),
            )
        })
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The last lines of a log, enough to see why the registry failed.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_quotes_paths_and_names_htpasswd_only_with_auth() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 5000));
        let with = config_yaml(
            Path::new("/tmp/x y"),
            addr,
            Some(Path::new("/tmp/x y/htpasswd")),
        )
        .expect("renders");
        assert!(with.contains("rootdirectory: \"/tmp/x y/data\""), "{with}");
        assert!(with.contains("addr: \"127.0.0.1:5000\""), "{with}");
        assert!(with.contains("path: \"/tmp/x y/htpasswd\""), "{with}");
        let without = config_yaml(Path::new("/tmp/x"), addr, None).expect("renders");
        assert!(!without.contains("auth:"), "{without}");
        let parsed: serde_json::Value = serde_norway::from_str(&with).expect("valid YAML");
        assert_eq!(parsed["http"]["addr"], "127.0.0.1:5000");
        assert_eq!(
            parsed["storage"]["maintenance"]["uploadpurging"]["enabled"],
            false
        );
    }
}
