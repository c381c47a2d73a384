//! Login, tokens and RBAC through the API, against the real API server.

use super::*;
use driftless_server::auth::tokens;
use reqwest::Method;

const POLICY: &str = "\
p, role:deployer-a, applications, get, proj-a/*, allow
p, role:deployer-a, applications, sync, proj-a/*, allow
g, alice, role:deployer-a
g, bob, role:readonly
g, ci, role:readonly
";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_decides_per_project_and_every_kind_of_token_is_checked() -> anyhow::Result<()> {
    let issued = now() - 10;
    let config = Config::default()
        .user("alice", "alice-pw")
        .user("bob", "bob-pw")
        .user("carol", "carol-pw")
        .cm("accounts.carol.enabled", "false")
        .cm("accounts.ci", "apiKey")
        .secret(
            "accounts.ci.tokens",
            &format!(r#"[{{"id":"key-1","iat":{issued}}}]"#),
        )
        .rbac("policy.csv", POLICY);
    let api = ApiEnv::start("api-rbac", config).await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    env.repo.write("app/settings.yaml", settings("hello"));
    env.repo.commit("v1");
    let url = env.repo.file_url();
    env.apply(&project("proj-a", &ns, "")).await?;
    let role = format!(
        "  roles:\n  - name: deployer\n    policies:\n    - p, proj:proj-b:deployer, applications, get, proj-b/*, allow\n    - p, proj:proj-b:deployer, applications, sync, proj-b/*, allow\n    jwtTokens: [{{iat: {issued}, id: pt-1}}]\n"
    );
    env.apply(&project("proj-b", &ns, &role)).await?;
    let (app_a, app_b) = (env.name("a"), env.name("b"));
    env.apply_app(&app_in("proj-a", &app_a, &ns, &url, "", ""))
        .await?;
    env.apply_app(&app_in("proj-b", &app_b, &ns, &url, "", ""))
        .await?;
    env.wait_app(&app_b, "compared", |a| sync_of(a) == "OutOfSync")
        .await?;

    // No token, or a made-up one.
    let (status, _) = api
        .call(Method::GET, "/api/v1/applications", None, None)
        .await?;
    assert_eq!(status, 401);
    let (status, _) = api.get("/api/v1/applications", "made-up").await?;
    assert_eq!(status, 401, "a token neither ours nor the cluster's");

    // alice may get and sync in proj-a only.
    let alice = api.login("alice", "alice-pw").await?;
    let (status, listed) = api.get("/api/v1/applications", &alice).await?;
    assert_eq!(status, 200, "{listed}");
    let names: Vec<&str> = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, [app_a.as_str()], "alice sees only proj-a's app");
    let (status, body) = api
        .post(
            &format!("/api/v1/applications/{app_b}/sync"),
            &alice,
            json!({}),
        )
        .await?;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("applications, sync, proj-b/{app_b}")),
        "{body}"
    );
    let (status, body) = api
        .post(
            &format!("/api/v1/applications/{app_a}/sync"),
            &alice,
            json!({"prune": true}),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let synced = env
        .wait_app(&app_a, "synced by alice", |a| {
            sync_of(a) == "Synced"
                && a["status"]["operationState"]["operation"]["initiatedBy"]["username"] == "alice"
        })
        .await?;
    assert_eq!(synced["status"]["operationState"]["phase"], "Succeeded");

    // bob is read-only: get and resources yes, sync no.
    let bob = api.login("bob", "bob-pw").await?;
    assert_eq!(
        api.get(&format!("/api/v1/applications/{app_b}"), &bob)
            .await?
            .0,
        200
    );
    assert_eq!(
        api.get(&format!("/api/v1/applications/{app_b}/resource-tree"), &bob)
            .await?
            .0,
        200
    );
    let (status, body) = api
        .post(
            &format!("/api/v1/applications/{app_b}/sync"),
            &bob,
            json!({}),
        )
        .await?;
    assert_eq!(status, 403, "{body}");

    // Wrong password, disabled account.
    let (status, _) = api
        .call(
            Method::POST,
            "/api/v1/session",
            None,
            Some(json!({"username": "alice", "password": "nope"})),
        )
        .await?;
    assert_eq!(status, 401);
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/session",
            None,
            Some(json!({"username": "carol", "password": "carol-pw"})),
        )
        .await?;
    assert_eq!(status, 401, "{body}");

    // The project role token works for its project only.
    let key = api.signing_key().await?;
    let project_token = tokens::issue(&key, "proj:proj-b:deployer", "pt-1", issued, None)?;
    let (status, body) = api
        .post(
            &format!("/api/v1/applications/{app_b}/sync"),
            &project_token,
            json!({}),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        api.get(&format!("/api/v1/applications/{app_a}"), &project_token)
            .await?
            .0,
        403
    );
    // Neither its id nor its issue time is listed (Argo CD takes either).
    let unlisted = tokens::issue(&key, "proj:proj-b:deployer", "pt-2", issued - 1, None)?;
    assert_eq!(
        api.get(&format!("/api/v1/applications/{app_b}"), &unlisted)
            .await?
            .0,
        401,
        "a project token the role does not list"
    );

    // An API key works while the account lists it, then not.
    let ci = tokens::issue(&key, "ci:apiKey", "key-1", issued, None)?;
    assert_eq!(
        api.get(&format!("/api/v1/applications/{app_a}"), &ci)
            .await?
            .0,
        200
    );
    let secrets: Api<Secret> = env.ns.api();
    secrets
        .patch(
            "argocd-secret",
            &PatchParams::default(),
            &Patch::Merge(&json!({"stringData": {"accounts.ci.tokens": "[]"}})),
        )
        .await?;
    driftless_testkit::wait_until(TIMEOUT, "the revoked API key is refused", || async {
        Ok((api
            .get(&format!("/api/v1/applications/{app_a}"), &ci)
            .await?
            .0
            == 401)
            .then_some(()))
    })
    .await?;

    // An expired session, and one logged out.
    let expired = tokens::issue(&key, "alice:login", "old", now() - 7200, Some(3600))?;
    let (status, body) = api.get("/api/v1/applications", &expired).await?;
    assert_eq!(status, 401);
    assert!(
        body["message"].as_str().unwrap_or("").contains("expired"),
        "{body}"
    );
    let (status, _) = api
        .call(Method::DELETE, "/api/v1/session", Some(&alice), None)
        .await?;
    assert_eq!(status, 200);
    assert_eq!(
        api.get("/api/v1/applications", &alice).await?.0,
        401,
        "a logged-out session"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_bad_logins_for_one_user_do_not_stop_another() -> anyhow::Result<()> {
    let config = Config::default()
        .user("alice", "alice-pw")
        .user("bob", "bob-pw");
    let api = ApiEnv::start("api-flood", config).await?;
    let mut refused_at_once = 0;
    for _ in 0..1000 {
        let (status, _) = api
            .call(
                Method::POST,
                "/api/v1/session",
                None,
                Some(json!({"username": "alice", "password": "guess"})),
            )
            .await?;
        assert!(status == 401 || status == 429, "{status}");
        refused_at_once += usize::from(status == 429);
    }
    assert!(
        refused_at_once >= 990,
        "after a few failures alice's attempts are throttled ({refused_at_once} of 1000)"
    );
    // bob, from the same address, logs in as usual; alice's right password waits out the window.
    let bob = api.login("bob", "bob-pw").await?;
    let (status, info) = api.get("/api/v1/session/userinfo", &bob).await?;
    assert_eq!((status, info["username"].as_str()), (200, Some("bob")));
    let (status, _) = api
        .call(
            Method::POST,
            "/api/v1/session",
            None,
            Some(json!({"username": "alice", "password": "alice-pw"})),
        )
        .await?;
    assert_eq!(status, 429);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_tokens_are_reviewed_and_https_serves_a_self_signed_certificate()
-> anyhow::Result<()> {
    let env = Gitops::new("api-k8s").await?;
    let ns = env.ns.name.clone();
    let policy = format!("g, system:serviceaccount:{ns}:viewer, role:readonly\n");
    write_config(&env.ns, &Config::default().rbac("policy.csv", &policy)).await?;
    let server = Server::bind(
        env.ns.client.clone(),
        ServerConfig::new(&ns, "127.0.0.1:0".parse()?),
        None,
    )
    .await?;
    let address = server.local_addr().expect("bound");
    let pem = server
        .self_signed_pem()
        .expect("a self-signed certificate without a TLS Secret");
    let task = tokio::spawn(server.run());
    let https = client(Some(&pem))?;
    let base = format!("https://localhost:{}", address.port());
    driftless_testkit::wait_until(TIMEOUT, "the API answers over HTTPS", || async {
        Ok(https
            .get(format!("{base}/readyz"))
            .send()
            .await
            .ok()
            .filter(|r| r.status() == 200))
    })
    .await?;
    let plain = client(None)?
        .get(format!("http://{address}/healthz"))
        .send()
        .await;
    assert!(
        plain.map(|r| !r.status().is_success()).unwrap_or(true),
        "plain HTTP is not served"
    );

    let viewer = service_account_token(&env, "viewer").await?;
    let listed = https
        .get(format!("{base}/api/v1/projects"))
        .bearer_auth(&viewer)
        .send()
        .await?;
    assert_eq!(listed.status(), 200);
    let stranger = service_account_token(&env, "stranger").await?;
    let refused = https
        .get(format!("{base}/api/v1/projects/default"))
        .bearer_auth(&stranger)
        .send()
        .await?;
    assert_eq!(
        refused.status(),
        403,
        "authenticated by the cluster, granted nothing"
    );
    let body: Value = refused.json().await?;
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("sub: system:serviceaccount:{ns}:stranger")),
        "{body}"
    );
    task.abort();
    Ok(())
}
