//! The harness of the controller tests: a test namespace that is also the controller's app
//! namespace, a git repository, and controllers running in-process; plus manifest builders.

use driftless_controller::{Controller, ControllerConfig, Handle};
use driftless_source::testing::ScratchRepo;
use driftless_testkit::{TestNamespace, install_argo_crds, wait_until};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) const TIMEOUT: Duration = Duration::from_secs(120);

/// A controller started by the harness: the handle that stops it alone, and its counters.
pub(crate) type Spawned = (tokio::task::AbortHandle, Handle);

/// A test namespace that is also the controller's app namespace, a git repository, and the
/// controller itself (stopped, and the Applications' finalizers removed, when dropped).
pub(crate) struct Gitops {
    pub(crate) repo: ScratchRepo,
    pub(crate) cache: tempfile::TempDir,
    /// Every controller started, to stop them all at the end.
    pub(crate) controllers: Vec<tokio::task::AbortHandle>,
    pub(crate) ns: TestNamespace,
}

impl Gitops {
    pub(crate) async fn new(prefix: &str) -> anyhow::Result<Self> {
        // RUST_LOG=driftless_controller=debug shows what the controller does (with --nocapture).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let ns = TestNamespace::new(prefix).await?;
        install_argo_crds(&ns.client, env!("CARGO_BIN_EXE_driftless")).await?;
        Ok(Self {
            repo: ScratchRepo::new(),
            cache: tempfile::tempdir()?,
            controllers: Vec::new(),
            ns,
        })
    }

    /// A name unique to this test: tracked objects of different tests never share an owner.
    pub(crate) fn name(&self, short: &str) -> String {
        format!("{}-{short}", self.ns.name)
    }

    pub(crate) async fn start(&mut self) -> anyhow::Result<Handle> {
        self.start_with(|_| {}).await
    }

    pub(crate) async fn start_with(
        &mut self,
        adjust: impl FnOnce(&mut ControllerConfig),
    ) -> anyhow::Result<Handle> {
        Ok(self.spawn(adjust).await?.1)
    }

    /// Starts one more controller; the abort handle stops just this one.
    pub(crate) async fn spawn(
        &mut self,
        adjust: impl FnOnce(&mut ControllerConfig),
    ) -> anyhow::Result<Spawned> {
        // As `driftless serve` makes it: its requests are counted in the metrics.
        let config = kube::Config::infer().await?;
        let client = driftless_controller::runtime::kube_requests::counted_client(config)?;
        self.spawn_on(client, adjust).await
    }

    /// [`Gitops::spawn`] with the controller talking to the API server through `client`.
    pub(crate) async fn spawn_on(
        &mut self,
        client: kube::Client,
        adjust: impl FnOnce(&mut ControllerConfig),
    ) -> anyhow::Result<Spawned> {
        let mut config = ControllerConfig::new(self.ns.name.clone(), self.cache.path());
        config.poll_interval = Duration::from_secs(1);
        config.resync_interval = Duration::from_secs(30);
        config.sync_poll = Duration::from_millis(500);
        // Tests run side by side on one cluster, each with its own controller.
        config.installation_id = Some(self.ns.name.clone());
        adjust(&mut config);
        let controller = Controller::new(client, config).await?;
        let handle = controller.handle();
        let task = tokio::spawn(async move {
            if let Err(error) = controller.run().await {
                eprintln!("controller stopped: {error}");
            }
        });
        self.controllers.push(task.abort_handle());
        Ok((task.abort_handle(), handle))
    }

    pub(crate) fn stop(&mut self) {
        for task in self.controllers.drain(..) {
            task.abort();
        }
    }

    /// The objects of an Argo CD kind (Application, ApplicationSet, AppProject) in the namespace.
    pub(crate) fn argo(&self, kind: &str) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", kind);
        Api::namespaced_with(
            self.ns.client.clone(),
            &self.ns.name,
            &ApiResource::from_gvk(&gvk),
        )
    }

    pub(crate) fn apps(&self) -> Api<DynamicObject> {
        self.argo("Application")
    }

    /// `kubectl apply -f` of an Argo CD manifest (Application, ApplicationSet or AppProject).
    pub(crate) async fn apply(&self, manifest: &str) -> anyhow::Result<()> {
        let value: Value = serde_norway::from_str(manifest)?;
        let kind = value["kind"].as_str().unwrap_or_default().to_string();
        let name = value["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.argo(&kind)
            .patch(
                &name,
                &PatchParams::apply("kubectl").force(),
                &Patch::Apply(&value),
            )
            .await?;
        Ok(())
    }

    /// `kubectl apply -f` of an Application.
    pub(crate) async fn apply_app(&self, manifest: &str) -> anyhow::Result<()> {
        self.apply(manifest).await
    }

    /// An Argo CD object as JSON, if it exists.
    pub(crate) async fn get(&self, kind: &str, name: &str) -> anyhow::Result<Option<Value>> {
        Ok(self
            .argo(kind)
            .get_opt(name)
            .await?
            .map(|o| serde_json::to_value(o).unwrap_or_default()))
    }

    pub(crate) async fn app(&self, name: &str) -> anyhow::Result<Option<Value>> {
        self.get("Application", name).await
    }

    /// Waits until the app's object satisfies `check`; on timeout shows its status.
    pub(crate) async fn wait_app(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let waited = wait_until(TIMEOUT, &format!("app {name}: {what}"), || async {
            Ok(self.app(name).await?.filter(|a| check(a)))
        })
        .await;
        match waited {
            Ok(app) => Ok(app),
            Err(error) => {
                let app = self.app(name).await.ok().flatten().unwrap_or_default();
                let shown = json!({"operation": app["operation"], "status": app["status"]});
                anyhow::bail!(
                    "{error}\nlast seen: {}",
                    serde_json::to_string_pretty(&shown).unwrap_or_default()
                )
            }
        }
    }

    pub(crate) async fn wait_synced_healthy(&self, name: &str) -> anyhow::Result<Value> {
        self.wait_app(name, "Synced and Healthy", |a| {
            sync_of(a) == "Synced" && health_of(a) == "Healthy"
        })
        .await
    }

    pub(crate) fn deployments(&self) -> Api<Deployment> {
        self.ns.api()
    }
}

impl Drop for Gitops {
    fn drop(&mut self) {
        self.stop();
        // Applications keep the resources finalizer; with no controller left, strip it so the
        // namespace can go.
        let name = self.ns.name.clone();
        driftless_testkit::run_detached(move |client| async move {
            driftless_testkit::strip_application_finalizers(client, &name).await;
        });
    }
}

pub(crate) fn sync_of(app: &Value) -> &str {
    app["status"]["sync"]["status"].as_str().unwrap_or_default()
}

pub(crate) fn health_of(app: &Value) -> &str {
    app["status"]["health"]["status"]
        .as_str()
        .unwrap_or_default()
}

pub(crate) fn deployment(name: &str, image: &str, wave: Option<i32>) -> String {
    let wave = wave
        .map(|w| format!("\n  annotations: {{argocd.argoproj.io/sync-wave: \"{w}\"}}"))
        .unwrap_or_default();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}{wave}\nspec:\n  replicas: 1\n\
         \x20 selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n\
         \x20   spec:\n      containers: [{{name: web, image: \"{image}\"}}]\n"
    )
}

/// An Application of `path` in `repo`, deploying to `namespace`, with extra YAML for its spec
/// (indented for `spec:`) and for its metadata.
pub(crate) fn application(
    name: &str,
    namespace: &str,
    repo: &str,
    path: &str,
    spec_extra: &str,
    meta_extra: &str,
) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: {namespace}\n{meta_extra}\
         spec:\n  project: default\n  source:\n    repoURL: {repo}\n    targetRevision: HEAD\n    path: {path}\n\
         \x20 destination:\n    server: https://kubernetes.default.svc\n    namespace: {namespace}\n{spec_extra}"
    )
}

pub(crate) const AUTOMATED: &str = "  syncPolicy:\n    automated: {prune: true, selfHeal: true}\n";
pub(crate) const CASCADE: &str = "  finalizers: [resources-finalizer.argocd.argoproj.io]\n";

pub(crate) async fn image_of(api: &Api<Deployment>, name: &str) -> anyhow::Result<Option<String>> {
    Ok(api
        .get_opt(name)
        .await?
        .and_then(|d| d.spec)
        .and_then(|s| s.template.spec)
        .and_then(|s| s.containers.first().and_then(|c| c.image.clone())))
}

/// The ConfigMap `settings` with one `greeting`, as YAML for the repository.
pub(crate) fn settings(greeting: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: {greeting}\n"
    )
}

/// The `greeting` of the live ConfigMap `settings`, if it exists.
pub(crate) async fn greeting(api: &Api<ConfigMap>) -> anyhow::Result<Option<String>> {
    Ok(api
        .get_opt("settings")
        .await?
        .and_then(|c| c.data)
        .and_then(|d| d.get("greeting").cloned()))
}

/// A wave-0 LoadBalancer Service named `gate`: Progressing until it gets an address
/// ([`open_gate`]), so a sync waits in wave 0 for as long as a test wants.
pub(crate) const GATE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: gate\n  annotations: {argocd.argoproj.io/sync-wave: \"0\"}\n\
                spec:\n  type: LoadBalancer\n  selector: {app: none}\n  ports: [{port: 80}]\n";

/// Gives the `gate` Service its load-balancer address (what a cloud controller would do).
pub(crate) async fn open_gate(
    services: &Api<k8s_openapi::api::core::v1::Service>,
) -> Result<(), kube::Error> {
    let address = json!({"status": {"loadBalancer": {"ingress": [{"ip": "10.9.9.9"}]}}});
    services
        .patch_status("gate", &PatchParams::default(), &Patch::Merge(&address))
        .await
        .map(|_| ())
}

impl Gitops {
    /// Waits until the app's sync is Running and waiting (for the gate, say).
    pub(crate) async fn wait_sync_waiting(&self, name: &str) -> anyhow::Result<Value> {
        self.wait_app(name, "the sync waiting in a wave", |a| {
            let op = &a["status"]["operationState"];
            op["phase"] == "Running" && op["driftlessSyncState"]["current"]["stage"] == "Wait"
        })
        .await
    }
}
