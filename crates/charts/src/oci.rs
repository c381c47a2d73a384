//! Helm charts in OCI registries (the distribution API): tags listed for constraints, the
//! manifest of a tag read for its chart layer and digest, the layer downloaded as the chart
//! archive. Registry auth: basic, or a bearer token from the realm a 401 names, with the
//! repository's credentials.

use crate::credentials::HelmCredentials;
use crate::http::{self, Fetched, HttpError};
use driftless_source::redact_url;
use reqwest::blocking::Client;
use reqwest::header::{ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use serde::Deserialize;

pub const HELM_CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
const MANIFEST_TYPES: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("failed to read OCI reference {0:?}: expected [oci://]host[:port]/repository")]
    BadReference(String),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("failed to read {what} from {url}: {message}")]
    BadResponse {
        what: &'static str,
        url: String,
        message: String,
    },
    #[error("failed to find a Helm chart layer in the manifest of {reference}")]
    NoChartLayer { reference: String },
}

/// `host[:port]` and the repository path of a chart in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRepository {
    pub host: String,
    pub path: String,
}

impl OciRepository {
    /// The chart `chart` under `repo_url` (`oci://host/charts` or Argo CD's `host/charts`).
    pub fn of_chart(repo_url: &str, chart: &str) -> Result<Self, OciError> {
        let bare = repo_url
            .trim()
            .trim_start_matches("oci://")
            .trim_end_matches('/');
        let (host, path) = bare.split_once('/').map_or((bare, ""), |(h, p)| (h, p));
        if host.is_empty() || host.contains(['@', ' ']) {
            return Err(OciError::BadReference(repo_url.to_string()));
        }
        let path = [path, chart]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("/");
        if path.is_empty() {
            return Err(OciError::BadReference(repo_url.to_string()));
        }
        Ok(Self {
            host: host.to_string(),
            path,
        })
    }

    fn base(&self, plain_http: bool) -> String {
        let scheme = if plain_http { "http" } else { "https" };
        format!("{scheme}://{}/v2/{}", self.host, self.path)
    }

    pub fn describe(&self) -> String {
        format!("oci://{}/{}", self.host, self.path)
    }
}

/// The chart layer of one tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciChart {
    pub tag: String,
    /// The layer digest, hex SHA-256.
    pub layer_digest: String,
}

pub struct OciClient<'a> {
    client: Client,
    repository: &'a OciRepository,
    credentials: &'a HelmCredentials,
    plain_http: bool,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    layers: Vec<Layer>,
}

#[derive(Deserialize)]
struct Layer {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

/// One layer of an artifact of plain files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactLayer {
    pub media_type: String,
    /// Hex SHA-256.
    pub digest: String,
    /// `org.opencontainers.image.title`: the file or directory name the layer holds.
    pub title: Option<String>,
}

/// The manifest of a tag or digest: its own digest and its layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciArtifact {
    /// Hex SHA-256 of the manifest.
    pub manifest_digest: String,
    pub layers: Vec<ArtifactLayer>,
}

#[derive(Deserialize)]
struct Token {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

impl<'a> OciClient<'a> {
    pub fn new(
        repository: &'a OciRepository,
        credentials: &'a HelmCredentials,
    ) -> Result<Self, OciError> {
        let plain_http = credentials.oci_force_http;
        let client = http::client(&repository.base(plain_http), credentials)?;
        Ok(Self {
            client,
            repository,
            credentials,
            plain_http,
        })
    }

    /// Every tag of the repository (following `Link` pages).
    pub fn tags(&self) -> Result<Vec<String>, OciError> {
        let mut url = format!("{}/tags/list?n=1000", self.repository.base(self.plain_http));
        let mut tags = Vec::new();
        for _page in 0..100 {
            let (bytes, headers) = self.get(&url, None)?;
            let list: TagList =
                serde_json::from_slice(&bytes).map_err(|e| self.bad("tags", &url, e))?;
            tags.extend(list.tags.unwrap_or_default());
            let next = headers
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            match next {
                Some(path) if path.starts_with('/') => {
                    let scheme = if self.plain_http { "http" } else { "https" };
                    url = format!("{scheme}://{}{path}", self.repository.host);
                }
                Some(absolute) => url = absolute,
                None => break,
            }
        }
        Ok(tags)
    }

    /// The chart layer of `tag`.
    pub fn chart(&self, tag: &str) -> Result<OciChart, OciError> {
        let url = format!("{}/manifests/{tag}", self.repository.base(self.plain_http));
        let (bytes, _) = self.get(&url, Some(MANIFEST_TYPES))?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| self.bad("the manifest", &url, e))?;
        let layer = manifest
            .layers
            .into_iter()
            .find(|l| l.media_type == HELM_CHART_LAYER)
            .ok_or_else(|| OciError::NoChartLayer {
                reference: format!("{}:{tag}", self.repository.describe()),
            })?;
        let layer_digest = layer
            .digest
            .strip_prefix("sha256:")
            .ok_or_else(|| self.bad("the layer digest", &url, "not a sha256 digest"))?
            .to_string();
        Ok(OciChart {
            tag: tag.to_string(),
            layer_digest,
        })
    }

    /// The manifest `reference` (a tag or `sha256:…`) names, with its layers.
    pub fn artifact(&self, reference: &str) -> Result<OciArtifact, OciError> {
        let url = format!(
            "{}/manifests/{reference}",
            self.repository.base(self.plain_http)
        );
        let (bytes, _) = self.get(&url, Some(MANIFEST_TYPES))?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| self.bad("the manifest", &url, e))?;
        let layers = manifest
            .layers
            .into_iter()
            .map(|l| {
                let digest = l.digest.strip_prefix("sha256:").map(str::to_string);
                digest
                    .map(|digest| ArtifactLayer {
                        media_type: l.media_type,
                        digest,
                        title: l.annotations.get("org.opencontainers.image.title").cloned(),
                    })
                    .ok_or_else(|| self.bad("a layer digest", &url, "not a sha256 digest"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OciArtifact {
            manifest_digest: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
            layers,
        })
    }

    /// A blob by its hex SHA-256.
    pub fn blob(&self, digest: &str) -> Result<Vec<u8>, OciError> {
        let url = format!(
            "{}/blobs/sha256:{digest}",
            self.repository.base(self.plain_http)
        );
        Ok(self.get(&url, None)?.0)
    }

    /// The chart archive (the layer blob).
    pub fn download(&self, chart: &OciChart) -> Result<Vec<u8>, OciError> {
        let url = format!(
            "{}/blobs/sha256:{}",
            self.repository.base(self.plain_http),
            chart.layer_digest
        );
        Ok(self.get(&url, None)?.0)
    }

    /// GET, with basic auth if configured; on a 401 that asks for a bearer token, fetch one
    /// from its realm (with the same credentials) and retry.
    fn get(
        &self,
        url: &str,
        accept: Option<&str>,
    ) -> Result<(Vec<u8>, reqwest::header::HeaderMap), OciError> {
        let request = |bearer: Option<&str>| {
            let mut r = self.client.get(url);
            if let Some(accept) = accept {
                r = r.header(ACCEPT, accept);
            }
            if let Some(token) = bearer {
                r = r.header(AUTHORIZATION, format!("Bearer {token}"));
            }
            r
        };
        let mut first = request(None);
        if let Some((user, password)) = self.credentials.basic_auth() {
            first = first.basic_auth(user, Some(password));
        }
        let response = first.send().map_err(|e| http::unreachable(url, &e))?;
        let challenge = (response.status() == reqwest::StatusCode::UNAUTHORIZED)
            .then(|| response.headers().get(WWW_AUTHENTICATE))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_challenge);
        let fetched = match challenge {
            Some((realm, params)) => {
                let token = self.token(&realm, &params)?;
                http::send(request(Some(&token)), url, None, None)?
            }
            None => http::read_response(response, url)?,
        };
        match fetched {
            Fetched::Body { bytes, headers, .. } => Ok((bytes, headers)),
            Fetched::NotModified => Err(OciError::BadResponse {
                what: "a response",
                url: redact_url(url),
                message: "unexpected 304".into(),
            }),
        }
    }

    fn token(&self, realm: &str, params: &[(String, String)]) -> Result<String, OciError> {
        let url = reqwest::Url::parse_with_params(realm, params)
            .map_err(|e| self.bad("a token", realm, e))?;
        let request = self.client.get(url);
        let bytes = match http::send(request, realm, Some(self.credentials), None)? {
            Fetched::Body { bytes, .. } => bytes,
            Fetched::NotModified => Vec::new(),
        };
        let token: Token =
            serde_json::from_slice(&bytes).map_err(|e| self.bad("a token", realm, e))?;
        token
            .token
            .or(token.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.bad("a token", realm, "the answer holds none"))
    }

    fn bad(&self, what: &'static str, url: &str, message: impl std::fmt::Display) -> OciError {
        OciError::BadResponse {
            what,
            url: redact_url(url),
            message: message.to_string(),
        }
    }
}

/// The realm and parameters of a `Bearer realm="…",service="…",scope="…"` challenge.
fn bearer_challenge(header: &str) -> Option<(String, Vec<(String, String)>)> {
    let rest = header.trim().strip_prefix("Bearer ")?;
    let mut realm = None;
    let mut params = Vec::new();
    for part in split_params(rest) {
        let (key, value) = part.split_once('=')?;
        let value = value.trim().trim_matches('"').to_string();
        match key.trim() {
            "realm" => realm = Some(value),
            other => params.push((other.to_string(), value)),
        }
    }
    Some((realm?, params))
}

/// Splits on commas outside quotes (scopes hold commas: `repository:a/b:pull,push`).
fn split_params(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts
}

/// The target of a `Link: <…>; rel="next"` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|link| {
        let (target, rel) = link.split_once(';')?;
        rel.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

/// Helm stores `+` of a version as `_` in a tag (tags may not hold `+`).
pub fn tag_to_version(tag: &str) -> String {
    tag.replace('_', "+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_take_both_argo_cd_forms() {
        let expected = OciRepository {
            host: "registry.example.com:5000".into(),
            path: "charts/web".into(),
        };
        assert_eq!(
            OciRepository::of_chart("oci://registry.example.com:5000/charts", "web").expect("ok"),
            expected
        );
        assert_eq!(
            OciRepository::of_chart("registry.example.com:5000/charts/", "web").expect("ok"),
            expected
        );
        assert!(OciRepository::of_chart("oci://", "").is_err());
    }

    #[test]
    fn bearer_challenges_and_links_are_read() {
        let (realm, params) = bearer_challenge(
            r#"Bearer realm="https://auth.example.com/token",service="registry",scope="repository:charts/web:pull,push""#,
        )
        .expect("a bearer challenge");
        assert_eq!(realm, "https://auth.example.com/token");
        assert_eq!(
            params,
            vec![
                ("service".to_string(), "registry".to_string()),
                (
                    "scope".to_string(),
                    "repository:charts/web:pull,push".to_string()
                )
            ]
        );
        assert_eq!(bearer_challenge(r#"Basic realm="x""#), None);
        assert_eq!(
            next_link(r#"</v2/charts/web/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/charts/web/tags/list?n=2&last=b")
        );
        assert_eq!(tag_to_version("1.0.0_build.1"), "1.0.0+build.1");
    }
}
