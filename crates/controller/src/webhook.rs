//! `POST /api/webhook`: a git server says a repository was pushed to, and the controller checks
//! that repository at once instead of at the next poll. The payloads of GitHub, GitLab, Gitea,
//! Gogs and Bitbucket are read for the repository's URLs; nothing in them is trusted beyond
//! "look at this repository now" (the check itself goes to git).

use crate::context::Context;
use serde_json::Value;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Every repository URL a push payload names (pure).
pub fn repository_urls(payload: &Value) -> Vec<String> {
    let pointers = [
        // GitHub, Gitea, Gogs
        "/repository/html_url",
        "/repository/clone_url",
        "/repository/ssh_url",
        "/repository/git_url",
        // GitLab
        "/project/web_url",
        "/project/git_http_url",
        "/project/git_ssh_url",
        "/repository/git_http_url",
        "/repository/git_ssh_url",
        // Bitbucket Cloud
        "/repository/links/html/href",
    ];
    let mut urls: Vec<String> = pointers
        .iter()
        .filter_map(|p| payload.pointer(p).and_then(Value::as_str))
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect();
    // Bitbucket Server lists its clone links.
    for link in payload
        .pointer("/repository/links/clone")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(href) = link["href"].as_str() {
            urls.push(href.to_string());
        }
    }
    urls.sort();
    urls.dedup();
    urls
}

/// Serves webhooks on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, ctx: Arc<Context>) -> &'static str {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let ctx = ctx.clone();
        tokio::spawn(async move {
            if let Err(error) = handle(stream, &ctx).await {
                tracing::debug!(%error, "webhook request failed");
            }
        });
    }
}

async fn handle(mut stream: TcpStream, ctx: &Context) -> std::io::Result<()> {
    let (head, mut body) = read_head(&mut stream).await?;
    let mut lines = head.lines();
    let request = lines.next().unwrap_or_default().to_string();
    let length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    let mut parts = request.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if method != "POST" || path.split('?').next() != Some("/api/webhook") {
        return respond(&mut stream, "404 Not Found", "{\"error\":\"not found\"}").await;
    }
    if length > MAX_BODY {
        return respond(
            &mut stream,
            "413 Payload Too Large",
            "{\"error\":\"payload too large\"}",
        )
        .await;
    }
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(64 * 1024)];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return respond(
            &mut stream,
            "400 Bad Request",
            "{\"error\":\"the payload is not JSON\"}",
        )
        .await;
    };
    let urls = repository_urls(&payload);
    let apps = ctx.git.check_urls(&urls).await;
    for app in &apps {
        ctx.reconcile(app);
    }
    tracing::info!(repositories = ?urls, apps = apps.len(), "webhook received");
    respond(
        &mut stream,
        "200 OK",
        &format!("{{\"refreshed\":{}}}", apps.len()),
    )
    .await
}

/// Reads up to the blank line; returns the head and whatever of the body came with it.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            return Ok((head, buffer[end + 4..].to_vec()));
        }
        if buffer.len() > MAX_HEAD {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/testdata/webhook/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn push_payloads_name_their_repository() {
        let cases = [
            (
                "github",
                vec![
                    "git@github.com:team/apps.git",
                    "https://github.com/team/apps",
                    "https://github.com/team/apps.git",
                ],
            ),
            (
                "gitlab",
                vec![
                    "git@gitlab.com:team/apps.git",
                    "https://gitlab.com/team/apps",
                    "https://gitlab.com/team/apps.git",
                ],
            ),
            ("bitbucket", vec!["https://bitbucket.org/team/apps"]),
        ];
        for (name, expected) in cases {
            assert_eq!(repository_urls(&fixture(name)), expected, "{name}");
        }
        assert!(repository_urls(&serde_json::json!({"zen": "ping"})).is_empty());
    }
}
