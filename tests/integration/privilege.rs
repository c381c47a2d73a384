//! Least privilege: a controller whose identity holds only Roles in a few namespaces
//! (`driftless serve --namespaces`), and syncs that impersonate the AppProject's
//! destinationServiceAccounts. The API server decides every permission here.

use crate::gitops::*;
use driftless_testkit::{TestCluster, TestNamespace, service_account_token};
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::{Value, json};

/// An Application of `path` served from `app_namespace`, deploying to `destination`.
fn app_to(
    name: &str,
    app_namespace: &str,
    destination: &str,
    repo: &str,
    path: &str,
    project: &str,
) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: {app_namespace}\n\
         spec:\n  project: {project}\n  source:\n    repoURL: {repo}\n    targetRevision: HEAD\n    path: {path}\n\
         \x20 destination:\n    server: https://kubernetes.default.svc\n    namespace: {destination}\n{AUTOMATED}"
    )
}

fn config_map(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  greeting: hello\n"
    )
}

fn cluster_role(name: &str) -> String {
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\n\
         rules: [{{apiGroups: [\"\"], resources: [configmaps], verbs: [get]}}]\n"
    )
}

async fn create<K>(api: &Api<K>, value: Value) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    api.create(&PostParams::default(), &serde_json::from_value(value)?)
        .await?;
    Ok(())
}

/// A Role with `rules` in `namespace`, bound to the ServiceAccount `account` of `account_ns`.
async fn grant(
    client: &kube::Client,
    namespace: &str,
    account_ns: &str,
    account: &str,
    rules: Value,
) -> anyhow::Result<()> {
    let name = format!("{account}-{account_ns}");
    let roles: Api<Role> = Api::namespaced(client.clone(), namespace);
    create(&roles, json!({"metadata": {"name": name}, "rules": rules})).await?;
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), namespace);
    create(
        &bindings,
        json!({"metadata": {"name": name},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
               "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": account_ns}]}),
    )
    .await
}

/// A client that authenticates with nothing but a token of `account` (made by TokenRequest).
async fn client_as(ns: &TestNamespace, account: &str) -> anyhow::Result<kube::Client> {
    let token = service_account_token(&ns.client, &ns.name, account, None).await?;
    TestCluster::Main.client_with_token(&token).await
}

fn condition(app: &Value, kind: &str) -> String {
    app["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == kind)
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespaced_engine_with_roles_only_syncs_its_namespaces_and_refuses_the_rest()
-> anyhow::Result<()> {
    let mut env = Gitops::new("nsmode").await?;
    let (a, b, c) = (
        TestNamespace::new("nsmode-a").await?,
        TestNamespace::new("nsmode-b").await?,
        TestNamespace::new("nsmode-c").await?,
    );
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let admin = env.ns.client.clone();
    create(
        &env.ns.api::<ServiceAccount>(),
        json!({"metadata": {"name": "engine"}}),
    )
    .await?;
    // The app namespace: what the engine reads and writes of Argo CD's objects.
    grant(&admin, &ns, &ns, "engine", json!([
        {"apiGroups": ["argoproj.io"], "resources": ["applications", "applications/status", "applicationsets", "applicationsets/status", "appprojects"],
         "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
        {"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]},
    ])).await?;
    for managed in [&a.name, &b.name] {
        grant(
            &admin,
            managed,
            &ns,
            "engine",
            json!([
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
            ]),
        )
        .await?;
    }
    let role_name = format!("{ns}-reader");
    env.repo.write("shop/settings.yaml", config_map("settings"));
    env.repo
        .write("with-role/settings.yaml", config_map("settings-with-role"));
    env.repo
        .write("with-role/role.yaml", cluster_role(&role_name));
    env.repo
        .commit("apps for three namespaces and one with a ClusterRole");
    let engine = client_as(&env.ns, "engine").await?;
    let namespaces = vec![a.name.clone(), b.name.clone()];
    env.spawn_on(engine, |config| config.namespaces = namespaces)
        .await?;
    for (short, destination, path) in [
        ("a", &a.name, "shop"),
        ("b", &b.name, "shop"),
        ("c", &c.name, "shop"),
        ("role", &a.name, "with-role"),
    ] {
        env.apply_app(&app_to(
            &env.name(short),
            &ns,
            destination,
            &url,
            path,
            "default",
        ))
        .await?;
    }

    for synced in [&a, &b] {
        let short = if synced.name == a.name { "a" } else { "b" };
        env.wait_synced_healthy(&env.name(short)).await?;
        let maps: Api<ConfigMap> = synced.api();
        assert!(
            maps.get_opt("settings").await?.is_some(),
            "settings in {}",
            synced.name
        );
    }
    let refused = env
        .wait_app(&env.name("c"), "refused for its namespace", |app| {
            !condition(app, "InvalidSpecError").is_empty()
        })
        .await?;
    let message = condition(&refused, "InvalidSpecError");
    assert!(
        message.contains(&format!("namespace {} is outside", c.name))
            && message.contains("--namespaces")
            && message.contains(&a.name),
        "{message}"
    );
    let role_app = env
        .wait_app(&env.name("role"), "refused for its ClusterRole", |app| {
            !condition(app, "InvalidSpecError").is_empty()
        })
        .await?;
    let message = condition(&role_app, "InvalidSpecError");
    assert!(
        message.contains(&format!("ClusterRole/{role_name}"))
            && message.contains("cluster-scoped")
            && message.contains("--namespaces"),
        "{message}"
    );
    // Nothing of the refused apps was applied, not even their objects in a managed namespace.
    let in_c: Api<ConfigMap> = c.api();
    assert!(in_c.get_opt("settings").await?.is_none());
    let in_a: Api<ConfigMap> = a.api();
    assert!(in_a.get_opt("settings-with-role").await?.is_none());
    let roles: Api<ClusterRole> = Api::all(admin.clone());
    assert!(roles.get_opt(&role_name).await?.is_none());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_impersonate_the_projects_destination_service_account() -> anyhow::Result<()> {
    let mut env = Gitops::new("imperson").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let admin = env.ns.client.clone();
    create(
        &env.ns.api::<ServiceAccount>(),
        json!({"metadata": {"name": "deployer"}}),
    )
    .await?;
    grant(
        &admin,
        &ns,
        &ns,
        "deployer",
        json!([
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}
        ]),
    )
    .await?;
    env.apply(&format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: tenant\n  namespace: {ns}\n\
         spec:\n  sourceRepos: ['*']\n  destinations: [{{server: '*', namespace: '*'}}]\n\
         \x20 clusterResourceWhitelist: [{{group: '*', kind: '*'}}]\n\
         \x20 destinationServiceAccounts:\n  - {{server: 'https://kubernetes.default.*', namespace: 'dl-imperson-*', defaultServiceAccount: deployer}}\n"
    ))
    .await?;
    let role_name = format!("{ns}-reader");
    env.repo
        .write("plain/settings.yaml", config_map("settings"));
    env.repo
        .write("with-role/role.yaml", cluster_role(&role_name));
    env.repo
        .write("other/settings.yaml", config_map("other-settings"));
    env.repo
        .commit("an app its ServiceAccount may sync, one it may not");
    // The engine itself may read everything but write nothing outside Argo CD's objects: every
    // write goes through the impersonated ServiceAccount (a Role in its namespace suffices).
    create(
        &env.ns.api::<ServiceAccount>(),
        json!({"metadata": {"name": "engine"}}),
    )
    .await?;
    grant(&admin, &ns, &ns, "engine", json!([
        {"apiGroups": ["argoproj.io"], "resources": ["applications", "applications/status", "appprojects"],
         "verbs": ["get", "list", "watch", "create", "update", "patch"]},
        {"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
    ])).await?;
    let reader = format!("{ns}-engine-reads");
    let cluster_roles: Api<ClusterRole> = Api::all(admin.clone());
    create(
        &cluster_roles,
        json!({"metadata": {"name": reader},
               "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]}),
    )
    .await?;
    let cluster_bindings: Api<ClusterRoleBinding> = Api::all(admin.clone());
    create(
        &cluster_bindings,
        json!({"metadata": {"name": reader},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": reader},
               "subjects": [{"kind": "ServiceAccount", "name": "engine", "namespace": ns}]}),
    )
    .await?;
    let engine = client_as(&env.ns, "engine").await?;
    env.spawn_on(engine, |config| config.sync_impersonation = true)
        .await?;
    env.apply_app(&app_to(
        &env.name("plain"),
        &ns,
        &ns,
        &url,
        "plain",
        "tenant",
    ))
    .await?;
    env.apply_app(&app_to(
        &env.name("role"),
        &ns,
        &ns,
        &url,
        "with-role",
        "tenant",
    ))
    .await?;
    env.apply_app(&app_to(
        &env.name("nobody"),
        &ns,
        &ns,
        &url,
        "other",
        "default",
    ))
    .await?;

    env.wait_synced_healthy(&env.name("plain")).await?;
    let maps: Api<ConfigMap> = env.ns.api();
    assert!(maps.get_opt("settings").await?.is_some());
    let failed = env
        .wait_app(&env.name("role"), "its sync failed", |app| {
            app["status"]["operationState"]["phase"] == "Failed"
        })
        .await?;
    let message = failed["status"]["operationState"]["message"]
        .as_str()
        .unwrap_or_default();
    let user = format!("system:serviceaccount:{ns}:deployer");
    assert!(
        message.contains(&user)
            && message.contains("forbidden")
            && message.contains("clusterroles"),
        "the API server's refusal names the ServiceAccount: {message}"
    );
    let roles: Api<ClusterRole> = Api::all(admin.clone());
    let created = roles.get_opt(&role_name).await?;
    if created.is_some() {
        roles.delete(&role_name, &DeleteParams::default()).await?;
    }
    assert!(created.is_none(), "the engine's own rights were not used");
    let unmatched = env
        .wait_app(&env.name("nobody"), "its sync failed", |app| {
            app["status"]["operationState"]["phase"] == "Failed"
        })
        .await?;
    let message = unmatched["status"]["operationState"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("no destinationServiceAccounts entry")
            && message.contains("--sync-impersonation"),
        "{message}"
    );
    assert!(maps.get_opt("other-settings").await?.is_none());
    cluster_bindings
        .delete(&reader, &DeleteParams::default())
        .await?;
    cluster_roles
        .delete(&reader, &DeleteParams::default())
        .await?;
    Ok(())
}
