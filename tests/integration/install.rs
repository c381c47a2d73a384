//! driftless's install (install/helm/driftless, rendered into install/kustomize): `driftless
//! check` finds nothing wrong with it, and each mode (namespaced, cluster-wide, impersonating)
//! grants what the controller needs. Managing the install from git: self_managed.rs.

use driftless_controller::ControllerConfig;
use driftless_testkit::{TestNamespace, apply_manifests, service_account_token, wait_until};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::Api;
use kube::api::DeleteParams;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

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

/// The chart's release name in the tests.
pub(crate) const RELEASE: &str = "driftless";

/// The install with `settings` (cluster-wide unless they say otherwise), released into the
/// test's namespace (`helm template | kubectl apply`); returns a token of its ServiceAccount.
pub(crate) async fn install_chart(ns: &TestNamespace, settings: &[&str]) -> anyhow::Result<String> {
    let manifests = render_chart(&ns.name, settings);
    apply_manifests(&ns.client, &manifests, &ns.name, "helm").await?;
    service_account_token(&ns.client, &ns.name, RELEASE, None).await
}

/// The cluster-wide install's cluster-scoped objects (its namespaced ones go with the namespace).
pub(crate) async fn uninstall_chart(ns: &TestNamespace) {
    let name = format!("{RELEASE}-{}", ns.name);
    let roles: Api<ClusterRole> = Api::all(ns.client.clone());
    let bindings: Api<ClusterRoleBinding> = Api::all(ns.client.clone());
    let _ = bindings.delete(&name, &DeleteParams::default()).await;
    let _ = roles.delete(&name, &DeleteParams::default()).await;
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
    let token = install_chart(&env.ns, settings).await?;
    let engine = driftless_testkit::TestCluster::Main
        .client_with_token(&token)
        .await?;
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
    uninstall_chart(&env.ns).await;
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
