//! driftless's install (install/helm/driftless, rendered into install/kustomize): `driftless
//! check` finds nothing wrong with it, and driftless manages its own install from git
//! (examples/self-managed). Under the local control plane the Deployment's pods are KWOK's
//! fakes, so "Healthy" means KWOK made them ready, not that driftless ran in them.

use driftless_controller::{Controller, ControllerConfig};
use driftless_source::testing::{GitHttpServer, ScratchRepo};
use driftless_testkit::{TestNamespace, install_argo_crds, wait_until};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::Api;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn find_helm() -> Option<PathBuf> {
    driftless_render::Tools::discover()
        .helm
        .or_else(driftless_testkit::built_helm)
}

/// `driftless check --format json` over `root` (an Application file) with the workspace as the
/// repository: the exit code and the findings.
fn check(root: &Path) -> (Option<i32>, Vec<Value>) {
    let helm = find_helm()
        .expect("helm not found: set DRIFTLESS_HELM, put helm on PATH, or run hack/build-tools");
    let out = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args(["check", "--format", "json", "--repo-root"])
        .arg(workspace())
        .arg("--root")
        .arg(root)
        .arg(workspace())
        .env("DRIFTLESS_HELM", helm)
        .output()
        .expect("driftless starts");
    let findings = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a JSON array ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), findings)
}

/// A root Application deploying `path` of the workspace, as `check` reads it.
fn root_app(dir: &Path, path: &str) -> PathBuf {
    let file = dir.join("root.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: install\n  namespace: argocd\n\
             spec:\n  project: default\n  source:\n    repoURL: https://git.example.com/platform/driftless.git\n\
             \x20   path: {path}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: argocd\n"
        ),
    )
    .expect("write the root Application");
    file
}

#[test]
fn check_finds_nothing_in_the_install() {
    let dir = tempfile::tempdir().expect("temp dir");
    let roots = [
        (
            "the chart (self-managed example)",
            workspace().join("examples/self-managed/driftless.yaml"),
        ),
        (
            "the Kustomize base",
            root_app(dir.path(), "install/kustomize/base"),
        ),
    ];
    for (what, root) in roots {
        let (code, findings) = check(&root);
        assert_eq!(
            (code, findings.len()),
            (Some(0), 0),
            "{what}: {findings:#?}"
        );
    }
    let namespaced_dir = tempfile::tempdir().expect("temp dir");
    let (code, findings) = check(&root_app(
        namespaced_dir.path(),
        "install/kustomize/namespaced",
    ));
    assert_eq!(
        (code, findings.len()),
        (Some(0), 0),
        "namespaced: {findings:#?}"
    );
    // Namespaced mode lists its kinds: nothing there needs the wildcard waiver.
    let namespaced =
        std::fs::read_to_string(workspace().join("install/kustomize/namespaced/install.yaml"))
            .expect("read the namespaced install");
    assert!(
        !namespaced.contains("driftless.dev/waive"),
        "the namespaced install waives a rule"
    );
    assert!(
        !namespaced.contains("kind: ClusterRole"),
        "the namespaced install has a ClusterRole"
    );
}

pub(crate) fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn sync_and_health(app: &DynamicObject) -> (String, String, String) {
    let s = &app.data["status"];
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    (
        text(&s["sync"]["status"]),
        text(&s["health"]["status"]),
        text(&s["sync"]["revision"]),
    )
}

/// Waits until the app `driftless` is Synced and Healthy at `revision`; else says where it is.
async fn converged(apps: &Api<DynamicObject>, revision: &str) -> anyhow::Result<()> {
    let waited = wait_until(
        Duration::from_secs(180),
        "driftless Synced and Healthy at the commit",
        || async {
            let app = apps.get("driftless").await?;
            let (sync, health, rev) = sync_and_health(&app);
            Ok((sync == "Synced" && health == "Healthy" && rev == revision).then_some(()))
        },
    )
    .await;
    if let Err(error) = waited {
        let app = apps.get("driftless").await?;
        anyhow::bail!(
            "{error}: {:?} {}",
            sync_and_health(&app),
            app.data["status"]["conditions"]
        );
    }
    Ok(())
}

/// The ReplicaSets of the Deployment `driftless`.
async fn replica_sets(api: &Api<ReplicaSet>) -> anyhow::Result<Vec<String>> {
    let list = api
        .list(&ListParams::default().labels("app.kubernetes.io/name=driftless"))
        .await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|r| r.metadata.name)
        .collect())
}

#[tokio::test]
async fn driftless_manages_its_own_install_and_rolls_on_a_values_commit() -> anyhow::Result<()> {
    let ns = TestNamespace::new("install").await?;
    install_argo_crds(&ns.client, env!("CARGO_BIN_EXE_driftless")).await?;
    let repo = ScratchRepo::named("driftless.git");
    copy_dir(
        &workspace().join("install/helm/driftless"),
        &repo.path().join("install/helm/driftless"),
    )?;
    let first = repo.commit("driftless's chart");
    let server = GitHttpServer::start(repo.root())?;

    let cache = tempfile::tempdir()?;
    let mut config = ControllerConfig::new(ns.name.clone(), cache.path());
    config.poll_interval = Duration::from_secs(1);
    config.installation_id = Some(ns.name.clone());
    let controller = Controller::new(ns.client.clone(), config).await?;
    let task = tokio::spawn(async move { controller.run().await });

    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application");
    let apps: Api<DynamicObject> =
        Api::namespaced_with(ns.client.clone(), &ns.name, &ApiResource::from_gvk(&gvk));
    let deployments: Api<Deployment> = ns.api();
    let sets: Api<ReplicaSet> = ns.api();
    let cluster_name = format!("driftless-{}", ns.name);

    let result = async {
        // The example, retargeted at the test's repository and namespace. The CRDs are the
        // shared cluster's (installed above), so this app leaves them alone.
        let mut app: Value = serde_norway::from_str(&std::fs::read_to_string(
            workspace().join("examples/self-managed/driftless.yaml"),
        )?)?;
        app["metadata"]["namespace"] = json!(ns.name);
        app["spec"]["destination"]["namespace"] = json!(ns.name);
        app["spec"]["source"]["repoURL"] = json!(server.url(&repo.name()));
        app["spec"]["source"]["helm"]["skipCrds"] = json!(true);
        apps.patch(
            "driftless",
            &PatchParams::apply("kubectl").force(),
            &Patch::Apply(&app),
        )
        .await?;
        let started = Instant::now();
        converged(&apps, &first).await?;
        eprintln!("the install converged in {:?}", started.elapsed());
        // What the chart installs, under the release namespace's names.
        Api::<ClusterRole>::all(ns.client.clone())
            .get(&cluster_name)
            .await?;
        Api::<ClusterRoleBinding>::all(ns.client.clone())
            .get(&cluster_name)
            .await?;
        let before = deployments.get("driftless").await?;
        let sets_before = replica_sets(&sets).await?;

        // A values commit: one more flag for serve.
        let values = repo.path().join("install/helm/driftless/values.yaml");
        let text = std::fs::read_to_string(&values)?;
        assert!(
            text.contains("extraArgs: []"),
            "values.yaml has no empty extraArgs"
        );
        std::fs::write(
            &values,
            text.replace("extraArgs: []", "extraArgs: [--resync=5m]"),
        )?;
        let second = repo.commit("resync every 5 minutes");
        let committed = Instant::now();
        wait_until(
            Duration::from_secs(120),
            "a new ReplicaSet of driftless",
            || async {
                let now = replica_sets(&sets).await?;
                Ok(now
                    .iter()
                    .any(|name| !sets_before.contains(name))
                    .then_some(()))
            },
        )
        .await?;
        let after = deployments.get("driftless").await?;
        let args = |d: &Deployment| {
            d.spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .map(|p| p.containers[0].args.clone().unwrap_or_default())
        };
        assert!(
            args(&after)
                .unwrap_or_default()
                .contains(&"--resync=5m".to_string()),
            "the pod template has not the new flag: {:?}",
            args(&after)
        );
        assert_ne!(args(&before), args(&after));
        converged(&apps, &second).await?;
        eprintln!("the values commit rolled out in {:?}", committed.elapsed());
        anyhow::Ok(())
    }
    .await;

    task.abort();
    // Cluster-scoped objects outlive the test namespace: deleted here.
    let _ = Api::<ClusterRoleBinding>::all(ns.client.clone())
        .delete(&cluster_name, &DeleteParams::default())
        .await;
    let _ = Api::<ClusterRole>::all(ns.client.clone())
        .delete(&cluster_name, &DeleteParams::default())
        .await;
    result
}

/// The chart rendered as `helm template` renders it for release `driftless` in `namespace`,
/// without its CRDs (the shared cluster's are installed already).
pub(crate) fn render_chart(namespace: &str, settings: &[&str]) -> String {
    let helm = find_helm().expect("helm not found: put it on PATH or run hack/build-tools");
    driftless_testkit::helm_template(
        &helm,
        &workspace().join("install/helm/driftless"),
        "driftless",
        namespace,
        settings,
    )
    .expect("the chart renders")
}

/// Installs the chart (release namespace: the test's) with `settings` and starts a controller
/// on a token of the chart's ServiceAccount, so the API server holds it to the chart's grants.
async fn spawn_on_chart_identity(
    env: &mut crate::gitops::Gitops,
    settings: &[&str],
    adjust: impl FnOnce(&mut ControllerConfig),
) -> anyhow::Result<()> {
    use driftless_testkit::{TestCluster, apply_manifests, service_account_token};
    let ns = env.ns.name.clone();
    apply_manifests(
        &env.ns.client,
        &render_chart(&ns, settings),
        &ns,
        "install-test",
    )
    .await?;
    let token = service_account_token(&env.ns.client, &ns, "driftless", None).await?;
    let engine = TestCluster::Main.client_with_token(&token).await?;
    env.spawn_on(engine, |config| {
        config.leader_election = Some(driftless_controller::LeaderElection {
            lease_name: "driftless-controller".into(),
            identity: "install-test".into(),
            lease_duration: Duration::from_secs(15),
        });
        adjust(config);
    })
    .await?;
    Ok(())
}

/// An automated app of the test's repository path `site` deploying to `destination`.
fn site_app(env: &crate::gitops::Gitops, name: &str, destination: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: {}\n\
         spec:\n  project: default\n  source:\n    repoURL: {}\n    targetRevision: HEAD\n    path: site\n\
         \x20 destination:\n    server: https://kubernetes.default.svc\n    namespace: {destination}\n{}",
        env.ns.name,
        env.repo.file_url(),
        crate::gitops::AUTOMATED
    )
}

/// Namespaced mode with nothing but the chart's grants: the controller runs on a token of
/// the chart's ServiceAccount, takes its leader Lease, syncs an app into the namespace it
/// manages and writes its audit log's signing key and checkpoint. The API server decides
/// every permission.
#[tokio::test]
async fn the_namespaced_install_grants_what_the_controller_needs() -> anyhow::Result<()> {
    use crate::gitops::*;
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::ConfigMap;

    let mut env = Gitops::new("install-ns").await?;
    let managed = TestNamespace::new("install-managed").await?;
    let namespaces = vec![managed.name.clone()];
    let setting = format!("namespaced.namespaces={{{}}}", managed.name);
    let database = format!("sqlite://{}", env.cache.path().join("audit.db").display());
    spawn_on_chart_identity(&mut env, &[&setting], |config| {
        config.namespaces = namespaces;
        config.audit = Some(driftless_controller::audit::AuditConfig {
            database,
            checkpoint_interval: Duration::from_secs(1),
            retention: None,
        });
    })
    .await?;
    env.repo.write("site/settings.yaml", settings("hello"));
    env.repo.commit("settings");
    let name = env.name("site");
    env.apply(&site_app(&env, &name, &managed.name)).await?;
    env.wait_synced_healthy(&name).await?;
    let settings_map: Api<ConfigMap> = managed.api();
    assert_eq!(greeting(&settings_map).await?.as_deref(), Some("hello"));
    let lease = env.ns.api::<Lease>().get("driftless-controller").await?;
    assert_eq!(
        lease.spec.and_then(|s| s.holder_identity).as_deref(),
        Some("install-test")
    );
    let checkpoints: Api<ConfigMap> = env.ns.api();
    wait_until(TIMEOUT, "the audit checkpoint ConfigMap", || async {
        Ok(checkpoints.get_opt("driftless-audit-checkpoint").await?)
    })
    .await?;
    env.stop();
    Ok(())
}

/// Cluster-wide mode with nothing but the chart's grants: an app syncs into another namespace.
#[tokio::test]
async fn the_cluster_wide_install_grants_what_the_controller_needs() -> anyhow::Result<()> {
    use crate::gitops::*;
    use k8s_openapi::api::core::v1::ConfigMap;

    let mut env = Gitops::new("install-cw").await?;
    let target = TestNamespace::new("install-target").await?;
    let cluster_name = format!("driftless-{}", env.ns.name);
    let result = async {
        spawn_on_chart_identity(&mut env, &[], |_| {}).await?;
        env.repo.write("site/settings.yaml", settings("hello"));
        env.repo.commit("settings");
        let name = env.name("site");
        env.apply(&site_app(&env, &name, &target.name)).await?;
        env.wait_synced_healthy(&name).await?;
        let settings_map: Api<ConfigMap> = target.api();
        assert_eq!(greeting(&settings_map).await?.as_deref(), Some("hello"));
        anyhow::Ok(())
    }
    .await;
    env.stop();
    let _ = Api::<ClusterRoleBinding>::all(env.ns.client.clone())
        .delete(&cluster_name, &DeleteParams::default())
        .await;
    let _ = Api::<ClusterRole>::all(env.ns.client.clone())
        .delete(&cluster_name, &DeleteParams::default())
        .await;
    result
}

/// Namespaced mode with impersonation: the chart's Role only reads what apps deploy and may
/// impersonate ServiceAccounts, so the sync writes as the AppProject's destination account.
#[tokio::test]
async fn the_impersonating_install_syncs_as_the_destination_account() -> anyhow::Result<()> {
    use crate::gitops::*;
    use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    use kube::api::PostParams;

    let mut env = Gitops::new("install-imp").await?;
    let managed = TestNamespace::new("install-imp-managed").await?;
    let target = managed.name.clone();
    // The destination's own account, allowed to write ConfigMaps there and nothing else.
    let admin = env.ns.client.clone();
    Api::<ServiceAccount>::namespaced(admin.clone(), &target)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "deployer"}}))?,
        )
        .await?;
    Api::<Role>::namespaced(admin.clone(), &target)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "deployer"}, "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}
            ]}))?,
        )
        .await?;
    Api::<RoleBinding>::namespaced(admin.clone(), &target)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "deployer"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
                "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": target}]}))?,
        )
        .await?;
    let namespaces = vec![target.clone()];
    let setting = format!("namespaced.namespaces={{{target}}}");
    spawn_on_chart_identity(
        &mut env,
        &[&setting, "impersonation.enabled=true"],
        |config| {
            config.namespaces = namespaces;
            config.sync_impersonation = true;
        },
    )
    .await?;
    env.apply(&format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: default\n  namespace: {}\n\
         spec:\n  sourceRepos: ['*']\n  destinations: [{{server: '*', namespace: '*'}}]\n\
         \x20 destinationServiceAccounts:\n  - {{server: '*', namespace: '{target}', defaultServiceAccount: deployer}}\n",
        env.ns.name
    ))
    .await?;
    env.repo.write("site/settings.yaml", settings("hello"));
    env.repo.commit("settings");
    let name = env.name("site");
    env.apply(&site_app(&env, &name, &target)).await?;
    env.wait_synced_healthy(&name).await?;
    let settings_map: Api<ConfigMap> = managed.api();
    assert_eq!(greeting(&settings_map).await?.as_deref(), Some("hello"));
    env.stop();
    Ok(())
}
