//! The platform-wide views in a real headless Chromium: the App-of-Apps tree (root → child
//! Applications → their resources, with sync and health, expanded and collapsed by keyboard),
//! what a branch would change across that tree, an ApplicationSet with the apps it generated,
//! and the audit trail with the sync a user started and the chain verified.

use super::{log_in, screenshot, synced_app};
use crate::api::{ApiEnv, Config};
use crate::gitops::*;
use driftless_testkit::webdriver::{ARROW_DOWN, ARROW_LEFT, ARROW_RIGHT, Browser, ENTER};
use serde_json::{Value, json};

fn config_map(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{value: \"{value}\"}}\n"
    )
}

/// How many elements `css` matches.
async fn count(browser: &Browser, css: &str) -> anyhow::Result<u64> {
    let n = browser
        .script(
            "return document.querySelectorAll(arguments[0]).length;",
            json!([css]),
        )
        .await?;
    Ok(n.as_u64().unwrap_or_default())
}

/// Waits until `css` matches no element (a collapsed subtree is not drawn).
async fn wait_gone(browser: &Browser, css: &str, what: &str) -> anyhow::Result<()> {
    driftless_testkit::wait_until(TIMEOUT, what, || async {
        Ok((count(browser, css).await? == 0).then_some(()))
    })
    .await
}

/// The path of the tree item that has the keyboard focus.
async fn focused_path(browser: &Browser) -> anyhow::Result<Value> {
    browser
        .script(
            "return document.activeElement.dataset.path || null;",
            json!([]),
        )
        .await
}

/// The sync or health cell of a tree item's own row.
fn tree_cell(path: &str, field: &str) -> String {
    format!("li[data-path=\"{path}\"] > .tree-row [data-field={field}]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_of_apps_tree_expands_by_keyboard_and_a_branch_shows_what_it_would_change()
-> anyhow::Result<()> {
    let api = ApiEnv::start("ui-tree", Config::default().user("admin", "admin-pw")).await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    let url = env.repo.file_url();
    let (root, a, b) = (env.name("root"), env.name("a"), env.name("b"));
    let child = |name: &str, path: &str| application(name, &ns, &url, path, AUTOMATED, "");
    env.repo.write("root/a.yaml", child(&a, "apps/a"));
    env.repo.write("root/b.yaml", child(&b, "apps/b"));
    env.repo
        .write("apps/a/cm.yaml", config_map("a-settings", "one"));
    env.repo
        .write("apps/b/cm.yaml", config_map("b-settings", "one"));
    env.repo.commit("root with a and b");
    let main = env.repo.branch();
    env.repo.checkout_new_branch("feature");
    env.repo
        .write("apps/a/cm.yaml", config_map("a-settings", "two"));
    env.repo.commit("a's value two");
    env.repo.checkout(&main);
    env.apply_app(&application(&root, &ns, &url, "root", AUTOMATED, ""))
        .await?;
    for name in [&root, &a, &b] {
        env.wait_synced_healthy(name).await?;
    }
    env.wait_app(&root, "both children among its resources", |app| {
        app["status"]["resources"]
            .as_array()
            .is_some_and(|r| r.iter().filter(|r| r["kind"] == "Application").count() == 2)
    })
    .await?;
    let browser = Browser::start(false).await?;
    log_in(&browser, &api.base, ("admin", "admin-pw"), None).await?;

    // Only the root is at the top, collapsed: its children are not drawn yet.
    browser.click("#nav a[href=\"/ui/tree\"]").await?;
    browser
        .wait_text(&tree_cell(&root, "sync"), "the root Synced", |t| {
            t == "Synced"
        })
        .await?;
    assert_eq!(
        browser.text(&tree_cell(&root, "health")).await?.as_deref(),
        Some("Healthy")
    );
    assert_eq!(count(&browser, "#tree > li").await?, 1, "one root");
    let audit_hidden = browser
        .script(
            "return document.getElementById('nav-audit').hidden;",
            json!([]),
        )
        .await?;
    assert_eq!(
        audit_hidden, true,
        "no audit trail offered: this server keeps none"
    );
    let root_item = format!("li[data-path=\"{root}\"]");
    let expanded = |path: &str| {
        let script = format!(
            "return document.querySelector('li[data-path=\"{path}\"]').getAttribute('aria-expanded');"
        );
        let browser = &browser;
        async move { browser.script(&script, json!([])).await }
    };
    assert_eq!(expanded(&root).await?, "false");
    let (a_path, b_path) = (format!("{root}/{a}"), format!("{root}/{b}"));
    assert_eq!(
        count(&browser, &format!("li[data-path=\"{a_path}\"]")).await?,
        0
    );

    // Right expands the root: both children with their status.
    browser.type_into(&root_item, ARROW_RIGHT).await?;
    for path in [&a_path, &b_path] {
        browser
            .wait_text(&tree_cell(path, "sync"), "a child Synced", |t| {
                t == "Synced"
            })
            .await?;
        assert_eq!(
            browser.text(&tree_cell(path, "health")).await?.as_deref(),
            Some("Healthy")
        );
    }
    assert_eq!(expanded(&root).await?, "true");
    assert_eq!(focused_path(&browser).await?, root.as_str(), "focus stays");

    // Down moves to the first child; Right expands it: its ConfigMap.
    browser.type_into(&root_item, ARROW_DOWN).await?;
    assert_eq!(focused_path(&browser).await?, a_path.as_str());
    let a_item = format!("li[data-path=\"{a_path}\"]");
    browser.type_into(&a_item, ARROW_RIGHT).await?;
    let settings = format!("{a_item} li[data-resource=\"ConfigMap/a-settings\"]");
    browser
        .wait_text(
            &format!("{settings} [data-field=sync]"),
            "a's ConfigMap Synced",
            |t| t == "Synced",
        )
        .await?;
    screenshot(&browser, "tree").await?;

    // Left on the root collapses it all; Right again, then Enter opens a child's page.
    browser.type_into(&root_item, ARROW_LEFT).await?;
    wait_gone(&browser, &a_item, "the children hidden").await?;
    assert_eq!(expanded(&root).await?, "false");
    browser.type_into(&root_item, ARROW_RIGHT).await?;

    // A child added in git shows up under the root live, from the stream, without a reload.
    browser
        .script("window.__sameDocument = 'yes';", json!([]))
        .await?;
    let c = env.name("c");
    env.repo.write("root/c.yaml", child(&c, "apps/c"));
    env.repo
        .write("apps/c/cm.yaml", config_map("c-settings", "one"));
    env.repo.commit("add c");
    browser
        .wait_text(
            &tree_cell(&format!("{root}/{c}"), "health"),
            "c under the root, live",
            |t| t == "Healthy",
        )
        .await?;
    assert_eq!(
        browser
            .script("return window.__sameDocument || null;", json!([]))
            .await?,
        "yes"
    );
    assert_eq!(count(&browser, "#tree > li").await?, 1, "c is no root");
    browser.type_into(&a_item, ENTER).await?;
    browser
        .wait_text("main h1", "a's page", |t| t == a.as_str())
        .await?;
    assert!(
        browser
            .url()
            .await?
            .ends_with(&format!("/ui/applications/{a}"))
    );

    // What the feature branch would change, from the root's page.
    browser
        .goto(&format!("{}/ui/applications/{root}", api.base))
        .await?;
    browser.click("#to-revision").await?;
    browser.type_into("#revision", "feature").await?;
    browser.type_into("#revision", ENTER).await?;
    browser
        .wait_text("#tree-diff-summary", "the comparison", |t| {
            t.contains("would change")
        })
        .await?;
    let changed = format!(
        "li[data-app=\"{a}\"] li[data-resource=\"ConfigMap/a-settings\"][data-change=changed]"
    );
    browser.click(&format!("{changed} summary")).await?;
    let diff = browser
        .wait_text(&format!("{changed} pre.diff"), "a's ConfigMap diff", |t| {
            t.contains("value")
        })
        .await?;
    assert!(
        diff.contains("-  value: one") && diff.contains("+  value: two"),
        "{diff}"
    );
    assert_eq!(
        count(&browser, "li[data-resource=\"ConfigMap/b-settings\"]").await?,
        0,
        "b does not change"
    );
    assert!(browser.url().await?.ends_with("/revision?revision=feature"));
    screenshot(&browser, "revision").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_set_shows_its_generators_conditions_and_generated_apps()
-> anyhow::Result<()> {
    let api = ApiEnv::start("ui-appset", Config::default().user("admin", "admin-pw")).await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    for app in ["a", "b"] {
        env.repo.write(
            &format!("apps/{app}/cm.yaml"),
            config_map(&format!("{app}-settings"), "one"),
        );
    }
    env.repo.commit("two apps");
    let set = env.name("teams");
    env.apply(&format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {{name: {set}, namespace: {ns}}}\nspec:\n\
         \x20 generators:\n  - list:\n      elements: [{{name: a}}, {{name: b}}]\n\
         \x20 template:\n    metadata:\n      name: '{ns}-{{{{name}}}}'\n    spec:\n\
         \x20     project: default\n      source: {{repoURL: {url}, targetRevision: HEAD, path: 'apps/{{{{name}}}}'}}\n\
         \x20     destination: {{server: https://kubernetes.default.svc, namespace: {ns}}}\n\
         \x20     syncPolicy: {{automated: {{prune: true}}}}\n",
        url = env.repo.file_url()
    ))
    .await?;
    let (a, b) = (env.name("a"), env.name("b"));
    for name in [&a, &b] {
        env.wait_synced_healthy(name).await?;
    }
    driftless_testkit::wait_until(TIMEOUT, "the set lists both apps", || async {
        let set = env.get("ApplicationSet", &set).await?.unwrap_or_default();
        Ok(set["status"]["resources"]
            .as_array()
            .is_some_and(|r| r.len() == 2)
            .then_some(()))
    })
    .await?;
    let browser = Browser::start(false).await?;
    log_in(&browser, &api.base, ("admin", "admin-pw"), None).await?;

    browser
        .click("#nav a[href=\"/ui/applicationsets\"]")
        .await?;
    let row = format!("tr[data-appset=\"{set}\"]");
    browser
        .wait_text(
            &format!("{row} [data-field=apps]"),
            "the set's 2 apps",
            |t| t == "2",
        )
        .await?;
    let generators = browser
        .text(&format!("{row} td"))
        .await?
        .unwrap_or_default();
    assert_eq!(generators, "list (2 elements)");
    screenshot(&browser, "applicationsets").await?;

    browser.click(&format!("{row} a")).await?;
    browser
        .wait_text("#generators", "the generators", |t| {
            t.contains("list (2 elements)")
        })
        .await?;
    let conditions = browser
        .wait_text("#appset-conditions", "the conditions", |t| {
            t.contains("ResourcesUpToDate")
        })
        .await?;
    assert!(conditions.contains("ParametersGenerated"), "{conditions}");
    for name in [&a, &b] {
        let app_row = format!("#appset-apps tr[data-app=\"{name}\"]");
        browser
            .wait_text(
                &format!("{app_row} [data-field=sync]"),
                "a generated app Synced",
                |t| t == "Synced",
            )
            .await?;
        assert_eq!(
            browser
                .text(&format!("{app_row} [data-field=health]"))
                .await?
                .as_deref(),
            Some("Healthy")
        );
    }
    assert_eq!(count(&browser, "#appset-apps tr").await?, 2);
    screenshot(&browser, "applicationset").await?;
    browser
        .click(&format!("#appset-apps tr[data-app=\"{b}\"] a"))
        .await?;
    browser
        .wait_text("main h1", "b's page", |t| t == b.as_str())
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_shows_the_sync_a_user_started_newest_first_and_verified()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let database = format!("sqlite://{}", dir.path().join("audit.db").display());
    let config = Config::default()
        .user("admin", "admin-pw")
        .user("viewer", "viewer-pw")
        .rbac(
            "policy.csv",
            "p, viewer, applications, get, default/*, allow\n",
        )
        .audit(&database);
    let api = ApiEnv::start("ui-audit", config).await?;
    let admin = api.login("admin", "admin-pw").await?;
    let name = synced_app(&api, &admin).await?;
    driftless_testkit::wait_until(TIMEOUT, "the sync in the audit log", || async {
        let (status, body) = api
            .get(
                &format!("/api/v1/audit?app={name}&kind=SyncCompleted"),
                &admin,
            )
            .await?;
        anyhow::ensure!(status == 200, "{body}");
        Ok(body["items"]
            .as_array()
            .is_some_and(|items| !items.is_empty())
            .then_some(()))
    })
    .await?;
    let browser = Browser::start(false).await?;
    log_in(&browser, &api.base, ("admin", "admin-pw"), None).await?;

    // Offered once the page has asked the API whether it may read the trail.
    driftless_testkit::wait_until(TIMEOUT, "the Audit link offered", || async {
        let shown = browser
            .script(
                "return !document.getElementById('nav-audit').hidden;",
                json!([]),
            )
            .await?;
        Ok((shown == true).then_some(()))
    })
    .await?;
    browser.click("#nav-audit").await?;
    let started = "#audit tr[data-kind=SyncStarted]";
    browser
        .wait_text(
            &format!("{started} [data-field=user]"),
            "who started the sync",
            |t| t == "admin",
        )
        .await?;
    let seqs = browser
        .script(
            "return [...document.querySelectorAll('#audit tr')].map((r) => Number(r.dataset.seq));",
            json!([]),
        )
        .await?;
    let seqs: Vec<u64> = serde_json::from_value(seqs)?;
    assert!(seqs.len() >= 3, "{seqs:?}");
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    let verified = browser
        .wait_text(
            "#audit-verify[data-verified=true]",
            "the chain verified",
            |t| t.contains("Verified"),
        )
        .await?;
    assert!(verified.contains("entries"), "{verified}");
    screenshot(&browser, "audit").await?;

    // The app's own trail, from its page, narrowed to completed syncs.
    browser
        .goto(&format!("{}/ui/applications/{name}", api.base))
        .await?;
    browser.click("#to-audit").await?;
    browser
        .wait_text("main h1", "the app's trail", |t| t.contains(&name))
        .await?;
    browser
        .script(
            "document.getElementById('audit-kind').value = 'SyncCompleted';",
            json!([]),
        )
        .await?;
    browser
        .click("form[role=search] button[type=submit]")
        .await?;
    let completed = "#audit tr[data-kind=SyncCompleted]";
    browser
        .wait_text(
            &format!("{completed} [data-field=outcome]"),
            "the sync's outcome",
            |t| t.contains("Succeeded"),
        )
        .await?;
    wait_gone(&browser, started, "only completed syncs").await?;

    // Two entries a page: Older and Newer walk the pages through the API's beforeSeq.
    browser
        .goto(&format!("{}/ui/audit?limit=2", api.base))
        .await?;
    let newest = browser
        .wait_text("#audit-caption", "the newest page", |t| {
            t.starts_with("Entries")
        })
        .await?;
    browser.click("#audit-older").await?;
    let older = browser
        .wait_text("#audit-caption", "the page before", |t| {
            t.starts_with("Entries") && t != newest
        })
        .await?;
    let first_of = |caption: &str| -> u64 {
        caption
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_default()
    };
    assert!(
        first_of(&older) < first_of(&newest),
        "{older} after {newest}"
    );
    browser.click("#audit-newer").await?;
    browser
        .wait_text("#audit-caption", "the newest page again", |t| t == newest)
        .await?;

    // Who may not read every app sees the entries of the apps they may read, and no
    // verification of the whole chain.
    browser.click("#logout").await?;
    log_in(&browser, &api.base, ("viewer", "viewer-pw"), None).await?;
    browser.goto(&format!("{}/ui/audit", api.base)).await?;
    browser
        .wait_text(
            &format!("{started} [data-field=user]"),
            "the viewer sees the sync",
            |t| t == "admin",
        )
        .await?;
    browser
        .wait_text("#audit-verify[data-asked]", "the permission asked", |_| {
            true
        })
        .await?;
    let verify_hidden = browser
        .script(
            "return document.getElementById('audit-verify').hidden;",
            json!([]),
        )
        .await?;
    assert_eq!(verify_hidden, true, "no verification offered to the viewer");
    Ok(())
}
