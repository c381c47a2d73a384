use crate::wait_until;
use anyhow::{Context, Result};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use std::time::Duration;

/// Applies the CRDs printed by `<driftless> crds` (server-side, idempotent, shared by every
/// test: CRDs are cluster-scoped) and waits until each is Established and served.
pub async fn install_argo_crds(client: &Client, driftless_bin: &str) -> Result<()> {
    let output = std::process::Command::new(driftless_bin)
        .arg("crds")
        .output()
        .with_context(|| format!("failed to run {driftless_bin} crds"))?;
    anyhow::ensure!(
        output.status.success(),
        "driftless crds failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout)?;
    let printed = text
        .split("\n---")
        .filter(|d| !d.trim().trim_start_matches("---").trim().is_empty())
        .map(|doc| {
            serde_norway::from_str(doc.trim_start_matches("---"))
                .context("failed to parse a printed CRD")
        })
        .collect::<Result<Vec<CustomResourceDefinition>>>()?;
    install_crds(client, printed).await
}

/// Applies `definitions` (server-side, idempotent) and waits until each is Established.
pub async fn install_crds(
    client: &Client,
    definitions: impl IntoIterator<Item = CustomResourceDefinition>,
) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in definitions {
        let name = crd.metadata.name.clone().context("a CRD has no name")?;
        crds.patch(
            &name,
            &PatchParams::apply("driftless-test").force(),
            &Patch::Apply(&crd),
        )
        .await
        .with_context(|| format!("the API server rejected CRD {name}"))?;
        wait_established(&crds, &name).await?;
    }
    Ok(())
}

/// Waits until the CRD `name` is Established (its API is served).
pub async fn wait_established(crds: &Api<CustomResourceDefinition>, name: &str) -> Result<()> {
    wait_until(
        Duration::from_secs(30),
        &format!("CRD {name} to be Established"),
        || async {
            let c = crds.get(name).await?;
            let established = c
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            Ok(established.then_some(()))
        },
    )
    .await
}
