//! Destinations in another cluster, named by an Argo CD cluster Secret: the objects land in that
//! cluster (not in the one driftless runs in), drift there is seen and reverted, a commit reaches
//! it, and a cluster no Secret describes is an InvalidSpecError. The second cluster is a real
//! control plane of its own (`hack/second-cluster`, started by `make test`).

use crate::gitops::*;
use driftless_testkit::{TestCluster, TestNamespace, wait_until};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// An Argo CD cluster Secret for the second cluster, with the client certificate of its kubeconfig.
fn cluster_secret(name: &str) -> anyhow::Result<Secret> {
    let path = TestCluster::Second.kubeconfig_path()?;
    let kubeconfig: Value = serde_norway::from_str(&std::fs::read_to_string(path)?)?;
    let cluster = &kubeconfig["clusters"][0]["cluster"];
    let user = &kubeconfig["users"][0]["user"];
    let config = json!({"tlsClientConfig": {
        "caData": cluster["certificate-authority-data"],
        "certData": user["client-certificate-data"],
        "keyData": user["client-key-data"],
    }});
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(format!("cluster-{name}")),
            labels: Some([("argocd.argoproj.io/secret-type".into(), "cluster".into())].into()),
            ..Default::default()
        },
        string_data: Some(
            [
                ("name".to_string(), name.to_string()),
                (
                    "server".to_string(),
                    cluster["server"].as_str().unwrap_or_default().to_string(),
                ),
                ("config".to_string(), config.to_string()),
            ]
            .into(),
        ),
        ..Default::default()
    })
}

fn remote_application(name: &str, app_ns: &str, repo: &str, cluster: &str, ns: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: {app_ns}\n\
         spec:\n  project: default\n  source:\n    repoURL: {repo}\n    targetRevision: HEAD\n    path: site\n\
         \x20 destination:\n    name: {cluster}\n    namespace: {ns}\n{AUTOMATED}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_deploys_to_the_cluster_its_secret_names_and_heals_drift_there() -> anyhow::Result<()>
{
    let mut env = Gitops::new("multi").await?;
    let remote = TestNamespace::new_on(TestCluster::Second, "multi").await?;
    let (app_ns, url) = (env.ns.name.clone(), env.repo.file_url());
    env.ns
        .api::<Secret>()
        .create(&PostParams::default(), &cluster_secret("second")?)
        .await?;
    env.repo.write("site/settings.yaml", settings("hello"));
    env.repo
        .write("site/web.yaml", deployment("web", "nginx:1.27", None));
    env.repo.commit("a site for the second cluster");
    env.start().await?;
    let name = env.name("site");
    env.apply_app(&remote_application(
        &name,
        &app_ns,
        &url,
        "second",
        &remote.name,
    ))
    .await?;

    // Synced and Healthy: the Deployment became Available in the second cluster.
    env.wait_synced_healthy(&name).await?;
    let there: Api<ConfigMap> = remote.api();
    assert_eq!(greeting(&there).await?.as_deref(), Some("hello"));
    let here: Api<ConfigMap> = Api::namespaced(env.ns.client.clone(), &remote.name);
    assert_eq!(
        greeting(&here).await?,
        None,
        "nothing lands in the cluster driftless runs in"
    );

    // `kubectl edit` in the second cluster is seen there and reverted (selfHeal).
    there
        .patch(
            "settings",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"greeting": "edited"}})),
        )
        .await?;
    wait_until(
        TIMEOUT,
        "the edit in the second cluster reverted",
        || async { Ok(greeting(&there).await?.filter(|g| g == "hello").map(|_| ())) },
    )
    .await?;

    // A commit reaches the second cluster.
    env.repo.write("site/settings.yaml", settings("hola"));
    env.repo.commit("greet in Spanish");
    wait_until(
        TIMEOUT,
        "the commit applied in the second cluster",
        || async { Ok(greeting(&there).await?.filter(|g| g == "hola").map(|_| ())) },
    )
    .await?;

    // A cluster no Secret describes is the app's spec error, and harms nothing else.
    let lost = env.name("lost");
    env.apply_app(&remote_application(
        &lost,
        &app_ns,
        &url,
        "nowhere",
        &remote.name,
    ))
    .await?;
    env.wait_app(&lost, "an InvalidSpecError naming the cluster", |a| {
        a["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| {
                c["type"] == "InvalidSpecError"
                    && c["message"].as_str().is_some_and(|m| {
                        m.contains("there are no clusters with this name: nowhere")
                    })
            })
    })
    .await?;
    env.wait_synced_healthy(&name).await?;
    Ok(())
}
