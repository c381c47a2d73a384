use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use rand::Rng;

/// Which cluster a test talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCluster {
    /// The one `KUBECONFIG` names, where driftless runs.
    Main,
    /// Another one, named by `DRIFTLESS_SECOND_KUBECONFIG`: a destination for multi-cluster tests.
    Second,
}

impl TestCluster {
    fn variable(self) -> &'static str {
        match self {
            TestCluster::Main => "KUBECONFIG",
            TestCluster::Second => "DRIFTLESS_SECOND_KUBECONFIG",
        }
    }

    /// The kubeconfig file of this cluster.
    pub fn kubeconfig_path(self) -> Result<std::path::PathBuf> {
        match std::env::var_os(self.variable()) {
            Some(path) => Ok(path.into()),
            None => anyhow::bail!(
                "cluster tests need {}: run them through `make test`, which starts the local \
                 control planes (hack/cluster, hack/second-cluster) and exports it",
                self.variable()
            ),
        }
    }
}

/// A client for the cluster that `KUBECONFIG` names. `make test` starts the local
/// control plane and exports it; a user may export their own cluster instead.
pub async fn client() -> Result<Client> {
    client_of(TestCluster::Main).await
}

/// A client for `cluster`.
pub async fn client_of(cluster: TestCluster) -> Result<Client> {
    let path = cluster.kubeconfig_path()?;
    let config = match cluster {
        TestCluster::Main => Config::infer().await.context("failed to read KUBECONFIG")?,
        TestCluster::Second => {
            let file = Kubeconfig::read_from(&path)
                .with_context(|| format!("failed to read {}", path.display()))?;
            Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .with_context(|| format!("failed to use {}", path.display()))?
        }
    };
    Client::try_from(config).context("failed to build a Kubernetes client")
}

/// A namespace made for one test and deleted when the test ends (also when it fails).
pub struct TestNamespace {
    pub client: Client,
    pub name: String,
    cluster: TestCluster,
}

impl TestNamespace {
    /// Creates `dl-<prefix>-<random>` and labels it so leftovers are easy to find.
    pub async fn new(prefix: &str) -> Result<Self> {
        Self::new_on(TestCluster::Main, prefix).await
    }

    /// The same, in `cluster`.
    pub async fn new_on(cluster: TestCluster, prefix: &str) -> Result<Self> {
        let client = client_of(cluster).await?;
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
        Ok(Self {
            client,
            name,
            cluster,
        })
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
        crate::run_detached_on(self.cluster, move |client| async move {
            let _ = Api::<Namespace>::all(client)
                .delete(&name, &DeleteParams::background())
                .await;
        });
    }
}
