//! `service.webhook.<name>`: a generic HTTP request to `url`, with the template's
//! `webhook.<name>` giving the method (GET by default), a path appended to the URL and the
//! body (else the message is the body).

use super::{HttpRequest, join_url};
use crate::sensitive::Sensitive;
use crate::template::Notification;
use base64::Engine;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookOptions {
    /// May carry a token (a Jenkins job URL does): never printed.
    pub url: Sensitive,
    #[serde(default)]
    pub headers: Vec<Header>,
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: Sensitive,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BasicAuth {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: Sensitive,
}

/// The request for the webhook service named `service`.
pub fn request(
    options: &WebhookOptions,
    service: &str,
    notification: &Notification,
) -> HttpRequest {
    let mut method = "GET".to_string();
    let mut url = options.url.expose().to_string();
    let mut body = notification.message.clone();
    if let Some(webhook) = notification.webhook.get(service) {
        body = webhook.body.clone();
        if !webhook.method.is_empty() {
            method = webhook.method.to_uppercase();
        }
        url = join_url(&url, &webhook.path);
    }
    let mut request = HttpRequest::new(&method, url);
    for header in &options.headers {
        request = request.header(&header.name, header.value.expose());
    }
    if let Some(auth) = &options.basic_auth {
        let pair = format!("{}:{}", auth.username, auth.password.expose());
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        request = request.header("Authorization", format!("Basic {encoded}"));
    }
    request.body = body;
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::WebhookTemplate;
    use pretty_assertions::assert_eq;

    fn options(yaml: &str) -> WebhookOptions {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn the_template_gives_method_path_and_body() {
        let options = options(
            "url: https://hooks.example/base/\nheaders: [{name: X-Token, value: t0k}]\nbasicAuth: {username: u, password: p}\n",
        );
        let mut notification = Notification {
            message: "hello".into(),
            ..Default::default()
        };
        notification.webhook.insert(
            "jenkins".into(),
            WebhookTemplate {
                method: "post".into(),
                path: "/job/build".into(),
                body: "{\"app\": \"web\"}".into(),
            },
        );
        let request = request(&options, "jenkins", &notification);
        assert_eq!(request.method, "POST");
        assert_eq!(request.url.expose(), "https://hooks.example/base/job/build");
        assert_eq!(request.body, "{\"app\": \"web\"}");
        assert_eq!(request.header_value("x-token"), Some("t0k"));
        assert_eq!(request.header_value("Authorization"), Some("Basic dTpw"));
        // Debug names headers but shows no value.
        let shown = format!("{request:?}");
        assert!(
            !shown.contains("t0k") && !shown.contains("dTpw") && !shown.contains("hooks.example"),
            "{shown}"
        );
    }

    #[test]
    fn without_its_template_the_message_is_sent_with_get() {
        let options = options("url: https://hooks.example\n");
        let notification = Notification {
            message: "hello".into(),
            ..Default::default()
        };
        let request = request(&options, "other", &notification);
        assert_eq!(request.method, "GET");
        assert_eq!(request.url.expose(), "https://hooks.example");
        assert_eq!(request.body, "hello");
        assert!(request.headers.is_empty());
    }
}
