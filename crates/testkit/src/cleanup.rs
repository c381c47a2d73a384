use crate::cluster::{TestCluster, client_of};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use kube::{Api, Client};
use std::future::Future;

/// Runs `work` with a fresh client on a runtime of its own thread and waits for it. For `Drop`
/// impls: the test's runtime is blocked there, so the test's client (whose connection task
/// lives on that runtime) cannot be used.
pub fn run_detached<F, Fut>(work: F)
where
    F: FnOnce(Client) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    run_detached_on(TestCluster::Main, work);
}

/// [`run_detached`] with a client of `cluster`.
pub fn run_detached_on<F, Fut>(cluster: TestCluster, work: F)
where
    F: FnOnce(Client) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let done = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if let Ok(client) = client_of(cluster).await {
                work(client).await;
            }
        });
    });
    let _ = done.join();
}

/// Removes the finalizers of every Application in `namespace`: with no controller left to
/// honour the resources finalizer, they would keep the namespace from being deleted.
pub async fn strip_application_finalizers(client: Client, namespace: &str) {
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application");
    let apps: Api<DynamicObject> =
        Api::namespaced_with(client, namespace, &ApiResource::from_gvk(&gvk));
    let Ok(list) = apps.list(&ListParams::default()).await else {
        return;
    };
    for name in list.items.into_iter().filter_map(|a| a.metadata.name) {
        let patch = Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}}));
        let _ = apps.patch(&name, &PatchParams::default(), &patch).await;
    }
}
