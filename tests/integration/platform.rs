//! The reference AI platform (examples/ai-platform) end to end, as `make demo` runs it: the
//! example served as a git repository over HTTP, the root Application applied, every
//! Application Synced and Healthy; then a namespace file added and deleted in git creates and
//! removes that namespace. driftless runs as it would once installed: the install (the Helm
//! chart, cluster-wide) applied, then the binary in an emulated pod with nothing but a token
//! of the install's ServiceAccount, so the platform syncs with what the install grants.
//!
//! The platform's namespaces (litellm, monitoring, …) are cluster-wide, so this test and
//! `make demo` must not run on the same cluster at the same time.

use crate::api::{Config, write_config};
use crate::install::{copy_dir, install_chart, uninstall_chart};
use crate::pod::{Pod, free_port};
use crate::ui::{log_in, screenshot};
use driftless_source::testing::GitHttpServer;
use driftless_testkit::webdriver::{ARROW_RIGHT, Browser};
use driftless_testkit::{TestNamespace, install_argo_crds, wait_until};
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::Api;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ADMIN_PASSWORD: &str = "platform-admin-pw";
const EXAMPLE_URL: &str = "http://127.0.0.1:8480/ai-platform.git";
const APPS: usize = 16; // root + 8 components + the 7 generated namespace apps

/// Points every repoURL at `url` and every Application at the test's app namespace.
fn retarget(dir: &Path, url: &str, app_namespace: &str) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            retarget(&path, url, app_namespace)?;
        } else if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path)?;
            let changed = text
                .replace(EXAMPLE_URL, url)
                .replace("namespace: argocd", &format!("namespace: {app_namespace}"));
            if changed != text {
                std::fs::write(&path, changed)?;
            }
        }
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=platform-team",
            "-c",
            "user.email=platform@example.invalid",
        ])
        .args(args)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "git {args:?} failed");
}

fn status_of(app: &Value) -> (String, String) {
    let s = &app["status"];
    (
        s["sync"]["status"].as_str().unwrap_or("").into(),
        s["health"]["status"].as_str().unwrap_or("").into(),
    )
}

#[tokio::test]
async fn the_ai_platform_converges_and_namespace_files_create_and_remove_namespaces()
-> anyhow::Result<()> {
    let ns = TestNamespace::new("platform").await?;
    install_argo_crds(&ns.client, env!("CARGO_BIN_EXE_driftless")).await?;
    let served = tempfile::tempdir()?;
    let repo = served.path().join("ai-platform.git");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ai-platform"),
        &repo,
    )?;
    let server = GitHttpServer::start(served.path())?;
    let url = server.url("ai-platform.git");
    retarget(&repo, &url, &ns.name)?;
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "AI platform"]);

    let token = install_chart(&ns, &[]).await?;
    let cache = tempfile::tempdir()?;
    let pod = Pod::new(&ns.name, &token)?;
    let health = format!("127.0.0.1:{}", free_port()?);
    // The API and web UI too, with an admin who logs in to look at the tree.
    let api = format!("127.0.0.1:{}", free_port()?);
    write_config(&ns, &Config::default().user("admin", ADMIN_PASSWORD)).await?;
    let mut serve = pod.serve(
        &ns.name,
        cache.path(),
        &[
            "--leader-elect",
            "--health-listen",
            &health,
            "--api-listen",
            &api,
            "--insecure",
        ],
    )?;
    serve.start()?;
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application");
    let apps: Api<DynamicObject> =
        Api::namespaced_with(ns.client.clone(), &ns.name, &ApiResource::from_gvk(&gvk));

    let result = async {
        let started = Instant::now();
        let root: Value =
            serde_norway::from_str(&std::fs::read_to_string(repo.join("bootstrap/root.yaml"))?)?;
        apps.patch(
            "ai-platform",
            &PatchParams::apply("kubectl").force(),
            &Patch::Apply(&root),
        )
        .await?;
        let converged = wait_until(
            Duration::from_secs(420),
            "every Application Synced and Healthy",
            || async {
                let list = apps.list(&ListParams::default()).await?;
                let states: Vec<(String, (String, String))> = list
                    .items
                    .iter()
                    .map(|a| {
                        (
                            a.metadata.name.clone().unwrap_or_default(),
                            status_of(&serde_json::to_value(a).unwrap_or_default()),
                        )
                    })
                    .collect();
                let done = states.len() >= APPS
                    && states
                        .iter()
                        .all(|(_, (s, h))| s == "Synced" && h == "Healthy");
                Ok(done.then_some(states))
            },
        )
        .await;
        let states = match converged {
            Ok(states) => states,
            Err(error) => {
                let list = apps.list(&ListParams::default()).await?;
                let seen: Vec<String> = list
                    .items
                    .iter()
                    .map(|a| {
                        let v = serde_json::to_value(a).unwrap_or_default();
                        format!(
                            "{} {:?} {}",
                            a.metadata.name.clone().unwrap_or_default(),
                            status_of(&v),
                            v["status"]["conditions"]
                        )
                    })
                    .collect();
                anyhow::bail!("{error}\n{}\n{}", seen.join("\n"), log_tail(&serve.log()));
            }
        };
        eprintln!(
            "platform converged in {:?}: {} applications",
            started.elapsed(),
            states.len()
        );

        shown_in_the_tree(&format!("http://{api}"), &apps).await?;

        // Routing through the rendered tree, offline, as `driftless route` tells it.
        let out = Command::new(env!("CARGO_BIN_EXE_driftless"))
            .args([
                "route",
                "--host",
                "llm-platform.ai-platform.example.internal",
                "--path",
                "/v1/chat",
            ])
            .arg(&repo)
            .output()?;
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("llm-platform-api"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );

        // A namespace file committed to git becomes a namespace with its default-deny policy …
        std::fs::write(
            repo.join("namespaces/team-a.yaml"),
            "name: team-a\nteam: data-science\nquota:\n  pods: \"4\"\nallow: []\n",
        )?;
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-qm", "namespace for team-a"]);
        let committed = Instant::now();
        let namespaces: Api<Namespace> = Api::all(ns.client.clone());
        let policies: Api<NetworkPolicy> = Api::namespaced(ns.client.clone(), "team-a");
        wait_until(
            Duration::from_secs(120),
            "namespace team-a with its NetworkPolicy",
            || async {
                let exists = namespaces.get_opt("team-a").await?.is_some();
                Ok((exists
                    && !policies
                        .list(&ListParams::default())
                        .await?
                        .items
                        .is_empty())
                .then_some(()))
            },
        )
        .await?;
        eprintln!(
            "namespace team-a created {:?} after the commit",
            committed.elapsed()
        );
        // … and deleting the file deletes it.
        std::fs::remove_file(repo.join("namespaces/team-a.yaml"))?;
        git(&repo, &["commit", "-qam", "team-a is gone"]);
        wait_until(
            Duration::from_secs(120),
            "namespace team-a to be deleted",
            || async {
                let gone = namespaces
                    .get_opt("team-a")
                    .await?
                    .is_none_or(|n| n.metadata.deletion_timestamp.is_some());
                Ok(gone.then_some(()))
            },
        )
        .await?;
        anyhow::Ok(())
    }
    .await;

    // Tear the platform down through the root's cascade while the controller still runs. The
    // StatefulSets' claims are no app's: deleted first (they go once their pods do), so the
    // static PersistentVolumes they bind are not held by pv-protection and the `data` app's
    // deletion, and with it the root's, can finish; else the next run finds them Terminating.
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ns.client.clone(), "data");
    let _ = claims
        .delete_collection(&DeleteParams::background(), &ListParams::default())
        .await;
    let _ = apps
        .delete("ai-platform", &DeleteParams::foreground())
        .await;
    let _ = wait_until(
        Duration::from_secs(240),
        "the platform's Applications to be deleted",
        || async {
            Ok(apps
                .list(&ListParams::default())
                .await?
                .items
                .is_empty()
                .then_some(()))
        },
    )
    .await;
    serve.kill();
    uninstall_chart(&ns).await;
    result
}

/// The converged platform in the web UI as its users see it: one root, and under it, expanded,
/// every other app (the ones it manages, and the ones its ApplicationSet generated), each Synced
/// and Healthy, in the App-of-Apps tree.
async fn shown_in_the_tree(base: &str, apps: &Api<DynamicObject>) -> anyhow::Result<()> {
    let children: Vec<String> = apps
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|a| a.metadata.name)
        .filter(|name| name != "ai-platform")
        .collect();
    let browser = Browser::start(false).await?;
    log_in(&browser, base, ("admin", ADMIN_PASSWORD), None).await?;
    browser.goto(&format!("{base}/ui/tree")).await?;
    let cell = |path: &str, field: &str| {
        format!("li[data-path=\"{path}\"] > .tree-row [data-field={field}]")
    };
    browser
        .wait_text(&cell("ai-platform", "health"), "the root Healthy", |t| {
            t == "Healthy"
        })
        .await?;
    browser
        .type_into("li[data-path=\"ai-platform\"]", ARROW_RIGHT)
        .await?;
    for child in &children {
        let path = format!("ai-platform/{child}");
        browser
            .wait_text(&cell(&path, "sync"), &format!("{child} Synced"), |t| {
                t == "Synced"
            })
            .await?;
        let health = browser.text(&cell(&path, "health")).await?;
        assert_eq!(health.as_deref(), Some("Healthy"), "{child} in the tree");
    }
    let roots = browser
        .script(
            "return document.querySelectorAll('#tree > li').length;",
            serde_json::json!([]),
        )
        .await?;
    assert_eq!(roots, 1, "one root: every other app is under it");
    println!(
        "platform: the UI's tree shows the root and its {} apps",
        children.len()
    );
    screenshot(&browser, "platform-tree").await
}

fn log_tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
