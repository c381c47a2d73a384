//! AppProject resource lists on the real cluster: an app whose repository holds a ClusterRole
//! and a ConfigMap its project does not permit gets a ComparisonError naming both, and
//! nothing of it is created; once the project permits them, it syncs.

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

fn comparison_error(app: &Value) -> Option<String> {
    app["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "ComparisonError")
        .and_then(|c| c["message"].as_str())
        .map(str::to_string)
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
            "a ComparisonError naming what is not permitted",
            |a| comparison_error(a).is_some_and(|m| m.contains("not permitted in project team")),
        )
        .await?;
    let message = comparison_error(&refused).unwrap_or_default();
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
