//! [`AppBackend`] through the API server: JSON over HTTP(S) with a bearer token, and the live
//! stream (server-sent events) for watching one app.

use super::{
    AppBackend, AppList, AppWatch, DeleteRequest, ListQuery, PreviewKind, Refresh, RollbackRequest,
    SyncRequest,
};
use crate::cli::app_source::CommandError;
use driftless_server::error::chain;
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use std::time::Duration;

/// Longest wait for one answer (the server answers within 60 s or gives up itself).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(70);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Where the API server is and how to talk to it.
#[derive(Debug, Clone, Default)]
pub struct HttpTarget {
    /// `host:port`, maybe with a path.
    pub address: String,
    pub plaintext: bool,
    pub insecure: bool,
    pub token: Option<String>,
    /// Only the Applications of this namespace (`app list`).
    pub app_namespace: Option<String>,
}

#[derive(Clone)]
pub struct HttpBackend {
    client: reqwest::Client,
    base: Url,
    token: Option<String>,
    app_namespace: Option<String>,
}

impl HttpBackend {
    pub fn new(target: HttpTarget) -> Result<Self, CommandError> {
        let scheme = if target.plaintext { "http" } else { "https" };
        let text = format!("{scheme}://{}/", target.address.trim_end_matches('/'));
        let base = Url::parse(&text).map_err(|e| {
            CommandError::Usage(format!("failed to read the server address {text:?}: {e}"))
        })?;
        // reqwest is built without a crypto provider of its own; kube already brings ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .danger_accept_invalid_certs(target.insecure)
            .user_agent(concat!("driftless/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                CommandError::Failed(format!("failed to set up the HTTP client: {}", chain(&e)))
            })?;
        Ok(Self {
            client,
            base,
            token: target.token,
            app_namespace: target.app_namespace,
        })
    }

    /// `https://host:port`, as shown to the user.
    pub fn server(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    fn url(&self, segments: &[&str]) -> Result<Url, CommandError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| CommandError::Usage(format!("{} cannot hold a path", self.base)))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        let request = self.client.request(method, url);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends `request`; the JSON answer, or the error the status means.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<Value, CommandError> {
        let response = request
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| self.transport_error(what, &e))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| self.transport_error(what, &e))?;
        if !status.is_success() {
            return Err(self.status_error(what, status, &text));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| {
            CommandError::Failed(format!(
                "failed to {what}: the server answered something that is not JSON: {e}"
            ))
        })
    }

    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<Value>,
        what: &str,
    ) -> Result<Value, CommandError> {
        let mut request = self.request(method, self.url(segments)?).query(query);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request, what).await
    }

    fn transport_error(&self, what: &str, error: &reqwest::Error) -> CommandError {
        let message = format!("failed to {what}: {}", chain(error));
        if error.is_timeout() {
            CommandError::Timeout(message)
        } else if error.is_connect() || error.is_request() {
            CommandError::Unreachable(format!("{message} (server {})", self.server()))
        } else {
            CommandError::Failed(message)
        }
    }

    fn status_error(&self, what: &str, status: StatusCode, body: &str) -> CommandError {
        status_error(what, status, body, &self.server())
    }

    /// Logs in with a password; the session token.
    pub async fn login(&self, username: &str, password: &str) -> Result<String, CommandError> {
        let body = json!({"username": username, "password": password});
        let answer = self
            .call(
                Method::POST,
                &["api", "v1", "session"],
                &[],
                Some(body),
                "log in",
            )
            .await?;
        answer["token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(String::from)
            .ok_or_else(|| {
                CommandError::Failed("failed to log in: the server answered no token".into())
            })
    }

    /// What a client needs before logging in (`{url, oidcConfig}`); asked without a token.
    pub async fn settings(&self) -> Result<Value, CommandError> {
        let request = self.client.get(self.url(&["api", "v1", "settings"])?);
        self.send(request, "read the server's settings").await
    }

    /// Who the token is for (`{loggedIn, username, groups, iss}`).
    pub async fn userinfo(&self) -> Result<Value, CommandError> {
        self.call(
            Method::GET,
            &["api", "v1", "session", "userinfo"],
            &[],
            None,
            "read who is logged in",
        )
        .await
    }

    /// Ends the session of the token (the server refuses it from now on).
    pub async fn logout(&self) -> Result<(), CommandError> {
        self.call(
            Method::DELETE,
            &["api", "v1", "session"],
            &[],
            None,
            "log out",
        )
        .await
        .map(|_| ())
    }

    /// The live stream of one app's changes, opened (its answer's headers read).
    pub async fn open_stream(&self, name: &str) -> Result<reqwest::Response, CommandError> {
        let what = format!("watch application {name}");
        let url = self.url(&["api", "v1", "stream", "applications"])?;
        let response = self
            .request(Method::GET, url)
            .query(&[("name", name)])
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| self.transport_error(&what, &e))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(self.status_error(&what, status, &text));
        }
        Ok(response)
    }
}

/// The error an HTTP status means, with the server's message.
pub fn status_error(what: &str, status: StatusCode, body: &str, server: &str) -> CommandError {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = parsed["message"]
        .as_str()
        .or_else(|| parsed["error"].as_str())
        .map(String::from)
        .unwrap_or_else(|| match body.trim() {
            "" => status
                .canonical_reason()
                .unwrap_or("no reason given")
                .to_string(),
            text => text.chars().take(300).collect(),
        });
    match status {
        StatusCode::UNAUTHORIZED => CommandError::Denied(format!(
            "failed to {what}: not authenticated ({message}); log in with `driftless login {server}`"
        )),
        StatusCode::FORBIDDEN => CommandError::Denied(format!("failed to {what}: {message}")),
        StatusCode::NOT_FOUND => CommandError::NotFound(format!("failed to {what}: {message}")),
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
            CommandError::Usage(format!("failed to {what}: {message}"))
        }
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => {
            CommandError::Timeout(format!("failed to {what}: {message}"))
        }
        _ => CommandError::Failed(format!(
            "failed to {what}: {message} (HTTP {})",
            status.as_u16()
        )),
    }
}

fn items(answer: &Value) -> Vec<Value> {
    answer["items"].as_array().cloned().unwrap_or_default()
}

impl AppBackend for HttpBackend {
    async fn list_apps(&self, query: &ListQuery) -> Result<AppList, CommandError> {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !query.projects.is_empty() {
            pairs.push(("projects", query.projects.join(",")));
        }
        let app_namespace = query
            .app_namespace
            .clone()
            .or_else(|| self.app_namespace.clone());
        for (key, value) in [
            ("selector", &query.selector),
            ("sync", &query.sync),
            ("health", &query.health),
            ("repo", &query.repo),
            ("namespace", &query.namespace),
            ("appNamespace", &app_namespace),
            ("search", &query.search),
            ("continue", &query.continue_after),
        ] {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        }
        if let Some(limit) = query.limit {
            pairs.push(("limit", limit.to_string()));
        }
        let answer = self
            .call(
                Method::GET,
                &["api", "v1", "applications"],
                &pairs,
                None,
                "list applications",
            )
            .await?;
        Ok(AppList {
            items: items(&answer),
            continue_after: answer["metadata"]["continue"]
                .as_str()
                .map(String::from)
                .filter(|c| !c.is_empty()),
            remaining: answer["metadata"]["remainingItemCount"].as_u64(),
        })
    }

    async fn get_app(&self, name: &str) -> Result<Value, CommandError> {
        let what = format!("get application {name}");
        self.call(
            Method::GET,
            &["api", "v1", "applications", name],
            &[],
            None,
            &what,
        )
        .await
    }

    async fn refresh_app(&self, name: &str, refresh: Refresh) -> Result<Value, CommandError> {
        let what = format!("refresh application {name}");
        let query = [("refresh", refresh.as_str().to_string())];
        self.call(
            Method::GET,
            &["api", "v1", "applications", name],
            &query,
            None,
            &what,
        )
        .await
    }

    async fn sync_app(&self, name: &str, request: &SyncRequest) -> Result<Value, CommandError> {
        let body = json!(request);
        let what = format!("sync application {name}");
        self.call(
            Method::POST,
            &["api", "v1", "applications", name, "sync"],
            &[],
            Some(body),
            &what,
        )
        .await
    }

    async fn rollback_app(
        &self,
        name: &str,
        request: RollbackRequest,
    ) -> Result<Value, CommandError> {
        let body = json!({"id": request.id, "prune": request.prune, "dryRun": request.dry_run});
        let what = format!("roll back application {name}");
        self.call(
            Method::POST,
            &["api", "v1", "applications", name, "rollback"],
            &[],
            Some(body),
            &what,
        )
        .await
    }

    async fn delete_app(&self, name: &str, request: &DeleteRequest) -> Result<(), CommandError> {
        let mut query = vec![("cascade", request.cascade.to_string())];
        if let Some(policy) = &request.propagation_policy {
            query.push(("propagationPolicy", policy.clone()));
        }
        let what = format!("delete application {name}");
        self.call(
            Method::DELETE,
            &["api", "v1", "applications", name],
            &query,
            None,
            &what,
        )
        .await
        .map(|_| ())
    }

    async fn terminate_operation(&self, name: &str) -> Result<(), CommandError> {
        let what = format!("terminate the operation of {name}");
        self.call(
            Method::DELETE,
            &["api", "v1", "applications", name, "operation"],
            &[],
            None,
            &what,
        )
        .await
        .map(|_| ())
    }

    async fn app_events(&self, name: &str) -> Result<Vec<Value>, CommandError> {
        let what = format!("list the events of {name}");
        let answer = self
            .call(
                Method::GET,
                &["api", "v1", "applications", name, "events"],
                &[],
                None,
                &what,
            )
            .await?;
        Ok(items(&answer))
    }

    async fn generate_appset(&self, appset: &Value) -> Result<Value, CommandError> {
        let name = appset["metadata"]["name"].as_str().unwrap_or_default();
        self.call(
            Method::POST,
            &["api", "v1", "applicationsets", "generate"],
            &[],
            Some(json!({"applicationSet": appset})),
            &format!("generate the applications of applicationset {name}"),
        )
        .await
    }

    async fn app_preview(
        &self,
        name: &str,
        kind: PreviewKind,
        revision: Option<&str>,
    ) -> Result<Value, CommandError> {
        let what = format!("render application {name}");
        let query: Vec<(&str, String)> = revision
            .map(|r| ("revision", r.to_string()))
            .into_iter()
            .collect();
        self.call(
            Method::GET,
            &["api", "v1", "applications", name, kind.path()],
            &query,
            None,
            &what,
        )
        .await
    }

    async fn app_resources(&self, name: &str) -> Result<Vec<Value>, CommandError> {
        let what = format!("list the resources of {name}");
        let answer = self
            .call(
                Method::GET,
                &["api", "v1", "applications", name, "resource-tree"],
                &[],
                None,
                &what,
            )
            .await?;
        Ok(answer["nodes"].as_array().cloned().unwrap_or_default())
    }

    async fn watch_app(&self, name: &str) -> Result<AppWatch, CommandError> {
        // Opened before the first read, so no change after that read is missed; a server
        // without the stream (or one that drops it) is read every few seconds instead.
        let body = match self.open_stream(name).await {
            Ok(response) => Some(response),
            Err(error @ (CommandError::Denied(_) | CommandError::Unreachable(_))) => {
                return Err(error);
            }
            Err(_) => None,
        };
        let first = self.get_app(name).await?;
        Ok(super::http_watch::watch(self.clone(), name, body, first))
    }

    async fn list_projects(&self) -> Result<Vec<Value>, CommandError> {
        let answer = self
            .call(
                Method::GET,
                &["api", "v1", "projects"],
                &[],
                None,
                "list projects",
            )
            .await?;
        Ok(items(&answer))
    }

    async fn get_project(&self, name: &str) -> Result<Value, CommandError> {
        let what = format!("get project {name}");
        self.call(
            Method::GET,
            &["api", "v1", "projects", name],
            &[],
            None,
            &what,
        )
        .await
    }

    async fn list_appsets(&self) -> Result<Vec<Value>, CommandError> {
        let answer = self
            .call(
                Method::GET,
                &["api", "v1", "applicationsets"],
                &[],
                None,
                "list applicationsets",
            )
            .await?;
        Ok(items(&answer))
    }

    async fn get_appset(&self, name: &str) -> Result<Value, CommandError> {
        let what = format!("get applicationset {name}");
        self.call(
            Method::GET,
            &["api", "v1", "applicationsets", name],
            &[],
            None,
            &what,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_exit_codes_with_the_servers_message() {
        let body =
            r#"{"error":"x","message":"permission denied: applications, get, p/a","code":403}"#;
        let denied = status_error("get application a", StatusCode::FORBIDDEN, body, "h:1");
        assert_eq!(denied.exit_code(), 4);
        assert_eq!(
            denied.to_string(),
            "failed to get application a: permission denied: applications, get, p/a"
        );
        let login = status_error("list applications", StatusCode::UNAUTHORIZED, "", "h:1");
        assert!(login.to_string().contains("driftless login h:1"), "{login}");
        assert_eq!(
            status_error("a", StatusCode::NOT_FOUND, "{}", "h").exit_code(),
            5
        );
        assert_eq!(
            status_error("a", StatusCode::BAD_REQUEST, "bad", "h").exit_code(),
            2
        );
        assert_eq!(
            status_error("a", StatusCode::CONFLICT, "busy", "h").exit_code(),
            1
        );
    }
}
