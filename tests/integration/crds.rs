//! `driftless crds` prints CRDs the real API server accepts, and Applications stored through
//! them keep the fields driftless does not model.

use driftless_testkit::{TestNamespace, install_argo_crds};
use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::json;

#[tokio::test]
async fn printed_crds_are_accepted_and_applications_keep_unknown_fields() -> anyhow::Result<()> {
    let ns = TestNamespace::new("crds").await?;
    install_argo_crds(&ns.client, env!("CARGO_BIN_EXE_driftless")).await?;

    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application");
    let apps: Api<DynamicObject> =
        Api::namespaced_with(ns.client.clone(), &ns.name, &ApiResource::from_gvk(&gvk));
    let app = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "guestbook", "namespace": ns.name},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://example.invalid/guestbook.git",
                "targetRevision": "HEAD",
                "path": "guestbook",
                "directory": {"recurse": true, "someFutureOption": {"x": 1}}
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}, "syncOptions": ["CreateNamespace=true"]}
        }
    });
    apps.patch(
        "guestbook",
        &PatchParams::apply("driftless-test"),
        &Patch::Apply(&app),
    )
    .await?;
    let stored = apps.get("guestbook").await?;
    assert_eq!(
        stored.data["spec"]["source"]["directory"]["someFutureOption"],
        json!({"x": 1})
    );
    // The stored object reads back into the typed model unchanged.
    let typed: driftless_model::Application =
        serde_json::from_value(serde_json::to_value(&stored)?)?;
    assert_eq!(typed.spec.project, "default");
    assert_eq!(
        typed.spec.sync_policy.as_ref().map(|p| p.is_automated()),
        Some(true)
    );
    Ok(())
}
