//! `service.github`: commit statuses as a GitHub App. The app's private key signs a JWT
//! (RS256, issuer the app ID); `POST {base}/app/installations/{id}/access_tokens` trades it
//! for an installation token, and `POST {base}/repos/{owner}/{repo}/statuses/{sha}` sets the
//! status with it. `{base}` is `enterpriseBaseURL` as given (with `/api/v3` for GitHub
//! Enterprise, as Argo CD asks) or `https://api.github.com`.

use super::{BuildError, HttpRequest, HttpResponse, Lenient};
use crate::sensitive::Sensitive;
use crate::template::Notification;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

const GITHUB_API: &str = "https://api.github.com";
/// GitHub keeps at most this much of a status description.
const DESCRIPTION_MAX: usize = 140;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitHubOptions {
    #[serde(rename = "appID")]
    pub app_id: Lenient<u64>,
    #[serde(rename = "installationID")]
    pub installation_id: Lenient<u64>,
    pub private_key: Sensitive,
    #[serde(default, rename = "enterpriseBaseURL")]
    pub enterprise_base_url: String,
}

impl GitHubOptions {
    fn base(&self) -> &str {
        if self.enterprise_base_url.is_empty() {
            GITHUB_API
        } else {
            self.enterprise_base_url.trim_end_matches('/')
        }
    }
}

/// The claims of the app's JWT, as GitHub asks: issued a minute back (clock drift), valid
/// for nine minutes (ten at most).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppClaims {
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

pub fn claims(options: &GitHubOptions, now_unix: i64) -> AppClaims {
    AppClaims {
        iat: now_unix - 60,
        exp: now_unix + 540,
        iss: options.app_id.0.to_string(),
    }
}

/// The app's JWT, signed with its private key.
pub fn app_jwt(options: &GitHubOptions, now_unix: i64) -> Result<Sensitive, BuildError> {
    let key = EncodingKey::from_rsa_pem(options.private_key.expose().as_bytes()).map_err(|e| {
        BuildError::new(
            "github",
            format!("privateKey is not an RSA key in PEM: {e}"),
        )
    })?;
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims(options, now_unix),
        &key,
    )
    .map(Sensitive::new)
    .map_err(|e| BuildError::new("github", format!("failed to sign the app's JWT: {e}")))
}

fn api_request(method: &str, url: String, authorization: String) -> HttpRequest {
    HttpRequest::new(method, url)
        .header("Authorization", authorization)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28")
        .header(
            "User-Agent",
            concat!("driftless/", env!("CARGO_PKG_VERSION")),
        )
}

/// Trades the app's JWT for an installation token.
pub fn token_request(options: &GitHubOptions, jwt: &Sensitive) -> HttpRequest {
    let url = format!(
        "{}/app/installations/{}/access_tokens",
        options.base(),
        options.installation_id.0
    );
    api_request("POST", url, format!("Bearer {}", jwt.expose()))
}

/// The installation token from GitHub's answer to [`token_request`].
pub fn read_token(response: &HttpResponse) -> Result<Sensitive, BuildError> {
    let answer: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
    answer
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(Sensitive::new)
        .ok_or_else(|| BuildError::new("github", "the access token answer has no token"))
}

/// The commit status request, None when the template has no `github.status`.
pub fn status_request(
    options: &GitHubOptions,
    token: &Sensitive,
    notification: &Notification,
) -> Result<Option<HttpRequest>, BuildError> {
    let github = notification
        .github
        .as_ref()
        .ok_or_else(|| BuildError::new("github", "the template has no github section"))?;
    let Some(status) = &github.status else {
        return Ok(None);
    };
    let (owner, repo) = full_name(&github.repo_url).ok_or_else(|| {
        BuildError::new(
            "github",
            format!("repository URL {:?} has no owner/repo", github.repo_url),
        )
    })?;
    if github.revision.is_empty() {
        return Err(BuildError::new("github", "the revision is empty"));
    }
    let url = format!(
        "{}/repos/{owner}/{repo}/statuses/{}",
        options.base(),
        github.revision
    );
    let mut body = Map::new();
    body.insert("state".into(), json!(status.state));
    body.insert(
        "description".into(),
        json!(truncate(&notification.message, DESCRIPTION_MAX)),
    );
    if !status.label.is_empty() {
        body.insert("context".into(), json!(status.label));
    }
    if !status.target_url.is_empty() {
        body.insert("target_url".into(), json!(status.target_url));
    }
    Ok(Some(
        api_request("POST", url, format!("token {}", token.expose())).json(&Value::Object(body)),
    ))
}

/// At most `max` characters, the last three `...` when cut (as Argo CD cuts).
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max - 3).collect();
    format!("{kept}...")
}

/// `owner` and `repo` of a git URL (`https://host/owner/repo.git`, `git@host:owner/repo`,
/// `ssh://git@host/owner/repo`).
pub fn full_name(url: &str) -> Option<(String, String)> {
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map(|(_, path)| path)?,
        None => url.split_once(':').map(|(_, path)| path)?,
    };
    let path = rest.split(['?', '#']).next().unwrap_or_default();
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let owner = parts.next()?.to_string();
    let repo = parts.next()?;
    let repo = repo.strip_suffix(".git").unwrap_or(repo).to_string();
    (!repo.is_empty()).then_some((owner, repo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{GitHubNotification, GitHubStatusTemplate};
    use pretty_assertions::assert_eq;

    #[test]
    fn repository_full_names() {
        let name = |u: &str| full_name(u).map(|(o, r)| format!("{o}/{r}"));
        assert_eq!(
            name("https://github.com/acme/shop.git").as_deref(),
            Some("acme/shop")
        );
        assert_eq!(
            name("https://github.com/acme/shop/tree/x").as_deref(),
            Some("acme/shop")
        );
        assert_eq!(
            name("git@github.com:acme/shop.git").as_deref(),
            Some("acme/shop")
        );
        assert_eq!(
            name("ssh://git@github.com/acme/shop").as_deref(),
            Some("acme/shop")
        );
        assert_eq!(name("https://github.com/acme"), None);
    }

    fn options() -> GitHubOptions {
        serde_norway::from_str(
            "appID: \"12\"\ninstallationID: 34\nprivateKey: key\nenterpriseBaseURL: http://127.0.0.1:9/api/v3/\n",
        )
        .unwrap()
    }

    #[test]
    fn the_token_and_status_requests() {
        let options = options();
        assert_eq!(
            claims(&options, 1000),
            AppClaims {
                iat: 940,
                exp: 1540,
                iss: "12".into()
            }
        );
        let token = token_request(&options, &Sensitive::new("j.w.t"));
        assert_eq!(
            token.url.expose(),
            "http://127.0.0.1:9/api/v3/app/installations/34/access_tokens"
        );
        assert_eq!(token.header_value("authorization"), Some("Bearer j.w.t"));
        let issued = read_token(&HttpResponse {
            status: 201,
            body: "{\"token\": \"ghs_1\", \"expires_at\": \"2030-01-01T00:00:00Z\"}".into(),
        })
        .unwrap();
        let notification = Notification {
            message: "x".repeat(200),
            github: Some(GitHubNotification {
                repo_url: "https://github.com/acme/shop.git".into(),
                revision: "abc123".into(),
                status: Some(GitHubStatusTemplate {
                    state: "success".into(),
                    label: "continuous-delivery/web".into(),
                    target_url: "https://cd/applications/web".into(),
                }),
            }),
            ..Default::default()
        };
        let status = status_request(&options, &issued, &notification)
            .unwrap()
            .unwrap();
        assert_eq!(
            status.url.expose(),
            "http://127.0.0.1:9/api/v3/repos/acme/shop/statuses/abc123"
        );
        assert_eq!(status.header_value("authorization"), Some("token ghs_1"));
        let body: Value = serde_json::from_str(&status.body).unwrap();
        assert_eq!(body["state"], "success");
        assert_eq!(body["context"], "continuous-delivery/web");
        assert_eq!(body["target_url"], "https://cd/applications/web");
        assert_eq!(body["description"].as_str().unwrap().chars().count(), 140);
        assert!(!format!("{options:?}{issued:?}{status:?}").contains("ghs_1"));
    }

    #[test]
    fn a_key_that_is_not_pem_is_an_error_without_the_key() {
        let error = app_jwt(&options(), 0).unwrap_err();
        assert!(
            error.to_string().contains("privateKey is not an RSA key"),
            "{error}"
        );
        assert!(!error.to_string().contains(": key"));
    }

    #[test]
    fn the_jwt_is_rs256_signed_by_the_key() {
        let dir = std::env::temp_dir().join(format!("driftless-notify-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.pem");
        let made = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&path)
            .output()
            .expect("openssl makes the test's key");
        assert!(made.status.success());
        let public = std::process::Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&path)
            .output()
            .unwrap();
        let mut options = options();
        options.private_key = Sensitive::new(std::fs::read_to_string(&path).unwrap());
        let jwt = app_jwt(&options, 1_700_000_000).unwrap();
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(&public.stdout).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let decoded = jsonwebtoken::decode::<AppClaims>(jwt.expose(), &key, &validation).unwrap();
        assert_eq!(decoded.claims.iss, "12");
        let _ = std::fs::remove_dir_all(dir);
    }
}
