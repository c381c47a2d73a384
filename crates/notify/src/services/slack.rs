//! `service.slack[.<name>]`: with a `token`, Slack's Web API `chat.postMessage` (at `apiURL`,
//! by default Slack's) as JSON with the recipient as the channel; without a token, a
//! Slack-compatible incoming webhook: the same payload POSTed to `webhookURL` (or `apiURL`).

use super::{BuildError, HttpRequest, HttpResponse};
use crate::sensitive::Sensitive;
use crate::template::Notification;
use serde::Deserialize;
use serde_json::{Map, Value, json};

const SLACK_API: &str = "https://slack.com/api/";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlackOptions {
    #[serde(default)]
    pub token: Sensitive,
    /// An incoming webhook's URL is its credential: never printed.
    #[serde(default, rename = "apiURL")]
    pub api_url: Sensitive,
    #[serde(default, rename = "webhookURL")]
    pub webhook_url: Sensitive,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub icon: String,
    #[serde(default)]
    pub disable_unfurl: bool,
}

/// The request posting `notification` to `recipient` (a channel).
pub fn request(
    options: &SlackOptions,
    notification: &Notification,
    recipient: &str,
) -> Result<HttpRequest, BuildError> {
    let payload = payload(options, notification, recipient)?;
    if options.token.is_empty() {
        let url = [&options.webhook_url, &options.api_url]
            .into_iter()
            .find(|u| !u.is_empty())
            .ok_or_else(|| {
                BuildError::new("slack", "neither a token nor webhookURL/apiURL is set")
            })?;
        return Ok(HttpRequest::new("POST", url.expose()).json(&payload));
    }
    let base = if options.api_url.is_empty() {
        SLACK_API
    } else {
        options.api_url.expose()
    };
    let url = format!("{}/chat.postMessage", base.trim_end_matches('/'));
    Ok(HttpRequest::new("POST", url)
        .header(
            "Authorization",
            format!("Bearer {}", options.token.expose()),
        )
        .json(&payload))
}

fn payload(
    options: &SlackOptions,
    notification: &Notification,
    recipient: &str,
) -> Result<Value, BuildError> {
    let mut payload = Map::new();
    if !recipient.is_empty() {
        payload.insert("channel".into(), json!(recipient));
    }
    payload.insert("text".into(), json!(notification.message));
    let slack = notification.slack.clone().unwrap_or_default();
    for (field, text) in [
        ("attachments", &slack.attachments),
        ("blocks", &slack.blocks),
    ] {
        if text.trim().is_empty() {
            continue;
        }
        let parsed: Value = serde_json::from_str(text).map_err(|e| {
            BuildError::new("slack", format!("the template's {field} is not JSON: {e}"))
        })?;
        payload.insert(field.into(), parsed);
    }
    let username = Some(&slack.username)
        .filter(|u| !u.is_empty())
        .unwrap_or(&options.username);
    if !username.is_empty() {
        payload.insert("username".into(), json!(username));
    }
    let icon = Some(&slack.icon)
        .filter(|i| !i.is_empty())
        .unwrap_or(&options.icon);
    if icon.len() > 2 && icon.starts_with(':') && icon.ends_with(':') {
        payload.insert("icon_emoji".into(), json!(icon));
    } else if icon.starts_with("http://") || icon.starts_with("https://") {
        payload.insert("icon_url".into(), json!(icon));
    }
    if options.disable_unfurl {
        payload.insert("unfurl_links".into(), json!(false));
        payload.insert("unfurl_media".into(), json!(false));
    }
    Ok(Value::Object(payload))
}

/// Slack's Web API answers 200 with `"ok": false` when it refuses a message; the error code
/// it gives (`channel_not_found` …), if so.
pub fn refusal(options: &SlackOptions, response: &HttpResponse) -> Option<String> {
    if options.token.is_empty() {
        return None;
    }
    let answer: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
    match answer.get("ok") {
        Some(Value::Bool(true)) => None,
        _ => Some(
            answer
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("an answer that is not {\"ok\": true}")
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::SlackTemplate;
    use pretty_assertions::assert_eq;

    fn notification() -> Notification {
        Notification {
            message: "synced".into(),
            slack: Some(SlackTemplate {
                attachments: "[{\"title\": \"web\", \"color\": \"#18be52\"}]".into(),
                blocks: String::new(),
                username: String::new(),
                icon: ":rocket:".into(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn with_a_token_it_posts_chat_post_message_as_json() {
        let options: SlackOptions = serde_norway::from_str(
            "token: xoxb-1\napiURL: http://127.0.0.1:9/api/\nusername: cd\n",
        )
        .unwrap();
        let request = request(&options, &notification(), "deploys").unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.url.expose(),
            "http://127.0.0.1:9/api/chat.postMessage"
        );
        assert_eq!(request.header_value("authorization"), Some("Bearer xoxb-1"));
        let body: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(
            body,
            json!({"channel": "deploys", "text": "synced", "username": "cd", "icon_emoji": ":rocket:",
                "attachments": [{"title": "web", "color": "#18be52"}]})
        );
        assert!(!format!("{options:?}{request:?}").contains("xoxb-1"));
    }

    #[test]
    fn without_a_token_it_posts_to_the_incoming_webhook() {
        let options: SlackOptions =
            serde_norway::from_str("webhookURL: https://hooks.example/T/B/secret\n").unwrap();
        let request = request(&options, &notification(), "").unwrap();
        assert_eq!(request.url.expose(), "https://hooks.example/T/B/secret");
        assert_eq!(request.header_value("authorization"), None);
        let body: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(body["text"], "synced");
        assert_eq!(body.get("channel"), None);
        assert!(
            refusal(
                &options,
                &HttpResponse {
                    status: 200,
                    body: "ok".into()
                }
            )
            .is_none()
        );
    }

    #[test]
    fn attachments_that_are_not_json_fail_and_refusals_are_read() {
        let mut n = notification();
        if let Some(s) = n.slack.as_mut() {
            s.attachments = "[{".into();
        }
        let options = SlackOptions {
            token: "t".into(),
            ..Default::default()
        };
        assert!(request(&options, &n, "c").is_err());
        let refused = HttpResponse {
            status: 200,
            body: "{\"ok\": false, \"error\": \"channel_not_found\"}".into(),
        };
        assert_eq!(
            refusal(&options, &refused).as_deref(),
            Some("channel_not_found")
        );
        let accepted = HttpResponse {
            status: 200,
            body: "{\"ok\": true}".into(),
        };
        assert_eq!(refusal(&options, &accepted), None);
    }
}
