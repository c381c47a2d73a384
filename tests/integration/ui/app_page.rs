//! One application's page in the browser: the resource tree by kind and by wave, a resource's
//! live and desired manifests and its diff after someone edited it in the cluster, the sync
//! dialog with its options and the sync's progress wave by wave, History with a rollback to the
//! first revision, the app's Events, and a guard finding with its fix.

use super::*;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::Api;
use kube::api::{Patch, PatchParams};

/// The ConfigMap `later`, in wave 1, with one `stage`.
fn later(stage: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n  annotations: {{argocd.argoproj.io/sync-wave: \"1\"}}\ndata:\n  stage: {stage}\n"
    )
}

/// The text of the wave's state in the sync dialog's progress.
fn wave_state(wave: i32) -> String {
    format!("#sync-progress li.wave[data-wave=\"Sync {wave}\"] [data-field=state]")
}

async fn stage(api: &Api<ConfigMap>) -> anyhow::Result<Option<String>> {
    Ok(api
        .get_opt("later")
        .await?
        .and_then(|c| c.data)
        .and_then(|d| d.get("stage").cloned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_reads_a_drifted_resource_syncs_wave_by_wave_and_rolls_back_from_history()
-> anyhow::Result<()> {
    let api = ApiEnv::start("ui-page", Config::default().user("admin", "admin-pw")).await?;
    let admin = api.login("admin", "admin-pw").await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    let config_maps: Api<ConfigMap> = env.ns.api();
    let services: Api<Service> = env.ns.api();

    // Wave 0: the ConfigMap settings and the gate (Progressing until it has an address);
    // wave 1: the ConfigMap later. Synced once through the API.
    env.repo.write("app/settings.yaml", settings("first"));
    env.repo.write("app/gate.yaml", GATE);
    env.repo.write("app/later.yaml", later("first"));
    env.repo.commit("first");
    let name = env.name("page");
    api.add_app(&name, "app", "", &admin).await?;
    api.start_sync(&name, &admin).await?;
    let path = format!("/api/v1/applications/{name}");
    env.wait_sync_waiting(&name).await?;
    open_gate(&services).await?;
    let synced = env.wait_synced_healthy(&name).await?;
    let first = synced["status"]["sync"]["revision"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let browser = Browser::start(false).await?;
    log_in(&browser, &api.base, ("admin", "admin-pw"), None).await?;
    browser
        .goto(&format!("{}/ui/applications/{name}", api.base))
        .await?;
    let settings_row = "tr[data-resource=\"ConfigMap/settings\"]";
    browser
        .wait_text(
            &format!("{settings_row} [data-field=sync]"),
            "the ConfigMap Synced",
            |t| t == "Synced",
        )
        .await?;

    // Someone edits the live ConfigMap, as `kubectl edit` would: the page shows it drifted.
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    config_maps
        .patch(
            "settings",
            &edit,
            &Patch::Merge(json!({"data": {"greeting": "edited"}})),
        )
        .await?;
    browser
        .wait_text(
            &format!("{settings_row} [data-field=sync]"),
            "the edited ConfigMap OutOfSync",
            |t| t == "OutOfSync",
        )
        .await?;

    // Its panel: the diff live against git, the live manifest, the desired one.
    browser
        .click("button[aria-label=\"Details of ConfigMap settings\"]")
        .await?;
    let diff = browser
        .wait_text("#resource-diff", "the edited ConfigMap's diff", |t| {
            t.contains("greeting")
        })
        .await?;
    assert!(
        diff.contains("-  greeting: edited") && diff.contains("+  greeting: first"),
        "{diff}"
    );
    browser.click("#tab-live").await?;
    let live = browser
        .wait_text("#resource-live", "the live manifest", |t| {
            !t.contains("Reading")
        })
        .await?;
    assert!(
        live.contains("kind: ConfigMap") && live.contains("greeting: edited"),
        "{live}"
    );
    assert!(!live.contains("managedFields"), "{live}");
    browser.click("#tab-desired").await?;
    let desired = browser
        .wait_text("#resource-desired", "the desired manifest", |t| {
            !t.contains("Reading")
        })
        .await?;
    assert!(
        desired.contains("kind: ConfigMap") && desired.contains("greeting: first"),
        "{desired}"
    );
    browser.click("#tab-diff").await?;

    // Grouped by sync wave (a radio button, chosen by keyboard): wave 0 first, later in wave 1.
    browser.type_into("#group-wave", " ").await?;
    browser
        .wait_text("tr[data-group=\"Wave 1\"]", "the wave 1 group", |t| {
            t.contains("Wave 1")
        })
        .await?;
    let order = browser
        .script(
            "return [...document.querySelectorAll('#resources tr')].map(r => r.dataset.group || r.dataset.resource).join(',');",
            json!([]),
        )
        .await?;
    assert_eq!(
        order, "Wave 0,ConfigMap/settings,Service/gate,Wave 1,ConfigMap/later",
        "rows in wave order"
    );
    screenshot(&browser, "application-resources").await?;

    // The sync dialog: focus moves into it; prune chosen, every resource kept. The gate loses its
    // address first, so the sync waits in wave 0 for as long as the test wants.
    let no_address = json!({"status": {"loadBalancer": {"ingress": null}}});
    services
        .patch_status("gate", &PatchParams::default(), &Patch::Merge(&no_address))
        .await?;
    browser
        .wait_text(
            "tr[data-resource=\"Service/gate\"] [data-field=health]",
            "the gate Progressing without its address",
            |t| t.contains("Progressing"),
        )
        .await?;
    browser.click("#sync").await?;
    browser
        .wait_text("#sync-dialog-title", "the sync dialog", |t| {
            t == format!("Sync {name}")
        })
        .await?;
    let focused = browser
        .script("return document.activeElement.id;", json!([]))
        .await?;
    assert_eq!(focused, "sync-prune", "focus moves into the dialog");
    let listed = browser.text("#sync-dialog .sync-resources").await?;
    assert!(
        listed
            .as_deref()
            .is_some_and(|t| t.contains(&format!("ConfigMap {ns}/later")) && t.contains("Service")),
        "{listed:?}"
    );
    browser.click("#sync-prune").await?;
    browser.type_into("#sync-start", ENTER).await?;

    // Progress, live: wave 0 waits on the gate while wave 1 has not started; then both converge.
    browser
        .wait_text(&wave_state(0), "wave 0 waiting on the gate", |t| {
            t == "Waiting"
        })
        .await?;
    assert_eq!(
        browser.text(&wave_state(1)).await?.as_deref(),
        Some("Pending")
    );
    screenshot(&browser, "application-sync-progress").await?;
    open_gate(&services).await?;
    browser
        .wait_text("#sync-phase", "the sync succeeded", |t| {
            t.contains("Succeeded")
        })
        .await?;
    for wave in [0, 1] {
        assert_eq!(
            browser.text(&wave_state(wave)).await?.as_deref(),
            Some("Synced")
        );
    }
    screenshot(&browser, "application-sync").await?;
    let app = env.app(&name).await?.unwrap_or_default();
    assert_eq!(
        app["status"]["operationState"]["operation"]["sync"]["prune"], true,
        "the dialog's options are the sync's"
    );
    assert_eq!(greeting(&config_maps).await?.as_deref(), Some("first"));
    browser.click("#sync-close").await?;
    browser
        .wait_text(
            "#resource-diff",
            "the open panel read again after the sync",
            |t| t.contains("No difference"),
        )
        .await?;
    let back = browser
        .script("return document.activeElement.id;", json!([]))
        .await?;
    assert_eq!(back, "sync", "focus returns to the Sync button");
    browser
        .wait_text("#events", "the sync's events", |t| {
            t.contains("OperationCompleted")
        })
        .await?;

    // A second revision, synced through the API.
    env.repo.write("app/settings.yaml", settings("second"));
    env.repo.write("app/later.yaml", later("second"));
    env.repo.commit("second");
    let (status, body) = api.get(&format!("{path}?refresh=normal"), &admin).await?;
    assert_eq!(status, 200, "{body}");
    env.wait_app(&name, "OutOfSync with the second revision", |a| {
        a["status"]["sync"]["revision"] != first.as_str() && sync_of(a) == "OutOfSync"
    })
    .await?;
    // A dry run of one resource from the dialog: the sync runs for it alone and changes nothing.
    browser
        .wait_text("#app-sync", "the page OutOfSync", |t| t == "OutOfSync")
        .await?;
    browser.click("#sync").await?;
    browser.click("#sync-dry-run").await?;
    browser
        .click(&format!("#sync-resource-_ConfigMap_{ns}_later"))
        .await?;
    browser
        .click(&format!("#sync-resource-_Service_{ns}_gate"))
        .await?;
    let all = browser
        .script(
            "return [document.getElementById('sync-all').checked, document.getElementById('sync-all').indeterminate];",
            json!([]),
        )
        .await?;
    assert_eq!(all, json!([false, true]), "All shows a partial choice");
    browser.click("#sync-start").await?;
    browser
        .wait_text("#sync-phase", "the dry run succeeded", |t| {
            t.contains("Succeeded")
        })
        .await?;
    let shown = browser
        .script(
            "return [...document.querySelectorAll('#sync-progress li.wave li')].map(li => li.dataset.resource).join(',');",
            json!([]),
        )
        .await?;
    assert_eq!(shown, "ConfigMap/settings", "only the chosen resource");
    let app = env.app(&name).await?.unwrap_or_default();
    let asked = &app["status"]["operationState"]["operation"]["sync"];
    assert_eq!(asked["dryRun"], true, "{asked}");
    assert_eq!(asked["resources"][0]["name"], "settings", "{asked}");
    assert_eq!(
        asked["resources"].as_array().map(Vec::len),
        Some(1),
        "{asked}"
    );
    assert_eq!(greeting(&config_maps).await?.as_deref(), Some("first"));
    browser.click("#sync-close").await?;

    let (status, body) = api.post(&format!("{path}/sync"), &admin, json!({})).await?;
    assert_eq!(status, 200, "{body}");
    let deployed = env
        .wait_app(&name, "the second revision deployed", |a| {
            a["status"]["history"].as_array().map_or(0, Vec::len) == 3
                && a["status"]["operationState"]["phase"] == "Succeeded"
        })
        .await?;
    let second = deployed["status"]["sync"]["revision"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    browser
        .wait_text("#app-deployed", "the second revision deployed", |t| {
            t == &second[..7]
        })
        .await?;

    // History: roll back to the first deployment, after confirming.
    let first_id = deployed["status"]["history"][0]["id"].to_string();
    let rollback = format!("button[data-rollback=\"{first_id}\"]");
    browser.click(&rollback).await?;
    browser
        .wait_text("#rollback-dialog", "the confirm step", |t| {
            t.contains(&first[..7])
        })
        .await?;
    screenshot(&browser, "application-rollback").await?;
    browser.click("#rollback-dialog-confirm").await?;
    browser
        .wait_text("#app-deployed", "the first revision deployed again", |t| {
            t == &first[..7]
        })
        .await?;
    browser
        .wait_text("#history tr", "the rollback newest in History", |t| {
            t.contains(&first[..7]) && t.contains("(current)")
        })
        .await?;
    browser
        .wait_text("#operation", "the rollback's outcome", |t| {
            t.contains("Succeeded")
        })
        .await?;
    // Git is ahead of what runs now: the page says so, and the cluster runs the first revision.
    browser
        .wait_text("#app-sync", "the app OutOfSync with git", |t| {
            t == "OutOfSync"
        })
        .await?;
    assert_eq!(greeting(&config_maps).await?.as_deref(), Some("first"));
    assert_eq!(stage(&config_maps).await?.as_deref(), Some("first"));
    browser
        .script(
            "document.getElementById('history-title').scrollIntoView();",
            json!([]),
        )
        .await?;
    screenshot(&browser, "application-history").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_finding_shows_with_its_fix_and_a_deployment_its_replica_set_and_pod()
-> anyhow::Result<()> {
    let api = ApiEnv::start("ui-guard", Config::default().user("admin", "admin-pw")).await?;
    let admin = api.login("admin", "admin-pw").await?;
    let env = &api.env;
    // A container running as root: the guard warns (the default project's mode).
    env.repo.write(
        "root/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n\
         \x20 selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n\
         \x20   spec:\n      containers: [{name: web, image: nginx:1.27, securityContext: {runAsUser: 0}}]\n",
    );
    env.repo.commit("root");
    let name = env.name("guarded");
    api.add_app(&name, "root", AUTOMATED, &admin).await?;
    let browser = Browser::start(false).await?;
    log_in(&browser, &api.base, ("admin", "admin-pw"), None).await?;
    browser
        .goto(&format!("{}/ui/applications/{name}", api.base))
        .await?;
    let shown = browser
        .wait_text(
            "#conditions li[data-condition=GuardWarning]",
            "the guard's warning",
            |t| t.contains("Deployment"),
        )
        .await?;
    // Each finding says what to set on which object.
    assert!(
        shown.contains("finding(s)") && shown.contains("set a non-zero runAsUser"),
        "{shown}"
    );
    let fix = browser
        .text("#conditions li[data-condition=GuardWarning] [data-field=fix]")
        .await?
        .unwrap_or_default();
    assert!(
        fix.starts_with("Fix:") && fix.contains("driftless.dev/waive"),
        "{fix}"
    );

    // The Deployment's ReplicaSet and Pod (the cluster's controllers made them) hang below it.
    browser
        .wait_text(
            "tr[data-child^=\"Pod/web-\"]",
            "the Deployment's Pod in the tree",
            |t| t.contains("Pod"),
        )
        .await?;
    let order = browser
        .script(
            "return [...document.querySelectorAll('#resources tr[data-resource], #resources tr[data-child]')].map(r => (r.dataset.resource || r.dataset.child).split('/')[0]).join(',');",
            json!([]),
        )
        .await?;
    assert_eq!(
        order, "Deployment,ReplicaSet,Pod",
        "owners above what they own"
    );
    browser
        .script(
            "document.getElementById('conditions-title').scrollIntoView();",
            json!([]),
        )
        .await?;
    screenshot(&browser, "application-owned").await?;
    Ok(())
}
