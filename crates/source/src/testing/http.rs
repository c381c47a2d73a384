//! A git smart-HTTP server for tests: `git http-backend` run as CGI per request, on
//! 127.0.0.1 and an ephemeral port.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::git::isolated_git;

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The path, e.g. `/repo/info/refs` or `/repo/git-upload-pack`.
    pub path: String,
    pub query: String,
    /// The protocol v2 command of a POST (`ls-refs`, `fetch`), if there was one.
    pub git_command: Option<String>,
    /// Whether the request carried the expected basic-auth credentials.
    pub authorized: bool,
    pub status: u16,
}

/// State shared by the connection threads.
#[derive(Default)]
struct Shared {
    config: GitHttpServerBuilder,
    log: Mutex<Vec<RequestRecord>>,
    fetches_in_flight: AtomicUsize,
    max_fetches_in_flight: AtomicUsize,
}

/// Configures a [`GitHttpServer`].
#[derive(Debug, Clone, Default)]
pub struct GitHttpServerBuilder {
    root: PathBuf,
    basic_auth: Option<(String, String)>,
    fetch_delay: Duration,
    listen: Option<SocketAddr>,
}

impl GitHttpServerBuilder {
    /// Require HTTP basic auth with these credentials on every request (401 otherwise).
    pub fn basic_auth(mut self, username: &str, password: &str) -> Self {
        self.basic_auth = Some((username.to_string(), password.to_string()));
        self
    }

    /// Hold every `fetch` command this long before answering, so a test can have several
    /// callers arrive while one fetch is in flight.
    pub fn fetch_delay(mut self, delay: Duration) -> Self {
        self.fetch_delay = delay;
        self
    }

    /// Listen on this address instead of a free port on 127.0.0.1 (the demo serves a fixed URL).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = Some(addr);
        self
    }

    pub fn start(self) -> std::io::Result<GitHttpServer> {
        let listener = TcpListener::bind(
            self.listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
        )?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config: self,
            ..Default::default()
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::spawn(move || accept_loop(listener, shared, stop))
        };
        Ok(GitHttpServer {
            addr,
            shared,
            stop,
            thread: Some(thread),
        })
    }
}

/// Serves every repository under a root directory at `http://127.0.0.1:<port>/<name>`.
/// Stops when dropped.
pub struct GitHttpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl GitHttpServer {
    /// Serves the repositories under `root` without authentication.
    pub fn start(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        Self::builder(root).start()
    }

    pub fn builder(root: impl Into<PathBuf>) -> GitHttpServerBuilder {
        GitHttpServerBuilder {
            root: root.into(),
            basic_auth: None,
            fetch_delay: Duration::ZERO,
            listen: None,
        }
    }

    pub fn root(&self) -> &Path {
        &self.shared.config.root
    }

    /// The URL of the repository at `name` under the root.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{}", self.addr, name.trim_start_matches('/'))
    }

    /// Every request answered so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// How many requests carried the protocol v2 command `command` (`fetch`, `ls-refs`).
    pub fn count(&self, command: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.git_command.as_deref() == Some(command))
            .count()
    }

    /// Forgets the requests logged so far.
    pub fn clear_log(&self) {
        if let Ok(mut log) = self.shared.log.lock() {
            log.clear();
        }
    }

    /// The most `fetch` commands the server was answering at the same time.
    pub fn max_concurrent_fetches(&self) -> usize {
        self.shared.max_fetches_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let shared = shared.clone();
        std::thread::spawn(move || {
            // Keep-alive: serve requests on this connection until the client closes it.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
            let Ok(reader_stream) = stream.try_clone() else {
                return;
            };
            let mut reader = BufReader::new(reader_stream);
            let mut writer = stream;
            while let Ok(Some(request)) = read_request(&mut reader) {
                let (record, response) = answer(&shared, request);
                if let Ok(mut log) = shared.log.lock() {
                    log.push(record);
                }
                if writer
                    .write_all(&response)
                    .and_then(|_| writer.flush())
                    .is_err()
                {
                    break;
                }
            }
        });
    }
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// Reads the header lines of a request up to the blank line, names lower-cased; `None` when
/// the connection closed first. Shared by the test servers of other crates.
pub fn read_headers(
    reader: &mut impl BufRead,
) -> std::io::Result<Option<BTreeMap<String, String>>> {
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Ok(None);
        }
        let header = header.trim_end();
        if header.is_empty() {
            return Ok(Some(headers));
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
}

/// Reads one HTTP/1.1 request; `None` when the connection closed first.
fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let Some(headers) = read_headers(reader)? else {
        return Ok(None);
    };
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        read_chunked(reader)?
    } else {
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        body
    };
    Ok(Some(Request {
        method,
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body,
    }))
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line)?;
        let size_text = size_line.trim().split(';').next().unwrap_or("0");
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            // Trailers, then the final empty line.
            loop {
                let mut trailer = String::new();
                if reader.read_line(&mut trailer)? == 0 || trailer.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

/// The protocol v2 command of a request body: its first pkt-line, `command=<name>`.
fn git_command(body: &[u8]) -> Option<String> {
    let line = body.get(4..)?;
    let text = line.strip_prefix(b"command=")?;
    let end = text
        .iter()
        .position(|b| *b == b'\n' || *b == 0)
        .unwrap_or(text.len());
    Some(String::from_utf8_lossy(&text[..end]).into_owned())
}

fn answer(shared: &Shared, request: Request) -> (RequestRecord, Vec<u8>) {
    let config = &shared.config;
    let command = (request.method == "POST")
        .then(|| git_command(&request.body))
        .flatten();
    let authorized = match &config.basic_auth {
        None => true,
        Some((user, password)) => {
            let expected = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
            request.headers.get("authorization") == Some(&expected)
        }
    };
    let mut record = RequestRecord {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        git_command: command.clone(),
        authorized,
        status: 0,
    };
    let (status, headers, body) = if authorized && command.as_deref() == Some("fetch") {
        let now = shared.fetches_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared
            .max_fetches_in_flight
            .fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(config.fetch_delay);
        let answer = run_backend(config, &request);
        shared.fetches_in_flight.fetch_sub(1, Ordering::SeqCst);
        answer
    } else if authorized {
        run_backend(config, &request)
    } else {
        let headers = vec![(
            "WWW-Authenticate".to_string(),
            "Basic realm=\"git\"".to_string(),
        )];
        (401, headers, b"authentication required\n".to_vec())
    };
    record.status = status;
    let mut response = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
    for (name, value) in &headers {
        response.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    response.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    response.extend_from_slice(&body);
    (record, response)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Status",
    }
}

/// Runs `git http-backend` as CGI for one request and parses its response.
fn run_backend(
    config: &GitHttpServerBuilder,
    request: &Request,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut command = isolated_git();
    command
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", &config.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", &request.path)
        .env("QUERY_STRING", &request.query)
        .env("REQUEST_METHOD", &request.method)
        .env(
            "CONTENT_TYPE",
            request
                .headers
                .get("content-type")
                .map(String::as_str)
                .unwrap_or(""),
        )
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(protocol) = request.headers.get("git-protocol") {
        command.env("HTTP_GIT_PROTOCOL", protocol);
    }
    if let Some(encoding) = request.headers.get("content-encoding") {
        command.env("HTTP_CONTENT_ENCODING", encoding);
    }
    if let Some((user, _)) = &config.basic_auth {
        command.env("REMOTE_USER", user);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            return (
                500,
                Vec::new(),
                format!("spawn git http-backend: {err}").into_bytes(),
            );
        }
    };
    // Feed the body from another thread so a large response can never deadlock on pipes.
    let stdin = child.stdin.take();
    let body = request.body.clone();
    let feeder = std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            let _ = stdin.write_all(&body);
        }
    });
    let output = child.wait_with_output();
    let _ = feeder.join();
    match output {
        Ok(output) => parse_cgi(&output.stdout),
        Err(err) => (
            500,
            Vec::new(),
            format!("git http-backend: {err}").into_bytes(),
        ),
    }
}

/// Splits CGI output into status, headers and body.
fn parse_cgi(output: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let (head, body) = match find(output, b"\r\n\r\n") {
        Some(i) => (&output[..i], &output[i + 4..]),
        None => match find(output, b"\n\n") {
            Some(i) => (&output[..i], &output[i + 2..]),
            None => (&output[..0], output),
        },
    };
    let mut status = 200;
    let mut headers = Vec::new();
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("status") {
            status = value
                .split_whitespace()
                .next()
                .and_then(|c| c.parse().ok())
                .unwrap_or(500);
        } else {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    (status, headers, body.to_vec())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let bytes = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn reads_the_v2_command() {
        assert_eq!(
            git_command(b"0014command=ls-refs\n0000"),
            Some("ls-refs".to_string())
        );
        assert_eq!(
            git_command(b"0012command=fetch\n"),
            Some("fetch".to_string())
        );
        assert_eq!(git_command(b"0032want 0123"), None);
    }

    #[test]
    fn parses_cgi_output() {
        let (status, headers, body) =
            parse_cgi(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope");
        assert_eq!(status, 404);
        assert_eq!(
            headers,
            vec![("Content-Type".to_string(), "text/plain".to_string())]
        );
        assert_eq!(body, b"nope");
    }

    #[test]
    fn decodes_chunked_bodies() {
        let mut input = &b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n"[..];
        assert_eq!(read_chunked(&mut input).expect("decodes"), b"Wikipedia");
    }
}
