//! Single sign-on through Dex, the real OIDC provider, configured as Argo CD's `oidc.config`:
//! the browser's flow through `/auth/login` and `/auth/callback`, the groups claim under
//! argocd-rbac-cm's `scopes`, logout, tokens of other clients refused, and the CLI's
//! `login --sso` as a public client with PKCE.

use super::cli::Cli;
use super::*;
use crate::cli::stdout;
use driftless_testkit::{Dex, DexClient, DexConfig, DexUser};
use tokio::io::AsyncBufReadExt;

const ALICE: (&str, &str) = ("alice@driftless.test", "alice-pw");
const BOB: (&str, &str) = ("bob@driftless.test", "bob-pw");

/// The API server with Dex as its provider: `platform` is admin, everyone else nothing.
async fn start() -> anyhow::Result<(ApiEnv, Dex)> {
    let config = Config::default()
        .rbac("policy.csv", "g, platform, role:admin\n")
        .rbac("scopes", "[groups]");
    let api = ApiEnv::start("api-sso", config).await?;
    let callback = format!("{}/auth/callback", api.base);
    let dex_config = DexConfig::new()
        .user(
            DexUser::new(ALICE.0, ALICE.1, "Alice")
                .user_id("alice")
                .groups(["platform"]),
        )
        .user(DexUser::new(BOB.0, BOB.1, "Bob").user_id("bob"))
        .client(DexClient::confidential("driftless", [callback]))
        .client(DexClient::public("driftless-cli"))
        .client(DexClient::public("another-app"));
    let dex = tokio::task::spawn_blocking(move || Dex::start(dex_config)).await??;
    let secret = dex
        .client("driftless")
        .and_then(|c| c.secret.clone())
        .unwrap_or_default();
    // The client secret is named in a Secret of its own, as `$name:key`. Dex puts the user id
    // into `federated_claims` only when asked (scope `federated:id`).
    let secrets: Api<Secret> = api.env.ns.api();
    let sso_secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "sso-client", "labels": {"app.kubernetes.io/part-of": "argocd"}},
        "stringData": {"secret": secret}});
    secrets
        .patch(
            "sso-client",
            &PatchParams::apply("test"),
            &Patch::Apply(&sso_secret),
        )
        .await?;
    let oidc = format!(
        "name: Dex\nissuer: {}\nclientID: driftless\nclientSecret: $sso-client:secret\ncliClientID: driftless-cli\nrequestedScopes: [openid, profile, email, groups, \"federated:id\"]\nenablePKCEAuthentication: true\n",
        dex.issuer()
    );
    let maps: Api<ConfigMap> = api.env.ns.api();
    let cm = json!({"data": {"oidc.config": oidc}});
    maps.patch("argocd-cm", &PatchParams::default(), &Patch::Merge(&cm))
        .await?;
    driftless_testkit::wait_until(TIMEOUT, "the server offers single sign-on", || async {
        let (status, body) = api
            .call(reqwest::Method::GET, "/api/v1/settings", None, None)
            .await?;
        Ok((status == 200 && body["oidcConfig"]["issuer"] == dex.issuer()).then_some(()))
    })
    .await?;
    Ok((api, dex))
}

fn no_redirects() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// The value a response sets for cookie `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")).map(str::to_string))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

/// The browser's whole login: the server's redirect, Dex's pages, the callback. The session
/// token and where the callback sent the browser.
async fn browser_login(
    api: &ApiEnv,
    dex: &Dex,
    user: (&str, &str),
) -> anyhow::Result<(String, String)> {
    let browser = no_redirects()?;
    let start = browser
        .get(format!("{}/auth/login?return_url=/applications", api.base))
        .send()
        .await?;
    anyhow::ensure!(start.status() == 303, "/auth/login: {}", start.status());
    let state_cookie = set_cookie(&start, "driftless.sso").expect("the state cookie");
    let location = start.headers()[reqwest::header::LOCATION]
        .to_str()?
        .to_string();
    anyhow::ensure!(location.starts_with(dex.issuer()), "{location}");
    anyhow::ensure!(location.contains("code_challenge="), "PKCE: {location}");
    let callback = dex.login(&location, user.0, user.1).await?;
    let back = browser
        .get(callback.as_str())
        .header(
            reqwest::header::COOKIE,
            format!("driftless.sso={state_cookie}"),
        )
        .send()
        .await?;
    let status = back.status();
    let token = set_cookie(&back, "argocd.token");
    let to = back
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    anyhow::ensure!(status == 303, "callback: {status} {}", back.text().await?);
    Ok((token.expect("the session cookie"), to))
}

async fn with_cookie(api: &ApiEnv, path: &str, token: &str) -> anyhow::Result<(u16, Value)> {
    let response = api
        .http
        .get(format!("{}{path}", api.base))
        .header(reqwest::header::COOKIE, format!("argocd.token={token}"))
        .send()
        .await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sso_signs_in_through_dex_and_rbac_reads_the_groups_claim() -> anyhow::Result<()> {
    let (api, dex) = start().await?;
    let (_, settings) = api
        .call(reqwest::Method::GET, "/api/v1/settings", None, None)
        .await?;
    assert_eq!(settings["oidcConfig"]["cliClientID"], "driftless-cli");
    assert!(
        !settings.to_string().contains("secret"),
        "the settings show no secret: {settings}"
    );

    let (alice, returned_to) = browser_login(&api, &dex, ALICE).await?;
    assert_eq!(returned_to, "/applications");
    let (status, who) = with_cookie(&api, "/api/v1/session/userinfo", &alice).await?;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["username"], "alice");
    assert_eq!(who["groups"], json!(["platform"]));
    assert_eq!(who["iss"], dex.issuer());
    // The ID token is a bearer token too; the group makes alice an admin.
    let (status, body) = api.get("/api/v1/projects/default", &alice).await?;
    assert_eq!(status, 200, "{body}");

    let (bob, _) = browser_login(&api, &dex, BOB).await?;
    let (status, body) = api.get("/api/v1/projects/default", &bob).await?;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.to_string().contains("projects"),
        "names the permission: {body}"
    );

    // Logged out, the same ID token is refused although it has not expired.
    let out = api
        .http
        .delete(format!("{}/api/v1/session", api.base))
        .bearer_auth(&bob)
        .send()
        .await?;
    assert_eq!(out.status(), 200);
    let (status, _) = api.get("/api/v1/session/userinfo", &bob).await?;
    assert_eq!(status, 401);
    let (status, _) = api.get("/api/v1/session/userinfo", &alice).await?;
    assert_eq!(status, 200, "alice's session is another one");

    // A token Dex signed for another client is not for this server.
    let other = dex
        .password_grant("another-app", ALICE.0, ALICE.1, &["openid", "groups"])
        .await?;
    let (status, body) = api.get("/api/v1/session/userinfo", &other.id_token).await?;
    assert_eq!(status, 401, "{body}");
    assert!(body.to_string().contains("not for this server"), "{body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_without_the_logins_state_is_refused() -> anyhow::Result<()> {
    let (api, dex) = start().await?;
    let browser = no_redirects()?;
    let start = browser
        .get(format!("{}/auth/login", api.base))
        .send()
        .await?;
    let state_cookie = set_cookie(&start, "driftless.sso").expect("the state cookie");
    let location = start.headers()[reqwest::header::LOCATION]
        .to_str()?
        .to_string();
    let callback = dex.login(&location, ALICE.0, ALICE.1).await?;

    // Another browser (no cookie), then a forged state: no session either time.
    let foreign = browser.get(callback.as_str()).send().await?;
    assert_eq!(foreign.status(), 400);
    assert!(set_cookie(&foreign, "argocd.token").is_none());
    let mut forged = callback.clone();
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                "forged".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let tampered = browser
        .get(forged.as_str())
        .header(
            reqwest::header::COOKIE,
            format!("driftless.sso={state_cookie}"),
        )
        .send()
        .await?;
    assert_eq!(tampered.status(), 400);
    assert!(set_cookie(&tampered, "argocd.token").is_none());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_login_sso_runs_the_flow_as_the_public_client_and_saves_the_token() -> anyhow::Result<()>
{
    let (api, dex) = start().await?;
    let cli = Cli::new()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let port_text = port.to_string();
    let mut login = cli
        .command(&[
            "login",
            &api.base,
            "--sso",
            "--no-browser",
            "--sso-port",
            &port_text,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let mut lines = tokio::io::BufReader::new(login.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(TIMEOUT, async {
        while let Some(line) = lines.next_line().await? {
            if line.starts_with("http") {
                return anyhow::Ok(line);
            }
        }
        anyhow::bail!("the CLI printed no login URL")
    })
    .await??;
    assert!(url.contains("client_id=driftless-cli"), "{url}");
    let callback = dex.login(&url, ALICE.0, ALICE.1).await?;
    assert!(
        callback
            .as_str()
            .starts_with(&format!("http://localhost:{port}/auth/callback")),
        "{callback}"
    );
    let page = reqwest::Client::builder()
        .no_proxy()
        .build()?
        .get(callback.as_str())
        .send()
        .await?;
    assert_eq!(page.status(), 200);
    assert!(page.text().await?.contains("Logged in"));
    let mut rest = String::new();
    while let Some(line) = lines.next_line().await? {
        rest.push_str(&line);
        rest.push('\n');
    }
    let status = tokio::time::timeout(TIMEOUT, login.wait()).await??;
    assert!(status.success(), "login --sso: {status}\n{rest}");
    assert!(rest.contains("'alice' logged in"), "{rest}");

    // The saved ID token works for the next command; alice's group makes her an admin.
    let saved = std::fs::read_to_string(cli.config())?;
    assert!(saved.contains("user: alice"), "{saved}");
    let projects = cli.expect(&["proj", "get", "default"], 0).await?;
    assert!(
        stdout(&projects).contains("default"),
        "{}",
        stdout(&projects)
    );
    Ok(())
}
