//! Proof that the local control plane is a real one: server-side apply, field-manager
//! conflicts, CRDs and cascading deletion are decided by the API server, not by us.

use driftless_testkit::{TestNamespace, wait_until};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
    PostParams,
};
use serde_json::json;
use std::time::Duration;

fn deployment(name: &str, replicas: i32) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
            }
        }
    })
}

async fn running_pods(api: &Api<Pod>, app: &str) -> anyhow::Result<usize> {
    let pods = api
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await?;
    Ok(pods
        .items
        .iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .count())
}

#[tokio::test]
async fn server_side_applied_deployment_becomes_available_with_running_pods() -> anyhow::Result<()>
{
    let ns = TestNamespace::new("ssa").await?;
    let deployments: Api<Deployment> = ns.api();
    deployments
        .patch(
            "web",
            &PatchParams::apply("driftless-test"),
            &Patch::Apply(deployment("web", 2)),
        )
        .await?;
    let available = wait_until(
        Duration::from_secs(60),
        "Deployment web to be Available",
        || async {
            let d = deployments.get("web").await?;
            let status = d.status.unwrap_or_default();
            let ok = status.available_replicas == Some(2)
                && status
                    .conditions
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Available" && c.status == "True");
            Ok(ok.then_some(()))
        },
    )
    .await;
    available?;
    assert_eq!(running_pods(&ns.api(), "web").await?, 2);
    Ok(())
}

#[tokio::test]
async fn second_field_manager_changing_an_owned_field_gets_a_conflict() -> anyhow::Result<()> {
    let ns = TestNamespace::new("conflict").await?;
    let deployments: Api<Deployment> = ns.api();
    deployments
        .patch(
            "web",
            &PatchParams::apply("owner"),
            &Patch::Apply(deployment("web", 1)),
        )
        .await?;
    let err = deployments
        .patch(
            "web",
            &PatchParams::apply("intruder"),
            &Patch::Apply(deployment("web", 3)),
        )
        .await
        .expect_err("a second manager must not take an owned field without force");
    match err {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 409, "expected a conflict, got {status:?}");
            assert!(
                status.message.contains(".spec.replicas"),
                "message: {}",
                status.message
            );
        }
        other => panic!("expected an API conflict, got {other}"),
    }
    // With force the second manager takes the field, as `kubectl apply --server-side --force-conflicts`.
    let forced = deployments
        .patch(
            "web",
            &PatchParams::apply("intruder").force(),
            &Patch::Apply(deployment("web", 3)),
        )
        .await?;
    assert_eq!(forced.spec.and_then(|s| s.replicas), Some(3));
    Ok(())
}

#[tokio::test]
async fn custom_resource_definition_is_established_and_stores_objects() -> anyhow::Result<()> {
    let ns = TestNamespace::new("crd").await?;
    let suffix = &ns.name[ns.name.len() - 6..];
    let group = format!("t{suffix}.driftless.dev");
    let crd_name = format!("widgets.{group}");
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_name},
        "spec": {
            "group": group,
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}
                }}}
            }]
        }
    }))?;
    let crds: Api<CustomResourceDefinition> = Api::all(ns.client.clone());
    crds.create(&PostParams::default(), &crd).await?;
    let result = async {
        driftless_testkit::wait_established(&crds, &crd_name).await?;
        let gvk = GroupVersionKind::gvk(&group, "v1", "Widget");
        let widgets: Api<DynamicObject> =
            Api::namespaced_with(ns.client.clone(), &ns.name, &ApiResource::from_gvk(&gvk));
        let widget: DynamicObject = serde_json::from_value(json!({
            "apiVersion": format!("{group}/v1"), "kind": "Widget",
            "metadata": {"name": "w1"}, "spec": {"size": 3, "dropped": true}
        }))?;
        // Discovery of a new CRD takes a moment; retry creation until the endpoint serves.
        wait_until(
            Duration::from_secs(30),
            "the Widget endpoint to serve",
            || async {
                Ok(widgets
                    .create(&PostParams::default(), &widget)
                    .await
                    .ok()
                    .map(|_| ()))
            },
        )
        .await?;
        let read = widgets.get("w1").await?;
        assert_eq!(read.data["spec"]["size"], json!(3));
        // Fields outside the schema are pruned by the server, as a structural schema demands.
        assert!(read.data["spec"].get("dropped").is_none());
        anyhow::Ok(())
    }
    .await;
    crds.delete(&crd_name, &DeleteParams::default()).await?;
    result
}

#[tokio::test]
async fn foreground_deletion_removes_replicasets_and_pods() -> anyhow::Result<()> {
    let ns = TestNamespace::new("cascade").await?;
    let deployments: Api<Deployment> = ns.api();
    let replicasets: Api<ReplicaSet> = ns.api();
    let pods: Api<Pod> = ns.api();
    deployments
        .patch(
            "web",
            &PatchParams::apply("driftless-test"),
            &Patch::Apply(deployment("web", 2)),
        )
        .await?;
    wait_until(Duration::from_secs(60), "2 running pods", || async {
        Ok((running_pods(&pods, "web").await? == 2).then_some(()))
    })
    .await?;
    assert_eq!(
        replicasets.list(&ListParams::default()).await?.items.len(),
        1
    );

    deployments
        .delete("web", &DeleteParams::foreground())
        .await?;
    wait_until(
        Duration::from_secs(60),
        "the Deployment, its ReplicaSet and pods to be gone",
        || async {
            let left = deployments.list(&ListParams::default()).await?.items.len()
                + replicasets.list(&ListParams::default()).await?.items.len()
                + pods.list(&ListParams::default()).await?.items.len();
            Ok((left == 0).then_some(()))
        },
    )
    .await?;
    Ok(())
}
