//! Notifications of `driftless serve` end to end: an app subscribed to on-sync-succeeded
//! (webhook, a webhook that fails twice first, a Slack-compatible incoming webhook, GitHub
//! commit statuses, email) and to on-health-degraded (webhook) syncs; each receiver gets the
//! rendered notification exactly once though two replicas run with leader election, the log
//! holds none of the secrets, and a restarted `serve` sends nothing again (the notified state
//! is in the app's annotation) while it still notifies what is new (the app going Degraded).

use crate::gitops::*;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use driftless_testkit::wait_until;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

const NOTIFIED: &str = "notified.notifications.argoproj.io";
const APP_ID: &str = "4242";
const INSTALLATION: &str = "77";

/// One request a receiver accepted.
#[derive(Clone)]
struct Received {
    route: String,
    path: String,
    authorization: String,
    header: String,
    body: String,
}

/// Shows what a failure message needs, and no credential (the Slack path is one).
impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.route == "slack" {
            "<secret>"
        } else {
            &self.path
        };
        write!(f, "{} {path} {:?}", self.route, self.body)
    }
}

/// `text` with every secret replaced, for failure messages.
fn redacted(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_string(), |t, s| t.replace(s.as_str(), "<secret>"))
}

#[derive(Default)]
struct Receivers {
    received: Mutex<Vec<Received>>,
    flaky_failures: Mutex<u32>,
    public_key: Vec<u8>,
    /// The installation tokens handed out.
    tokens: Mutex<Vec<String>>,
}

type Shared = Arc<Receivers>;

impl Receivers {
    fn keep(&self, route: &str, path: String, headers: &HeaderMap, body: String) {
        let value = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Received {
                route: route.into(),
                path,
                authorization: value("authorization"),
                header: value("x-token"),
                body,
            });
    }

    fn on(&self, route: &str) -> Vec<Received> {
        let all = self.received.lock().unwrap_or_else(|e| e.into_inner());
        all.iter().filter(|r| r.route == route).cloned().collect()
    }
}

async fn hook(
    State(s): State<Shared>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    s.keep("hook", rest, &headers, body);
    StatusCode::OK
}

/// Fails the first two requests, as a service having a bad moment would.
async fn flaky(State(s): State<Shared>, headers: HeaderMap, body: String) -> StatusCode {
    {
        let mut failures = s.flaky_failures.lock().unwrap_or_else(|e| e.into_inner());
        if *failures < 2 {
            *failures += 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    s.keep("flaky", String::new(), &headers, body);
    StatusCode::OK
}

async fn slack(
    State(s): State<Shared>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    body: String,
) -> &'static str {
    s.keep("slack", rest, &headers, body);
    "ok"
}

/// GitHub's token endpoint: checks the app's JWT (RS256 with the app's key, issuer the app
/// ID) and hands out an installation token.
async fn access_token(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, String) {
    let jwt = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let Ok(key) = jsonwebtoken::DecodingKey::from_rsa_pem(&s.public_key) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, String::new());
    };
    let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation).map(|d| d.claims);
    match claims {
        Ok(claims) if claims["iss"] == APP_ID && id == INSTALLATION => {
            let token = format!("ghs_{:032x}", rand::random::<u128>());
            s.tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(token.clone());
            (
                StatusCode::CREATED,
                json!({"token": token, "expires_at": "2099-01-01T00:00:00Z"}).to_string(),
            )
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            "{\"message\": \"Bad credentials\"}".into(),
        ),
    }
}

async fn status(
    State(s): State<Shared>,
    Path((repo, sha)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    s.keep("github", format!("{repo}@{sha}"), &headers, body);
    StatusCode::CREATED
}

async fn receivers(public_key: Vec<u8>) -> anyhow::Result<(String, Shared)> {
    let shared = Arc::new(Receivers {
        public_key,
        ..Default::default()
    });
    let app = Router::new()
        .route("/hooks/{*rest}", post(hook))
        .route("/flaky", post(flaky))
        .route("/slack/{*rest}", post(slack))
        .route(
            "/api/v3/app/installations/{id}/access_tokens",
            post(access_token),
        )
        .route("/api/v3/repos/acme/{repo}/statuses/{sha}", post(status))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((base, shared))
}

/// A process of the test, ended when dropped (also when the test fails early).
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The SMTP sink `hack/build-tools` builds, requiring `username`/`password`; its address.
fn smtp_sink(dir: &std::path::Path, password: &str) -> anyhow::Result<(Process, String)> {
    let binary = driftless_testkit::built_tool("smtp-sink")
        .ok_or_else(|| anyhow::anyhow!("smtp-sink is not built: run hack/build-tools"))?;
    let mut child = Process(
        Command::new(binary)
            .arg("-dir")
            .arg(dir)
            .args(["-username", "cd-bot", "-password", password])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let stdout = child
        .0
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let address = line
        .trim()
        .strip_prefix("listening ")
        .ok_or_else(|| anyhow::anyhow!("smtp-sink said {line:?}"))?
        .to_string();
    Ok((child, address))
}

/// The mails the sink wrote.
fn mails(dir: &std::path::Path) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter_map(|t| serde_json::from_str(&t).ok())
        .collect()
}

/// A GitHub App key made for this test (PEM private key, PEM public key).
fn app_key(dir: &std::path::Path) -> anyhow::Result<(String, Vec<u8>)> {
    let path = dir.join("app-key.pem");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&path)
        .output()?;
    anyhow::ensure!(made.status.success(), "openssl genpkey failed");
    let public = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&path)
        .output()?;
    anyhow::ensure!(public.status.success(), "openssl pkey failed");
    Ok((std::fs::read_to_string(&path)?, public.stdout))
}

fn serve(ns: &str, cache: &std::path::Path, log: &std::path::Path) -> anyhow::Result<Process> {
    let log = std::fs::File::create(log)?;
    Ok(Process(
        Command::new(env!("CARGO_BIN_EXE_driftless"))
            .args([
                "serve",
                "--app-namespace",
                ns,
                "--poll-interval",
                "1s",
                "--installation-id",
                ns,
            ])
            .arg("--leader-elect")
            .arg("--cache-dir")
            .arg(cache)
            .env("RUST_LOG", "info,driftless_notify=debug")
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?,
    ))
}

const TEMPLATES: &str = r##"
  template.app-sync-succeeded: |
    message: Application {{.app.metadata.name}} synced to {{.app.status.operationState.syncResult.revision}}.
    email:
      subject: Synced {{.app.metadata.name}}
    slack:
      attachments: '[{"title": "{{.app.metadata.name}}", "color": "#18be52"}]'
    webhook:
      hook:
        method: POST
        path: /synced/{{.app.metadata.name}}
        body: '{"app": "{{.app.metadata.name}}", "revision": "{{.app.status.operationState.syncResult.revision}}"}'
      flaky:
        method: POST
        body: flaky {{.app.metadata.name}}
    github:
      repoURLPath: https://github.com/acme/shop.git
      status:
        state: success
        label: continuous-delivery/{{.app.metadata.name}}
        targetURL: '{{.context.argocdUrl}}/applications/{{.app.metadata.name}}'
  template.app-health-degraded: |
    message: Application {{.app.metadata.name}} has degraded.
    webhook:
      hook:
        method: POST
        path: /degraded/{{.app.metadata.name}}
        body: '{{.app.metadata.name}} is {{.app.status.health.status}}'
  trigger.on-sync-succeeded: |
    - when: app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']
      oncePer: app.status.operationState?.syncResult?.revision
      send: [app-sync-succeeded]
  trigger.on-health-degraded: |
    - when: app.status.health.status == 'Degraded'
      oncePer: app.status.operationState?.syncResult?.revision
      send: [app-health-degraded]
  context: |
    argocdUrl: https://cd.example
"##;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_is_notified_once_across_retries_and_a_restart() -> anyhow::Result<()> {
    let env = Gitops::new("notify").await?;
    let ns = env.ns.name.clone();
    let dir = tempfile::tempdir()?;
    let secret = |what: &str| format!("{what}-{:024x}", rand::random::<u128>());
    let (webhook_token, slack_path, email_password) = (
        secret("hook-token"),
        secret("slack-path"),
        secret("mail-password"),
    );
    let (private_key, public_key) = app_key(dir.path())?;
    // What must never reach a log; the installation tokens the receiver hands out join later.
    let mut secrets = vec![
        webhook_token.clone(),
        slack_path.clone(),
        email_password.clone(),
    ];
    secrets.extend(
        private_key
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::to_string),
    );
    let (base, got) = receivers(public_key).await?;
    let mail_dir = dir.path().join("mail");
    let (_sink, smtp) = smtp_sink(&mail_dir, &email_password)?;
    let smtp_port = smtp.rsplit(':').next().unwrap_or_default().to_string();

    // A ConfigMap turns Degraded when its greeting is "broken" (a health check of argocd-cm).
    let health = "hs = {status = \"Healthy\"}\nif obj.data ~= nil and obj.data.greeting == \"broken\" then hs.status = \"Degraded\"; hs.message = \"broken\" end\nreturn hs\n";
    let maps = env.ns.api::<ConfigMap>();
    maps.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "argocd-cm"},
        "data": {"resource.customizations.health.ConfigMap": health}}))?,
    )
    .await?;
    env.ns.api::<Secret>().create(&PostParams::default(), &serde_json::from_value(json!({
        "metadata": {"name": "argocd-notifications-secret"},
        "stringData": {"hook-token": webhook_token, "slack-url": format!("{base}/slack/{slack_path}"),
            "github-key": private_key, "mail-password": email_password}}))?).await?;
    let services = format!(
        "  service.webhook.hook: |\n    url: {base}/hooks\n    headers: [{{name: X-Token, value: $hook-token}}]\n\
         \x20 service.webhook.flaky: |\n    url: {base}/flaky\n\
         \x20 service.slack: |\n    webhookURL: $slack-url\n\
         \x20 service.github: |\n    appID: {APP_ID}\n    installationID: {INSTALLATION}\n    privateKey: $github-key\n    enterpriseBaseURL: {base}/api/v3\n\
         \x20 service.email: |\n    host: 127.0.0.1\n    port: {smtp_port}\n    from: cd@example.com\n    username: cd-bot\n    password: $mail-password\n"
    );
    let cm: Value = serde_norway::from_str(&format!(
        "metadata: {{name: argocd-notifications-cm}}\ndata:\n{services}{TEMPLATES}"
    ))?;
    maps.create(&PostParams::default(), &serde_json::from_value(cm)?)
        .await?;

    env.repo.write("app/settings.yaml", settings("hello"));
    let commit = env.repo.commit("settings");
    let name = env.name("shop");
    let subscribe = |t: &str, s: &str, r: &str| {
        format!("    notifications.argoproj.io/subscribe.{t}.{s}: \"{r}\"\n")
    };
    let annotations = [
        subscribe("on-sync-succeeded", "hook", ""),
        subscribe("on-sync-succeeded", "flaky", ""),
        subscribe("on-sync-succeeded", "slack", "deploys"),
        subscribe("on-sync-succeeded", "github", ""),
        subscribe("on-sync-succeeded", "email", "ops@example.com"),
        subscribe("on-health-degraded", "hook", ""),
    ]
    .concat();
    // Automated without selfHeal: a live change stays (and makes the app Degraded).
    let automated = "  syncPolicy:\n    automated: {prune: true}\n";
    env.apply_app(&application(
        &name,
        &ns,
        &env.repo.file_url(),
        "app",
        automated,
        &format!("  annotations:\n{annotations}"),
    ))
    .await?;

    // Two replicas with leader election: only the holder of the Lease sends.
    let logs: Vec<_> = (1..=3)
        .map(|i| dir.path().join(format!("serve-{i}.log")))
        .collect();
    let caches = [dir.path().join("cache-1"), dir.path().join("cache-2")];
    let replicas = [
        serve(&ns, &caches[0], &logs[0])?,
        serve(&ns, &caches[1], &logs[1])?,
    ];
    let sent_everywhere = async {
        env.wait_synced_healthy(&name).await?;
        wait_until(
            TIMEOUT,
            "a notification at every receiver and the notified state",
            || async {
                let app = env.app(&name).await?.unwrap_or_default();
                let state: Value = serde_json::from_str(
                    app["metadata"]["annotations"][NOTIFIED]
                        .as_str()
                        .unwrap_or("{}"),
                )?;
                let all_in = ["hook", "flaky", "slack", "github"]
                    .iter()
                    .all(|r| !got.on(r).is_empty())
                    && !mails(&mail_dir).is_empty();
                Ok((all_in && state.as_object().is_some_and(|s| s.len() == 5)).then_some(()))
            },
        )
        .await
    }
    .await;
    drop(replicas);
    let read_logs = |logs: &[std::path::PathBuf]| -> String {
        logs.iter()
            .map(|l| std::fs::read_to_string(l).unwrap_or_default())
            .collect()
    };
    let tokens = got.tokens.lock().unwrap_or_else(|e| e.into_inner()).clone();
    secrets.extend(tokens.iter().cloned());
    if let Err(error) = sent_everywhere {
        anyhow::bail!(
            "{error}\n--- serve logs\n{}",
            redacted(&read_logs(&logs), &secrets)
        );
    }

    let hooks = got.on("hook");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0].path, format!("synced/{name}"));
    assert!(
        hooks[0].header == webhook_token,
        "the webhook's header is not the Secret's value"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&hooks[0].body)?,
        json!({"app": name, "revision": commit})
    );
    let flaky = got.on("flaky");
    assert_eq!(flaky.len(), 1, "{flaky:?}");
    assert_eq!(
        *got.flaky_failures.lock().unwrap_or_else(|e| e.into_inner()),
        2,
        "two failed tries first"
    );
    assert_eq!(flaky[0].body, format!("flaky {name}"));
    let slack = got.on("slack");
    assert_eq!(slack.len(), 1, "{slack:?}");
    assert!(
        slack[0].path == slack_path,
        "the Slack URL is not the Secret's"
    );
    let message: Value = serde_json::from_str(&slack[0].body)?;
    assert_eq!(
        message["text"],
        format!("Application {name} synced to {commit}.")
    );
    assert_eq!(message["channel"], "deploys");
    assert_eq!(message["attachments"][0]["title"], name.as_str());
    let statuses = got.on("github");
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0].path, format!("shop@{commit}"));
    assert!(
        tokens.len() == 1 && statuses[0].authorization == format!("token {}", tokens[0]),
        "the status is not set with the installation token the receiver issued"
    );
    let status: Value = serde_json::from_str(&statuses[0].body)?;
    assert_eq!(status["state"], "success");
    assert_eq!(status["context"], format!("continuous-delivery/{name}"));
    assert_eq!(
        status["target_url"],
        format!("https://cd.example/applications/{name}")
    );
    let mail = mails(&mail_dir);
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["to"], json!(["ops@example.com"]));
    assert_eq!(mail[0]["authUser"], "cd-bot");
    // The body is quoted-printable: undo its soft line breaks.
    let data = mail[0]["data"]
        .as_str()
        .unwrap_or_default()
        .replace("=\r\n", "");
    assert!(data.contains(&format!("Subject: Synced {name}")), "{data}");
    assert!(
        data.contains(&format!("Application {name} synced to {commit}.")),
        "{data}"
    );

    // Restarted (it takes the Lease over once the old holder's expired), serve sends nothing
    // again; it still notifies what is new.
    let restarted = serve(&ns, &caches[0], &logs[2])?;
    let degraded = async {
        let broken = json!({"data": {"greeting": "broken"}});
        maps.patch("settings", &PatchParams::default(), &Patch::Merge(&broken))
            .await?;
        env.wait_app(&name, "Degraded", |a| health_of(a) == "Degraded")
            .await?;
        wait_until(TIMEOUT, "the degraded notification recorded", || async {
            let app = env.app(&name).await?.unwrap_or_default();
            let state = app["metadata"]["annotations"][NOTIFIED]
                .as_str()
                .unwrap_or_default()
                .to_string();
            Ok((state.contains("on-health-degraded") && got.on("hook").len() >= 2).then_some(()))
        })
        .await
    }
    .await;
    drop(restarted);
    let text = read_logs(&logs);
    secrets.extend(
        got.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned(),
    );
    let leaked: Vec<usize> = (0..secrets.len())
        .filter(|&i| text.contains(secrets[i].as_str()))
        .collect();
    let shown = redacted(&text, &secrets);
    degraded.map_err(|e| anyhow::anyhow!("{e}\n--- serve logs\n{shown}"))?;
    let hooks = got.on("hook");
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert_eq!(hooks[1].path, format!("degraded/{name}"));
    assert_eq!(hooks[1].body, format!("{name} is Degraded"));
    for route in ["flaky", "slack", "github"] {
        assert_eq!(got.on(route).len(), 1, "{route} again after the restart");
    }
    assert_eq!(mails(&mail_dir).len(), 1, "mail again after the restart");

    // The logs name services and triggers, never a secret.
    assert_eq!(
        leaked,
        Vec::<usize>::new(),
        "secrets (by index) in the log:\n{shown}"
    );
    assert!(shown.contains("sent a notification"), "{shown}");
    assert!(
        shown.contains("trying again"),
        "the flaky tries are logged:\n{shown}"
    );
    Ok(())
}
