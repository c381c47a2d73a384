//! The webhook on the API server: a wrong or missing signature is refused and fetches
//! nothing; the right one makes the repository be checked at once.

use super::*;
use hmac::{Hmac, Mac};

const HOOK_SECRET: &str = "hook-secret-for-tests";

fn github_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs a GitHub push for `url`, signed with `secret` (None: unsigned).
pub(crate) async fn push(
    http: &reqwest::Client,
    base: &str,
    url: &str,
    secret: Option<&str>,
) -> anyhow::Result<u16> {
    let body = json!({"ref": "refs/heads/main", "repository": {"clone_url": url, "html_url": url}})
        .to_string();
    let mut request = http
        .post(format!("{base}/api/webhook"))
        .header("Content-Type", "application/json")
        .header("X-GitHub-Event", "push");
    if let Some(secret) = secret {
        request = request.header(
            "X-Hub-Signature-256",
            github_signature(secret, body.as_bytes()),
        );
    }
    Ok(request.body(body).send().await?.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_is_acted_on_only_with_the_right_signature() -> anyhow::Result<()> {
    let config = Config::default().secret("webhook.github.secret", HOOK_SECRET);
    let api = ApiEnv::start_with("api-hook", config, |c| {
        c.poll_interval = Duration::from_secs(3600)
    })
    .await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    let url = env.repo.file_url();
    env.repo
        .write("app/web.yaml", deployment("web", "nginx:1.27", None));
    env.repo.commit("v1");
    let name = env.name("app");
    env.apply_app(&application(&name, &ns, &url, "app", AUTOMATED, ""))
        .await?;
    env.wait_synced_healthy(&name).await?;

    env.repo
        .write("app/web.yaml", deployment("web", "nginx:1.28", None));
    let pushed = env.repo.commit("v2");
    let before = api.handle.git_network_counts();
    assert_eq!(
        push(&api.http, &api.base, &url, Some("a-wrong-secret")).await?,
        401
    );
    assert_eq!(push(&api.http, &api.base, &url, None).await?, 401);
    let gitlab = api
        .http
        .post(format!("{}/api/webhook", api.base))
        .header("X-Gitlab-Event", "Push Hook")
        .header("X-Gitlab-Token", HOOK_SECRET)
        .body("{}")
        .send()
        .await?;
    assert_eq!(
        gitlab.status(),
        401,
        "GitLab has no secret configured: refused even with GitHub's"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        api.handle.git_network_counts(),
        before,
        "a refused webhook makes no git request"
    );
    assert_ne!(
        env.app(&name).await?.unwrap_or_default()["status"]["sync"]["revision"],
        pushed.as_str()
    );

    assert_eq!(
        push(&api.http, &api.base, &url, Some(HOOK_SECRET)).await?,
        200
    );
    env.wait_app(&name, "synced to the pushed commit", |a| {
        a["status"]["sync"]["revision"] == pushed.as_str() && sync_of(a) == "Synced"
    })
    .await?;
    assert_eq!(
        image_of(&env.deployments(), "web").await?.as_deref(),
        Some("nginx:1.28")
    );
    Ok(())
}
