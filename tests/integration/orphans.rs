//! Orphaned resources: with `orphanedResources` in its AppProject, an app whose namespace holds
//! objects no app tracks says so in an `OrphanedResourceWarning`; the ignore list and what
//! Kubernetes makes itself are left out, and the warning goes when the orphan does.

use crate::gitops::*;
use driftless_testkit::TestNamespace;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ObjectMeta, Patch, PatchParams,
    PostParams,
};
use serde_json::{Value, json};

fn orphan_warning(app: &Value) -> Option<String> {
    app["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "OrphanedResourceWarning")
        .and_then(|c| c["message"].as_str())
        .map(str::to_string)
}

fn config_map(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// `argocd app get --refresh`: the annotation that makes the controller look again now.
async fn refresh(env: &Gitops, app: &str) -> anyhow::Result<()> {
    let patch = json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}});
    env.apps()
        .patch(app, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_no_app_tracks_are_reported_when_the_project_asks() -> anyhow::Result<()> {
    let mut env = Gitops::new("orphans").await?;
    let target = TestNamespace::new("orphans-dest").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "AppProject");
    let projects: Api<DynamicObject> =
        Api::namespaced_with(env.ns.client.clone(), &ns, &ApiResource::from_gvk(&gvk));
    let project = json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": "watched"},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "orphanedResources": {"ignore": [{"kind": "ConfigMap", "name": "scratch-*"}]}
        }
    });
    projects
        .create(&PostParams::default(), &serde_json::from_value(project)?)
        .await?;
    env.repo.write(
        "site/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config}\ndata: {mode: prod}\n",
    );
    env.repo.commit("one tracked ConfigMap");
    env.start().await?;
    let name = env.name("site");
    let manifest = application(&name, &ns, &url, "site", AUTOMATED, "")
        .replace("project: default", "project: watched")
        .replace(
            &format!("namespace: {ns}\n  syncPolicy"),
            &format!("namespace: {}\n  syncPolicy", target.name),
        );
    env.apply_app(&manifest).await?;

    // Only tracked objects and what Kubernetes made itself: no warning.
    let app = env.wait_synced_healthy(&name).await?;
    assert_eq!(orphan_warning(&app), None, "{}", app["status"]);

    // `kubectl create configmap` twice: one orphan, one on the ignore list.
    let cms: Api<ConfigMap> = target.api();
    for made in ["debug", "scratch-1"] {
        cms.create(&PostParams::default(), &config_map(made))
            .await?;
    }
    refresh(&env, &name).await?;
    let app = env
        .wait_app(&name, "an OrphanedResourceWarning", |a| {
            orphan_warning(a).is_some()
        })
        .await?;
    assert_eq!(
        orphan_warning(&app).as_deref(),
        Some("Application has 1 orphaned resources: ConfigMap/debug")
    );
    assert_eq!(
        app["status"]["sync"]["status"], "Synced",
        "orphans do not make an app OutOfSync"
    );

    // The orphan deleted: the warning goes.
    cms.delete("debug", &DeleteParams::default()).await?;
    refresh(&env, &name).await?;
    env.wait_app(&name, "no OrphanedResourceWarning", |a| {
        orphan_warning(a).is_none() && a["status"]["sync"]["status"] == "Synced"
    })
    .await?;
    Ok(())
}
