//! AppProject boundaries on the real cluster: objects of kinds or in namespaces a project does
//! not permit are refused (an `InvalidSpecError` naming each, marked `Unknown`, nothing
//! created) and never pruned; a child Application whose project refuses it is not created;
//! an Application outside the control namespace is served only when its project lists the
//! namespace in `sourceNamespaces`.

use crate::gitops::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::Api;
use kube::api::DeleteParams;
use serde_json::Value;

fn project(name: &str, namespace: &str, lists: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {{name: {name}, namespace: {namespace}}}\n\
         spec:\n  sourceRepos: ['*']\n  destinations: [{{server: '*', namespace: '*'}}]\n{lists}"
    )
}

fn invalid_spec(app: &Value) -> Option<String> {
    app["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "InvalidSpecError")
        .and_then(|c| c["message"].as_str())
        .map(str::to_string)
}

/// The sync status `status.resources` gives the object `kind`/`name`.
fn resource_status<'a>(app: &'a Value, kind: &str, name: &str) -> Option<&'a str> {
    app["status"]["resources"]
        .as_array()?
        .iter()
        .find(|r| r["kind"] == kind && r["name"] == name)
        .and_then(|r| r["status"].as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_the_project_does_not_permit_are_refused_and_nothing_is_created()
-> anyhow::Result<()> {
    let mut env = Gitops::new("project").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let role = env.name("admin");
    env.repo.write(
        "team/role.yaml",
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {role}}}\n\
             rules: [{{apiGroups: ['*'], resources: ['*'], verbs: ['*']}}]\n"
        ),
    );
    env.repo.write("team/settings.yaml", settings("hello"));
    env.repo
        .write("team/web.yaml", deployment("web", "nginx:1.27", None));
    env.repo
        .commit("a team app that makes itself cluster admin");
    let tight = "  clusterResourceWhitelist: []\n  namespaceResourceBlacklist: [{group: '', kind: ConfigMap}]\n";
    env.apply(&project("team", &ns, tight)).await?;
    env.start().await?;
    let app = env.name("team");
    let manifest = application(&app, &ns, &url, "team", AUTOMATED, "")
        .replace("project: default", "project: team");
    env.apply_app(&manifest).await?;

    let refused = env
        .wait_app(
            &app,
            "an InvalidSpecError naming what is not permitted",
            |a| invalid_spec(a).is_some_and(|m| m.contains("not permitted in project team")),
        )
        .await?;
    let message = invalid_spec(&refused).unwrap_or_default();
    assert_eq!(
        resource_status(&refused, "ClusterRole", &role),
        Some("Unknown")
    );
    assert_eq!(
        resource_status(&refused, "ConfigMap", "settings"),
        Some("Unknown")
    );
    assert_eq!(
        resource_status(&refused, "Deployment", "web"),
        Some("OutOfSync")
    );
    assert!(
        message.contains(&format!("rbac.authorization.k8s.io:ClusterRole/{role}"))
            && message.contains(":ConfigMap/settings"),
        "{message}"
    );
    assert!(
        !message.contains("Deployment"),
        "permitted kinds are not named: {message}"
    );
    let roles: Api<ClusterRole> = Api::all(env.ns.client.clone());
    let config_maps: Api<ConfigMap> = env.ns.api();
    let deployments: Api<Deployment> = env.ns.api();
    assert!(
        roles.get_opt(&role).await?.is_none(),
        "no ClusterRole was created"
    );
    assert!(config_maps.get_opt("settings").await?.is_none());
    assert!(
        deployments.get_opt("web").await?.is_none(),
        "nothing of the app was applied"
    );

    // The platform team permits ClusterRoles and ConfigMaps: the app syncs.
    let open =
        "  clusterResourceWhitelist: [{group: rbac.authorization.k8s.io, kind: ClusterRole}]\n";
    env.apply(&project("team", &ns, open)).await?;
    env.wait_synced_healthy(&app).await?;
    assert!(
        roles.get_opt(&role).await?.is_some(),
        "the ClusterRole is applied"
    );
    assert!(config_maps.get_opt("settings").await?.is_some());
    env.stop();
    roles.delete(&role, &DeleteParams::default()).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_in_namespaces_the_project_does_not_permit_are_refused_and_never_pruned()
-> anyhow::Result<()> {
    let mut env = Gitops::new("project-ns").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let elsewhere = driftless_testkit::TestNamespace::new("project-other").await?;
    env.repo.write("team/settings.yaml", settings("hello"));
    env.repo
        .write("team/web.yaml", deployment("web", "nginx:1.27", None));
    env.repo.commit("a team app");
    let own_namespace = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {{name: team, namespace: {ns}}}\n\
         spec:\n  sourceRepos: ['*']\n  destinations: [{{server: '*', namespace: {ns}}}]\n"
    );
    env.apply(&own_namespace).await?;
    env.start().await?;
    let app = env.name("team");
    let manifest = application(&app, &ns, &url, "team", AUTOMATED, "")
        .replace("project: default", "project: team");
    env.apply_app(&manifest).await?;
    env.wait_synced_healthy(&app).await?;

    // A commit puts a ConfigMap into another namespace: refused, not created.
    let escape = settings("escaped").replace(
        "name: settings\n",
        &format!("name: settings\n  namespace: {}\n", elsewhere.name),
    );
    env.repo.write("team/escape.yaml", escape);
    env.repo.commit("reach into another namespace");
    let refused = env
        .wait_app(&app, "the other namespace refused", |a| {
            invalid_spec(a).is_some_and(|m| {
                m.contains(&format!(
                    "namespace {} is not permitted in project 'team'",
                    elsewhere.name
                ))
            })
        })
        .await?;
    assert_eq!(sync_of(&refused), "OutOfSync");
    let theirs: Api<ConfigMap> = elsewhere.api();
    assert!(
        theirs.get_opt("settings").await?.is_none(),
        "nothing created"
    );

    // ConfigMaps become forbidden and the one the app owns leaves git: it is not pruned.
    // (A new image makes a sync with prune run.)
    let no_config_maps = own_namespace.replace(
        "destinations:",
        "namespaceResourceBlacklist: [{group: '', kind: ConfigMap}]\n  destinations:",
    );
    env.apply(&no_config_maps).await?;
    env.repo.remove("team/escape.yaml");
    env.repo.remove("team/settings.yaml");
    env.repo
        .write("team/web.yaml", deployment("web", "nginx:1.28", None));
    let commit = env.repo.commit("drop the ConfigMap, new image");
    env.wait_app(&app, "synced with prune at the new commit", |a| {
        let op = &a["status"]["operationState"];
        sync_of(a) == "Synced"
            && op["phase"] == "Succeeded"
            && op["syncResult"]["revision"] == commit.as_str()
    })
    .await?;
    assert_eq!(
        image_of(&env.deployments(), "web").await?.as_deref(),
        Some("nginx:1.28")
    );
    let ours: Api<ConfigMap> = env.ns.api();
    assert_eq!(
        greeting(&ours).await?.as_deref(),
        Some("hello"),
        "an object the project does not permit is never pruned"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_application_its_project_refuses_is_not_created() -> anyhow::Result<()> {
    let mut env = Gitops::new("project-child").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let (good, bad) = (env.name("good"), env.name("bad"));
    env.repo.write("child/settings.yaml", settings("hello"));
    env.repo.write(
        "apps/good.yaml",
        application(&good, &ns, &url, "child", "", ""),
    );
    env.repo.write(
        "apps/bad.yaml",
        application(&bad, &ns, &url, "child", "", "")
            .replace("project: default", "project: admins"),
    );
    env.repo
        .commit("a root with a child in a project that does not exist");
    env.start().await?;
    let root = env.name("root");
    env.apply_app(&application(&root, &ns, &url, "apps", AUTOMATED, ""))
        .await?;
    let refused = env
        .wait_app(&root, "the child in a missing project refused", |a| {
            invalid_spec(a).is_some_and(|m| {
                m.contains(&format!(
                    "argoproj.io:Application/{bad}: application references project admins which does not exist"
                ))
            })
        })
        .await?;
    assert_eq!(
        resource_status(&refused, "Application", &bad),
        Some("Unknown")
    );
    assert!(
        env.app(&bad).await?.is_none(),
        "the refused child is not created"
    );
    assert!(
        env.app(&good).await?.is_none(),
        "nothing of the root was synced"
    );

    // Removed from git, the root syncs its permitted child.
    env.repo.remove("apps/bad.yaml");
    env.repo.commit("drop the child");
    env.wait_app(&root, "synced", |a| sync_of(a) == "Synced")
        .await?;
    assert!(env.app(&good).await?.is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_in_another_namespace_is_served_only_when_its_project_lists_it() -> anyhow::Result<()>
{
    let mut env = Gitops::new("project-any").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let team = driftless_testkit::TestNamespace::new("project-team").await?;
    env.repo.write("team/settings.yaml", settings("hello"));
    env.repo.commit("a team app");
    let listing = |namespaces: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {{name: team, namespace: {ns}}}\n\
             spec:\n  sourceRepos: ['*']\n  destinations: [{{server: '*', namespace: '*'}}]\n  sourceNamespaces: [{namespaces}]\n"
        )
    };
    env.apply(&listing("other-*")).await?;
    let team_ns = team.name.clone();
    env.start_with(|c| c.app_namespaces = vec![team_ns]).await?;
    let app = env.name("team");
    let manifest = application(&app, &team.name, &url, "team", AUTOMATED, "")
        .replace("project: default", "project: team");
    let value: Value = serde_norway::from_str(&manifest)?;
    let gvk = kube::api::GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application");
    let apps: Api<kube::api::DynamicObject> = Api::namespaced_with(
        team.client.clone(),
        &team.name,
        &kube::api::ApiResource::from_gvk(&gvk),
    );
    let apply = kube::api::PatchParams::apply("kubectl").force();
    apps.patch(&app, &apply, &kube::api::Patch::Apply(&value))
        .await?;
    let read = || async {
        anyhow::Ok(
            apps.get_opt(&app)
                .await?
                .map(|o| serde_json::to_value(o).unwrap_or_default()),
        )
    };
    let refused = driftless_testkit::wait_until(TIMEOUT, "the namespace refused", || async {
        Ok(read().await?.filter(|a: &Value| {
            invalid_spec(a).is_some_and(|m| m.contains("is not permitted to use project 'team'"))
        }))
    })
    .await?;
    assert!(
        invalid_spec(&refused)
            .unwrap_or_default()
            .contains(&team.name)
    );
    let config_maps: Api<ConfigMap> = team.api();
    assert!(config_maps.get_opt("settings").await?.is_none());

    // The project lists the namespace: the app syncs, tracked as `<namespace>_<name>`.
    env.apply(&listing(&team.name)).await?;
    driftless_testkit::wait_until(TIMEOUT, "synced", || async {
        Ok(read().await?.filter(|a: &Value| sync_of(a) == "Synced"))
    })
    .await?;
    let live = config_maps.get("settings").await?;
    let tracking = live
        .metadata
        .annotations
        .unwrap_or_default()
        .get("argocd.argoproj.io/tracking-id")
        .cloned()
        .unwrap_or_default();
    assert!(
        tracking.starts_with(&format!("{}_{app}:", team.name)),
        "{tracking}"
    );
    env.stop();
    driftless_testkit::strip_application_finalizers(team.client.clone(), &team.name).await;
    Ok(())
}
