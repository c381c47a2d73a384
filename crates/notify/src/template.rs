//! Templates (`template.<name>`): Go templates rendered with the ApplicationSet controller's
//! engine (Go `text/template` semantics and Sprig's functions) over `.app`, `.appProject`,
//! `.context`, `.serviceType` and `.recipient`. As in Argo CD, the templates a condition
//! sends are rendered in order into one notification, a later non-empty message replacing an
//! earlier one; `.serviceType` is the destination's service name (its type unless the service
//! was given a custom name).

use driftless_appset::gotemplate::{GoTemplateOptions, from_json, render as render_go};
use gotmpl::Value;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A template as written in the ConfigMap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSpec {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub email: Option<EmailTemplate>,
    #[serde(default)]
    pub slack: Option<SlackTemplate>,
    /// By webhook service name.
    #[serde(default)]
    pub webhook: BTreeMap<String, WebhookTemplate>,
    #[serde(default)]
    pub github: Option<GitHubTemplate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EmailTemplate {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub body: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SlackTemplate {
    #[serde(default)]
    pub attachments: String,
    #[serde(default)]
    pub blocks: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub icon: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct WebhookTemplate {
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub body: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitHubTemplate {
    #[serde(default, rename = "repoURLPath")]
    pub repo_url_path: String,
    #[serde(default)]
    pub revision_path: String,
    #[serde(default)]
    pub status: Option<GitHubStatusTemplate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GitHubStatusTemplate {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub label: String,
    #[serde(default, rename = "targetURL")]
    pub target_url: String,
}

/// A rendered notification: what the services send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notification {
    pub message: String,
    pub email: Option<EmailTemplate>,
    pub slack: Option<SlackTemplate>,
    pub webhook: BTreeMap<String, WebhookTemplate>,
    pub github: Option<GitHubNotification>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitHubNotification {
    pub repo_url: String,
    pub revision: String,
    pub status: Option<GitHubStatusTemplate>,
}

/// Argo CD's defaults when a GitHub template leaves the paths out.
const REPO_URL_PATH: &str = "{{.app.spec.source.repoURL}}";
const REVISION_PATH: &str = "{{.app.status.operationState.syncResult.revision}}";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("failed to render notification: template {0:?} is not configured")]
    Missing(String),
    #[error("failed to render template {template:?} ({field}): {source}")]
    Render {
        template: String,
        field: &'static str,
        #[source]
        source: driftless_appset::gotemplate::GoTemplateError,
    },
}

/// What a template sees besides its own text.
#[derive(Debug, Clone)]
pub struct Vars<'a> {
    pub app: &'a serde_json::Value,
    pub app_project: Option<&'a serde_json::Value>,
    pub context: &'a BTreeMap<String, String>,
    /// The destination's service name.
    pub service: &'a str,
    pub recipient: &'a str,
}

impl Vars<'_> {
    fn data(&self) -> Value {
        let context: BTreeMap<Arc<str>, Value> = self
            .context
            .iter()
            .map(|(k, v)| (Arc::from(k.as_str()), Value::String(Arc::from(v.as_str()))))
            .collect();
        let empty = serde_json::json!({});
        let entries: BTreeMap<Arc<str>, Value> = [
            ("app", from_json(self.app)),
            ("appProject", from_json(self.app_project.unwrap_or(&empty))),
            ("context", Value::Map(Arc::new(context))),
            ("serviceType", Value::String(Arc::from(self.service))),
            ("recipient", Value::String(Arc::from(self.recipient))),
        ]
        .into_iter()
        .map(|(k, v)| (Arc::from(k), v))
        .collect();
        Value::Map(Arc::new(entries))
    }
}

/// Renders the templates `names` (in order) into one notification.
pub fn render(
    templates: &BTreeMap<String, TemplateSpec>,
    names: &[String],
    vars: &Vars<'_>,
) -> Result<Notification, TemplateError> {
    let data = vars.data();
    let mut notification = Notification::default();
    for name in names {
        let spec = templates
            .get(name)
            .ok_or_else(|| TemplateError::Missing(name.clone()))?;
        let text = |field: &'static str, source: &str| -> Result<String, TemplateError> {
            render_go(source, &data, GoTemplateOptions::default()).map_err(|source| {
                TemplateError::Render {
                    template: name.clone(),
                    field,
                    source,
                }
            })
        };
        let message = text("message", &spec.message)?;
        if !message.is_empty() {
            notification.message = message;
        }
        if let Some(email) = &spec.email {
            let current = notification.email.get_or_insert_with(Default::default);
            let subject = text("email.subject", &email.subject)?;
            if !subject.is_empty() {
                current.subject = subject;
            }
            let body = text("email.body", &email.body)?;
            if !body.is_empty() {
                current.body = body;
            }
        }
        if let Some(slack) = &spec.slack {
            notification.slack = Some(SlackTemplate {
                attachments: text("slack.attachments", &slack.attachments)?,
                blocks: text("slack.blocks", &slack.blocks)?,
                username: text("slack.username", &slack.username)?,
                icon: text("slack.icon", &slack.icon)?,
            });
        }
        for (service, webhook) in &spec.webhook {
            notification.webhook.insert(
                service.clone(),
                WebhookTemplate {
                    method: webhook.method.clone(),
                    path: text("webhook.path", &webhook.path)?,
                    body: text("webhook.body", &webhook.body)?,
                },
            );
        }
        if let Some(github) = &spec.github {
            let or_default = |path: &str, default: &'static str| -> String {
                if path.is_empty() { default } else { path }.to_string()
            };
            let status = match &github.status {
                Some(s) => Some(GitHubStatusTemplate {
                    state: text("github.status.state", &s.state)?,
                    label: text("github.status.label", &s.label)?,
                    target_url: text("github.status.targetURL", &s.target_url)?,
                }),
                None => None,
            };
            notification.github = Some(GitHubNotification {
                repo_url: text(
                    "github.repoURLPath",
                    &or_default(&github.repo_url_path, REPO_URL_PATH),
                )?,
                revision: text(
                    "github.revisionPath",
                    &or_default(&github.revision_path, REVISION_PATH),
                )?,
                status,
            });
        }
    }
    Ok(notification)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn templates(yaml: &[(&str, &str)]) -> BTreeMap<String, TemplateSpec> {
        yaml.iter()
            .map(|(n, y)| (n.to_string(), serde_norway::from_str(y).unwrap()))
            .collect()
    }

    fn vars<'a>(
        app: &'a serde_json::Value,
        context: &'a BTreeMap<String, String>,
        service: &'a str,
    ) -> Vars<'a> {
        Vars {
            app,
            app_project: None,
            context,
            service,
            recipient: "ops",
        }
    }

    #[test]
    fn fields_render_over_app_context_service_and_recipient() {
        let t = templates(&[(
            "t",
            "message: |\n  {{if eq .serviceType \"slack\"}}:ok:{{end}} {{.app.metadata.name}} at {{.context.argocdUrl}} for {{.recipient}}\n\
             email:\n  subject: Synced {{.app.metadata.name}}\n\
             webhook:\n  hook:\n    method: POST\n    path: /apps/{{.app.metadata.name}}\n    body: '{\"n\": \"{{.app.metadata.name}}\"}'\n",
        )]);
        let app = json!({"metadata": {"name": "web"}});
        let context = BTreeMap::from([("argocdUrl".to_string(), "https://cd".to_string())]);
        let slack = render(&t, &["t".into()], &vars(&app, &context, "slack")).unwrap();
        assert_eq!(slack.message, ":ok: web at https://cd for ops\n");
        let hook = render(&t, &["t".into()], &vars(&app, &context, "hook")).unwrap();
        assert_eq!(hook.message, " web at https://cd for ops\n");
        assert_eq!(hook.email.unwrap().subject, "Synced web");
        assert_eq!(
            hook.webhook["hook"],
            WebhookTemplate {
                method: "POST".into(),
                path: "/apps/web".into(),
                body: "{\"n\": \"web\"}".into()
            }
        );
    }

    #[test]
    fn later_templates_fill_in_and_github_paths_default_to_argo_cds() {
        let t = templates(&[
            ("a", "message: first\nemail: {subject: one}\n"),
            (
                "b",
                "message: ''\ngithub:\n  status: {state: success, label: 'cd/{{.app.metadata.name}}'}\n",
            ),
        ]);
        let app = json!({"metadata": {"name": "web"}, "spec": {"source": {"repoURL": "https://github.com/o/r.git"}},
            "status": {"operationState": {"syncResult": {"revision": "abc"}}}});
        let context = BTreeMap::new();
        let n = render(
            &t,
            &["a".into(), "b".into()],
            &vars(&app, &context, "github"),
        )
        .unwrap();
        assert_eq!(n.message, "first");
        assert_eq!(n.email.unwrap().subject, "one");
        let github = n.github.unwrap();
        assert_eq!(github.repo_url, "https://github.com/o/r.git");
        assert_eq!(github.revision, "abc");
        assert_eq!(github.status.unwrap().label, "cd/web");
    }

    #[test]
    fn a_missing_template_or_a_broken_one_is_an_error_naming_it() {
        let t = templates(&[("bad", "message: '{{.app.metadata.name'\n")]);
        let app = json!({});
        let context = BTreeMap::new();
        assert_eq!(
            render(&t, &["nope".into()], &vars(&app, &context, "x")).unwrap_err(),
            TemplateError::Missing("nope".into())
        );
        let error = render(&t, &["bad".into()], &vars(&app, &context, "x")).unwrap_err();
        assert!(
            error.to_string().contains("template \"bad\" (message)"),
            "{error}"
        );
    }
}
