//! The web UI in a real headless Chromium (Debian's chromium and chromium-driver; `make test`
//! installs them through hack/chromium): log in through the form, the app list with live
//! status from the stream, an app's page with its resources, a resource's diff, a sync started
//! with the Sync button and followed to its end; a read-only user is offered no Sync button,
//! and a cookie alone (a forged cross-site form) cannot start one.
//! With DRIFTLESS_UI_SCREENSHOTS=1 the tests write one PNG per view into docs/screenshots/.

mod app_page;
mod platform_views;

use crate::api::{ApiEnv, Config};
use crate::gitops::*;
use driftless_testkit::webdriver::{Browser, ENTER};
use serde_json::{Value, json};

/// Saves the window as docs/screenshots/`name`.png when screenshots are asked for.
pub(crate) async fn screenshot(browser: &Browser, name: &str) -> anyhow::Result<()> {
    if std::env::var("DRIFTLESS_UI_SCREENSHOTS").as_deref() != Ok("1") {
        return Ok(());
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("{name}.png")), browser.screenshot().await?)?;
    Ok(())
}

/// Opens the front door of the UI served at `base` and logs in through the form (Enter in the
/// password field); `shot`: the screenshot to take of the filled-in form.
pub(crate) async fn log_in(
    browser: &Browser,
    base: &str,
    (user, password): (&str, &str),
    shot: Option<&str>,
) -> anyhow::Result<()> {
    browser.goto(&format!("{base}/")).await?;
    browser
        .wait_text("#login-title", "the login form", |t| t.contains("Log in"))
        .await?;
    let offered = browser
        .script(
            "return document.getElementById('logout').getClientRects().length > 0;",
            json!([]),
        )
        .await?;
    assert_eq!(offered, false, "no Log out before logging in");
    browser.type_into("#username", user).await?;
    browser.type_into("#password", password).await?;
    if let Some(shot) = shot {
        screenshot(browser, shot).await?;
    }
    browser.type_into("#password", ENTER).await?;
    browser
        .wait_text("#who-name", "the signed-in user's name", |t| {
            t.contains(user)
        })
        .await?;
    Ok(())
}

/// The text of one cell of the app's row in the list.
fn cell(app: &str, field: &str) -> String {
    format!("tr[data-app=\"{app}\"] [data-field={field}]")
}

/// A Secret whose value is `token`.
fn credentials(token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: credentials\nstringData:\n  token: {token}\n"
    )
}

/// An app of a ConfigMap and a Secret, synced once through the API (no automated sync: the UI
/// syncs it).
async fn synced_app(api: &ApiEnv, admin: &str) -> anyhow::Result<String> {
    let env = &api.env;
    env.repo.write("app/settings.yaml", settings("first"));
    env.repo
        .write("app/credentials.yaml", credentials("first-secret-value"));
    env.repo.commit("first");
    let name = env.name("web");
    api.add_app(&name, "app", "", admin).await?;
    api.start_sync(&name, admin).await?;
    env.wait_synced_healthy(&name).await?;
    Ok(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_logs_in_follows_live_status_reads_a_diff_and_syncs_from_the_ui()
-> anyhow::Result<()> {
    let api = ApiEnv::start("ui-admin", Config::default().user("admin", "admin-pw")).await?;
    let admin = api.login("admin", "admin-pw").await?;
    let name = synced_app(&api, &admin).await?;
    let env = &api.env;
    let browser = Browser::start(false).await?;

    log_in(&browser, &api.base, ("admin", "admin-pw"), Some("login")).await?;
    assert!(browser.url().await?.ends_with("/ui/applications"));
    browser
        .wait_text(&cell(&name, "sync"), "the app Synced in the list", |t| {
            t == "Synced"
        })
        .await?;
    assert_eq!(
        browser.text(&cell(&name, "health")).await?.as_deref(),
        Some("Healthy")
    );
    assert_eq!(
        browser.text(&cell(&name, "project")).await?.as_deref(),
        Some("default")
    );
    let revision = env.app(&name).await?.unwrap_or_default()["status"]["sync"]["revision"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        browser.text(&cell(&name, "revision")).await?,
        Some(revision[..7].to_string())
    );
    screenshot(&browser, "applications").await?;

    // A new commit: the row turns OutOfSync through the stream, without a reload.
    env.repo.write("app/settings.yaml", settings("second"));
    env.repo
        .write("app/credentials.yaml", credentials("second-secret-value"));
    env.repo.commit("second");
    let (status, body) = api
        .get(
            &format!("/api/v1/applications/{name}?refresh=normal"),
            &admin,
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    browser
        .wait_text(&cell(&name, "sync"), "the row OutOfSync, live", |t| {
            t == "OutOfSync"
        })
        .await?;
    browser
        .wait_text(
            "#announcer",
            "the change read out to a screen reader",
            |t| t.contains(&name) && t.contains("OutOfSync"),
        )
        .await?;
    let marker: Value = browser
        .script("return window.__sameDocument = 'yes';", json!([]))
        .await?;
    assert_eq!(marker, "yes");

    // The search box narrows the list on the server; a name matching nothing shows no row.
    browser.type_into("#search", "no-such-app").await?;
    browser
        .wait_text("#apps", "no app matches", |t| {
            t.contains("No applications match")
        })
        .await?;
    browser.script("document.getElementById('search').value = ''; document.getElementById('search').dispatchEvent(new Event('input'));", json!([])).await?;
    browser
        .wait_text(&cell(&name, "sync"), "the app back in the list", |_| true)
        .await?;

    // The app's page: its resources with their status.
    browser.click(&format!("tr[data-app=\"{name}\"] a")).await?;
    let resource = "tr[data-resource=\"ConfigMap/settings\"]";
    browser
        .wait_text(
            &format!("{resource} [data-field=sync]"),
            "the ConfigMap OutOfSync",
            |t| t == "OutOfSync",
        )
        .await?;
    assert_eq!(
        browser
            .script("return window.__sameDocument || null;", json!([]))
            .await?,
        "yes",
        "the page changed views without loading again"
    );
    screenshot(&browser, "application").await?;

    // A Secret's diff shows that it changed, never its values (the server masks them).
    browser
        .click("tr[data-resource=\"Secret/credentials\"] a")
        .await?;
    let secret = browser
        .wait_text("#diff", "the Secret's diff", |t| t.contains("++++++++"))
        .await?;
    for plain in ["first-secret-value", "second-secret-value"] {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(plain);
        assert!(
            !secret.contains(plain) && !secret.contains(&encoded),
            "{secret}"
        );
    }
    browser.click("main p a").await?;

    // The ConfigMap's diff: live against git.
    browser.click(&format!("{resource} a")).await?;
    let diff = browser
        .wait_text("#diff", "the ConfigMap's diff", |t| t.contains("second"))
        .await?;
    assert!(
        diff.contains("-  greeting: first") && diff.contains("+  greeting: second"),
        "{diff}"
    );
    screenshot(&browser, "diff").await?;
    browser.click("main p a").await?;

    // Sync from the page, by keyboard (Enter on the focused button, then on the dialog's Sync);
    // the operation's phase shows live until it succeeds.
    browser
        .wait_text("#app-sync", "the app page again", |t| t == "OutOfSync")
        .await?;
    browser.type_into("#sync", ENTER).await?;
    browser.type_into("#sync-start", ENTER).await?;
    browser.click("#sync-close").await?;
    let synced = env
        .wait_app(&name, "the UI's sync recorded as the second one", |a| {
            a["status"]["history"].as_array().map_or(0, Vec::len) == 2
                && a["status"]["operationState"]["phase"] == "Succeeded"
        })
        .await?;
    let started = synced["status"]["operationState"]["startedAt"]
        .as_str()
        .unwrap_or_default();
    let shown = browser
        .wait_text(
            &format!("#operation[data-started=\"{started}\"]"),
            "the page shows the new operation's outcome",
            |t| t.contains("Succeeded"),
        )
        .await?;
    assert!(shown.contains("by admin"), "{shown}");
    browser
        .wait_text("#app-sync", "the app Synced again", |t| t == "Synced")
        .await?;
    assert_eq!(greeting(&env.ns.api()).await?.as_deref(), Some("second"));
    screenshot(&browser, "application-synced").await?;

    // An app whose manifests do not parse: its page shows the controller's condition.
    env.repo.write(
        "broken/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\ndata: [\n",
    );
    env.repo.commit("broken");
    let broken = env.name("broken");
    api.add_app(&broken, "broken", "", &admin).await?;
    browser
        .goto(&format!("{}/ui/applications/{broken}", api.base))
        .await?;
    browser
        .wait_text("#conditions", "the comparison error", |t| {
            t.contains("ComparisonError")
        })
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_user_is_offered_no_sync_and_a_cookie_alone_starts_none() -> anyhow::Result<()>
{
    let config = Config::default()
        .user("admin", "admin-pw")
        .user("viewer", "viewer-pw")
        .rbac("policy.csv", "p, viewer, applications, get, */*, allow\n")
        .cm(
            "oidc.config",
            "name: Example SSO\nissuer: https://sso.example\nclientID: driftless\nclientSecret: unused\n",
        );
    let api = ApiEnv::start("ui-viewer", config).await?;
    let admin = api.login("admin", "admin-pw").await?;
    let name = synced_app(&api, &admin).await?;
    // A second app, so that pages of one app make two pages.
    let env = &api.env;
    env.repo.write(
        "other/settings.yaml",
        settings("other").replace("name: settings", "name: other"),
    );
    env.repo.commit("other");
    let other = env.name("api");
    api.add_app(&other, "other", "", &admin).await?;
    let browser = Browser::start(true).await?;

    // The login page offers the provider argocd-cm names.
    browser.goto(&format!("{}/ui/login", api.base)).await?;
    browser
        .wait_text("#sso", "the single sign-on link", |t| {
            t == "Log in with Example SSO"
        })
        .await?;
    let href = browser
        .script(
            "return document.getElementById('sso').getAttribute('href');",
            json!([]),
        )
        .await?;
    assert_eq!(href, "/auth/login?return_url=%2Fui%2Fapplications");

    // A wrong password is told in the form, which stays.
    browser.type_into("#username", "viewer").await?;
    browser.type_into("#password", "wrong").await?;
    browser.type_into("#password", ENTER).await?;
    browser
        .wait_text("#login-error", "the refusal", |t| {
            t == "Invalid username or password"
        })
        .await?;

    log_in(&browser, &api.base, ("viewer", "viewer-pw"), None).await?;
    browser
        .wait_text(&cell(&name, "health"), "the app Healthy in the list", |t| {
            t == "Healthy"
        })
        .await?;
    screenshot(&browser, "applications-dark").await?;

    // A page at a time, through the API's own paging.
    browser
        .goto(&format!("{}/ui/applications?limit=1", api.base))
        .await?;
    browser
        .wait_text("#apps-caption", "the first page", |t| {
            t == "Applications 1–1 of 2"
        })
        .await?;
    assert!(
        browser.text(&cell(&other, "sync")).await?.is_some(),
        "{other} comes first"
    );
    browser.click("#next").await?;
    browser
        .wait_text("#apps-caption", "the second page", |t| {
            t == "Applications 2–2 of 2"
        })
        .await?;
    assert!(browser.text(&cell(&name, "sync")).await?.is_some());
    let next_disabled = browser
        .script(
            "return document.getElementById('next').disabled;",
            json!([]),
        )
        .await?;
    assert_eq!(next_disabled, true, "no page after the last");
    browser.click("#previous").await?;
    browser
        .wait_text("#apps-caption", "the first page again", |t| {
            t == "Applications 1–1 of 2"
        })
        .await?;

    // The app's own address, opened directly.
    browser
        .goto(&format!("{}/ui/applications/{name}", api.base))
        .await?;
    browser
        .wait_text(
            "tr[data-resource=\"ConfigMap/settings\"] [data-field=sync]",
            "the resources",
            |t| t == "Synced",
        )
        .await?;
    // The page is drawn after the permission check: no button now means none at all.
    assert_eq!(
        browser
            .script(
                "return document.querySelectorAll('#sync').length;",
                json!([])
            )
            .await?,
        0
    );

    // The API refuses the viewer's sync anyway.
    let viewer = api.login("viewer", "viewer-pw").await?;
    let sync = format!("/api/v1/applications/{name}/sync");
    let (status, body) = api.post(&sync, &viewer, json!({})).await?;
    assert_eq!(status, 403, "{body}");

    // The admin's cookie without the UI's header, as a forged form would send it: refused.
    let with_cookie = |csrf: bool| {
        let request = api
            .http
            .post(format!("{}{sync}", api.base))
            .header(reqwest::header::COOKIE, format!("argocd.token={admin}"));
        if csrf {
            request
                .header("x-driftless-csrf", "1")
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body("{}")
        } else {
            request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body("")
        }
        .send()
    };
    let forged = with_cookie(false).await?;
    assert_eq!(forged.status(), 403);
    let body = forged.text().await?;
    assert!(body.contains("x-driftless-csrf"), "{body}");
    assert!(
        api.env
            .app(&name)
            .await?
            .unwrap_or_default()
            .get("operation")
            .is_none_or(Value::is_null)
    );
    let from_ui = with_cookie(true).await?;
    assert_eq!(from_ui.status(), 200, "{}", from_ui.text().await?);

    // The page allows only this server's own scripts and styles; an asset it does not have is 404.
    let page = api
        .http
        .get(format!("{}/ui/applications/{name}", api.base))
        .send()
        .await?;
    let policy = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("script-src 'self'"),
        "{policy}"
    );
    let missing = api
        .http
        .get(format!("{}/ui/assets/missing.js", api.base))
        .send()
        .await?;
    assert_eq!(missing.status(), 404);

    // Logging out ends the session: the UI asks for a login again.
    browser.click("#logout").await?;
    browser
        .wait_text("#login-title", "the login form after logging out", |t| {
            t.contains("Log in")
        })
        .await?;
    browser
        .goto(&format!("{}/ui/applications", api.base))
        .await?;
    browser
        .wait_text("#login-title", "a login asked for again", |t| {
            t.contains("Log in")
        })
        .await?;
    Ok(())
}
