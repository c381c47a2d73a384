//! `driftless serve` end to end on the real cluster: a controller runs in-process for the test's
//! namespace, and the test drives it only through git commits and API calls a user would make
//! with kubectl, then checks what a user would check: the Applications' status and the objects.

use driftless_controller::{Controller, ControllerConfig, Handle};
use driftless_source::testing::ScratchRepo;
use driftless_testkit::{install_argo_crds, wait_until, TestNamespace};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use kube::Api;
use serde_json::{json, Value};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);

/// A test namespace that is also the controller's app namespace, a git repository, and the
/// controller itself (stopped, and the Applications' finalizers removed, when dropped).
struct Gitops {
    repo: ScratchRepo,
    cache: tempfile::TempDir,
    controller: Option<(tokio::task::JoinHandle<()>, Handle)>,
    ns: TestNamespace,
}

impl Gitops {
    async fn new(prefix: &str) -> anyhow::Result<Self> {
        let ns = TestNamespace::new(prefix).await?;
        install_argo_crds(&ns.client, env!("CARGO_BIN_EXE_driftless")).await?;
        Ok(Self { repo: ScratchRepo::new(), cache: tempfile::tempdir()?, controller: None, ns })
    }

    /// A name unique to this test: tracked objects of different tests never share an owner.
    fn name(&self, short: &str) -> String {
        format!("{}-{short}", self.ns.name)
    }

    async fn start(&mut self) -> anyhow::Result<Handle> {
        let mut config = ControllerConfig::new(self.ns.name.clone(), self.cache.path());
        config.poll_interval = Duration::from_secs(1);
        config.resync_interval = Duration::from_secs(30);
        config.sync_poll = Duration::from_millis(500);
        let controller = Controller::new(self.ns.client.clone(), config).await?;
        let handle = controller.handle();
        let task = tokio::spawn(async move {
            if let Err(error) = controller.run().await {
                eprintln!("controller stopped: {error}");
            }
        });
        self.controller = Some((task, handle.clone()));
        Ok(handle)
    }

    fn stop(&mut self) {
        if let Some((task, _)) = self.controller.take() {
            task.abort();
        }
    }

    fn apps(&self) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application");
        Api::namespaced_with(self.ns.client.clone(), &self.ns.name, &ApiResource::from_gvk(&gvk))
    }

    /// `kubectl apply -f` of an Application.
    async fn apply_app(&self, manifest: &str) -> anyhow::Result<()> {
        let value: Value = serde_norway::from_str(manifest)?;
        let name = value["metadata"]["name"].as_str().unwrap_or_default().to_string();
        self.apps().patch(&name, &PatchParams::apply("kubectl").force(), &Patch::Apply(&value)).await?;
        Ok(())
    }

    async fn app(&self, name: &str) -> anyhow::Result<Option<Value>> {
        Ok(self.apps().get_opt(name).await?.map(|a| serde_json::to_value(a).unwrap_or_default()))
    }

    /// Waits until the app's object satisfies `check`; on timeout shows its status.
    async fn wait_app(&self, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
        let waited = wait_until(TIMEOUT, &format!("app {name}: {what}"), || async {
            Ok(self.app(name).await?.filter(|a| check(a)))
        })
        .await;
        match waited {
            Ok(app) => Ok(app),
            Err(error) => {
                let status = self.app(name).await.ok().flatten().map(|a| a["status"].clone()).unwrap_or_default();
                anyhow::bail!("{error}\nlast status: {}", serde_json::to_string_pretty(&status).unwrap_or_default())
            }
        }
    }

    async fn wait_synced_healthy(&self, name: &str) -> anyhow::Result<Value> {
        self.wait_app(name, "Synced and Healthy", |a| sync_of(a) == "Synced" && health_of(a) == "Healthy").await
    }

    fn deployments(&self) -> Api<Deployment> {
        self.ns.api()
    }
}

impl Drop for Gitops {
    fn drop(&mut self) {
        self.stop();
        // Applications keep the resources finalizer; with no controller left, strip it so the
        // namespace can go.
        let name = self.ns.name.clone();
        let done = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                let Ok(client) = driftless_testkit::client().await else { return };
                let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application");
                let apps: Api<DynamicObject> = Api::namespaced_with(client, &name, &ApiResource::from_gvk(&gvk));
                let Ok(list) = apps.list(&ListParams::default()).await else { return };
                for app in list.items {
                    if let Some(app_name) = app.metadata.name {
                        let patch = Patch::Merge(json!({"metadata": {"finalizers": null}}));
                        let _ = apps.patch(&app_name, &PatchParams::default(), &patch).await;
                    }
                }
            });
        });
        let _ = done.join();
    }
}

fn sync_of(app: &Value) -> &str {
    app["status"]["sync"]["status"].as_str().unwrap_or_default()
}

fn health_of(app: &Value) -> &str {
    app["status"]["health"]["status"].as_str().unwrap_or_default()
}

fn deployment(name: &str, image: &str, wave: Option<i32>) -> String {
    let wave = wave.map(|w| format!("\n  annotations: {{argocd.argoproj.io/sync-wave: \"{w}\"}}")).unwrap_or_default();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}{wave}\nspec:\n  replicas: 1\n\
         \x20 selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n\
         \x20   spec:\n      containers: [{{name: web, image: \"{image}\"}}]\n"
    )
}

/// An Application of `path` in `repo`, deploying to `namespace`, with extra YAML for its spec
/// (indented for `spec:`) and for its metadata.
fn application(name: &str, namespace: &str, repo: &str, path: &str, spec_extra: &str, meta_extra: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: {namespace}\n{meta_extra}\
         spec:\n  project: default\n  source:\n    repoURL: {repo}\n    targetRevision: HEAD\n    path: {path}\n\
         \x20 destination:\n    server: https://kubernetes.default.svc\n    namespace: {namespace}\n{spec_extra}"
    )
}

const AUTOMATED: &str = "  syncPolicy:\n    automated: {prune: true, selfHeal: true}\n";
const CASCADE: &str = "  finalizers: [resources-finalizer.argocd.argoproj.io]\n";

async fn image_of(api: &Api<Deployment>, name: &str) -> anyhow::Result<Option<String>> {
    Ok(api
        .get_opt(name)
        .await?
        .and_then(|d| d.spec)
        .and_then(|s| s.template.spec)
        .and_then(|s| s.containers.first().and_then(|c| c.image.clone())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_of_apps_follows_git_commits_adding_changing_and_deleting_children() -> anyhow::Result<()> {
    let mut env = Gitops::new("tree").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    for child in ["a", "b", "c"] {
        let app = application(&env.name(child), &ns, &url, &format!("children/{child}"), AUTOMATED, CASCADE);
        env.repo.write(&format!("apps/{child}.yaml"), app);
        env.repo.write(&format!("children/{child}/web.yaml"), deployment(&format!("web-{child}"), "nginx:1.27", None));
    }
    env.repo.commit("three child apps");
    env.start().await?;
    let root = env.name("root");
    env.apply_app(&application(&root, &ns, &url, "apps", "  syncPolicy:\n    automated: {prune: true}\n", "")).await?;

    // The whole tree comes up: the root, its three children, and their Deployments.
    let root_app = env.wait_synced_healthy(&root).await?;
    for child in ["a", "b", "c"] {
        env.wait_synced_healthy(&env.name(child)).await?;
        assert!(env.deployments().get_opt(&format!("web-{child}")).await?.is_some(), "web-{child} exists");
    }
    let kinds: Vec<&str> = root_app["status"]["resources"].as_array().into_iter().flatten().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds, ["Application"; 3], "the root manages the three child Applications");
    assert_eq!(root_app["status"]["sync"]["revision"], env.repo.head());

    // A commit adding a child app creates it and syncs it.
    env.repo.write("apps/d.yaml", application(&env.name("d"), &ns, &url, "children/d", AUTOMATED, CASCADE));
    env.repo.write("children/d/web.yaml", deployment("web-d", "nginx:1.27", None));
    env.repo.commit("add child d");
    env.wait_synced_healthy(&env.name("d")).await?;
    assert!(env.deployments().get_opt("web-d").await?.is_some(), "web-d was created");

    // A commit changing an image tag rolls it out.
    env.repo.write("children/a/web.yaml", deployment("web-a", "nginx:1.28", None));
    let bumped = env.repo.commit("bump web-a to 1.28");
    let a = env
        .wait_app(&env.name("a"), "synced to the bump", |a| {
            a["status"]["sync"]["revision"] == bumped.as_str() && sync_of(a) == "Synced" && health_of(a) == "Healthy"
        })
        .await?;
    assert_eq!(image_of(&env.deployments(), "web-a").await?.as_deref(), Some("nginx:1.28"));
    assert_eq!(a["status"]["summary"]["images"], json!(["nginx:1.28"]));
    let history = a["status"]["history"].as_array().cloned().unwrap_or_default();
    assert_eq!(history.last().map(|h| h["revision"].clone()), Some(json!(bumped)), "history records the rollout");
    assert_eq!(a["status"]["operationState"]["phase"], "Succeeded");

    // A commit deleting a child app prunes it, and its finalizer takes its objects with it.
    env.repo.remove("apps/b.yaml").commit("drop child b");
    wait_until(TIMEOUT, "child b and web-b to be gone", || async {
        let gone = env.app(&env.name("b")).await?.is_none() && env.deployments().get_opt("web-b").await?.is_none();
        Ok(gone.then_some(()))
    })
    .await?;
    assert!(env.deployments().get_opt("web-c").await?.is_some(), "siblings are untouched");
    env.wait_synced_healthy(&root).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_reverted_with_self_heal_and_only_shown_without_it() -> anyhow::Result<()> {
    let mut env = Gitops::new("heal").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    env.repo.write("healed/web.yaml", deployment("healed", "nginx:1.27", None));
    env.repo.write("shown/web.yaml", deployment("shown", "nginx:1.27", None));
    env.repo.commit("two apps");
    let handle = env.start().await?;
    let (healing, showing) = (env.name("healing"), env.name("showing"));
    env.apply_app(&application(&healing, &ns, &url, "healed", AUTOMATED, "")).await?;
    let no_heal = "  syncPolicy:\n    automated: {prune: true}\n";
    env.apply_app(&application(&showing, &ns, &url, "shown", no_heal, "")).await?;
    env.wait_synced_healthy(&healing).await?;
    env.wait_synced_healthy(&showing).await?;

    // `kubectl scale` on both Deployments.
    let deployments = env.deployments();
    let scale = PatchParams { field_manager: Some("kubectl".into()), ..Default::default() };
    for name in ["healed", "shown"] {
        deployments.patch_scale(name, &scale, &Patch::Merge(json!({"spec": {"replicas": 3}}))).await?;
    }
    wait_until(TIMEOUT, "self-heal to scale `healed` back to 1", || async {
        let replicas = deployments.get("healed").await?.spec.and_then(|s| s.replicas);
        Ok((replicas == Some(1)).then_some(()))
    })
    .await?;
    let shown = env.wait_app(&showing, "OutOfSync", |a| sync_of(a) == "OutOfSync").await?;
    let resource = shown["status"]["resources"].as_array().into_iter().flatten().find(|r| r["name"] == "shown").cloned();
    assert_eq!(resource.map(|r| r["status"].clone()), Some(json!("OutOfSync")), "the drifted object is named");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(deployments.get("shown").await?.spec.and_then(|s| s.replicas), Some(3), "without selfHeal the drift stays");
    env.wait_synced_healthy(&healing).await?;

    // `kubectl edit` of the image on the healing app is reverted too.
    let edit = PatchParams { field_manager: Some("kubectl-edit".into()), ..Default::default() };
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:9.9"}]}}}});
    deployments.patch("healed", &edit, &Patch::Strategic(patch)).await?;
    wait_until(TIMEOUT, "self-heal to restore the image", || async {
        Ok((image_of(&deployments, "healed").await?.as_deref() == Some("nginx:1.27")).then_some(()))
    })
    .await?;

    // One ref check per repository per poll, not one per app: two apps, one repository.
    let (listings_before, fetches_before) = handle.git_network_counts();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (listings_after, _) = handle.git_network_counts();
    let listings = listings_after - listings_before;
    assert!((3..=9).contains(&listings), "{listings} ref listings in 6 s at a 1 s poll for one repository");
    // One fetch per new commit, however many apps use the repository.
    env.repo.write("unrelated.txt", "x").commit("touch the repo");
    env.wait_app(&healing, "compared with the new commit", |a| a["status"]["sync"]["revision"] == env.repo.head().as_str()).await?;
    env.wait_app(&showing, "compared with the new commit", |a| a["status"]["sync"]["revision"] == env.repo.head().as_str()).await?;
    let (_, fetches_after) = handle.git_network_counts();
    assert_eq!(fetches_after - fetches_before, 1, "one fetch for one commit used by two apps");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_render_is_reported_and_keeps_the_last_state_pruning_nothing() -> anyhow::Result<()> {
    let mut env = Gitops::new("badrender").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let cm = |name: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{a: \"1\"}}\n");
    env.repo.write("app/one.yaml", cm("one")).write("app/two.yaml", cm("two"));
    let good = env.repo.commit("two config maps");
    let handle = env.start().await?;
    let name = env.name("app");
    env.apply_app(&application(&name, &ns, &url, "app", AUTOMATED, "")).await?;
    env.wait_synced_healthy(&name).await?;

    // Break the YAML and drop `two` in the same commit: the render fails, so nothing is pruned.
    env.repo.remove("app/two.yaml");
    env.repo.write("app/one.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one\ndata: [\n");
    env.repo.commit("broken");
    let broken = env
        .wait_app(&name, "a ComparisonError", |a| {
            a["status"]["conditions"].as_array().into_iter().flatten().any(|c| c["type"] == "ComparisonError")
        })
        .await?;
    let message = broken["status"]["conditions"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("one.yaml"), "the condition names the broken file: {message}");
    assert_eq!(broken["status"]["sync"]["revision"], good.as_str(), "the last good comparison is kept");
    assert_eq!(sync_of(&broken), "Synced");
    let cms: Api<ConfigMap> = env.ns.api();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(cms.get_opt("two").await?.is_some(), "nothing was pruned after the failed render");

    // No status write loop: an idle app with a standing error is not rewritten.
    let writes = handle.status_writes();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(handle.status_writes(), writes, "status is written only when it changes");

    // Fixing git clears the condition and the prune happens.
    env.repo.write("app/one.yaml", cm("one")).commit("fixed");
    env.wait_app(&name, "the condition cleared and synced", |a| {
        a["status"]["conditions"].is_null() && sync_of(a) == "Synced" && a["status"]["sync"]["revision"] == env.repo.head().as_str()
    })
    .await?;
    wait_until(TIMEOUT, "`two` to be pruned", || async { Ok(cms.get_opt("two").await?.is_none().then_some(())) }).await?;
    Ok(())
}
