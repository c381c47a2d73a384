use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use kube::{Api, Client, Config};
use rand::Rng;

/// A client for the cluster that `KUBECONFIG` names. `make test` starts the local
/// control plane and exports it; a user may export their own cluster instead.
pub async fn client() -> Result<Client> {
    if std::env::var_os("KUBECONFIG").is_none() {
        anyhow::bail!(
            "cluster tests need KUBECONFIG: run them through `make test`, \
             or `eval $(hack/cluster env)` after `hack/cluster up`"
        );
    }
    let config = Config::infer().await.context("failed to read KUBECONFIG")?;
    Client::try_from(config).context("failed to build a Kubernetes client")
}

/// A namespace made for one test and deleted when the test ends (also when it fails).
pub struct TestNamespace {
    pub client: Client,
    pub name: String,
}

impl TestNamespace {
    /// Creates `dl-<prefix>-<random>` and labels it so leftovers are easy to find.
    pub async fn new(prefix: &str) -> Result<Self> {
        let client = client().await?;
        let suffix: u32 = rand::rng().random_range(0..0xff_ffff);
        let name = format!("dl-{prefix}-{suffix:06x}");
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([("driftless.dev/test".to_string(), "true".to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .with_context(|| format!("failed to create test namespace {name}"))?;
        Ok(Self { client, name })
    }

    /// A typed API for this namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Deleted in the background: the test does not wait for the contents to be finalized.
        let name = self.name.clone();
        crate::run_detached(move |client| async move {
            let _ = Api::<Namespace>::all(client)
                .delete(&name, &DeleteParams::background())
                .await;
        });
    }
}
