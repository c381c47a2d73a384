//! `driftless serve` on the real cluster: the sync-loop breaker (an object another field manager
//! keeps changing back is taken out of automated sync) and the AppProject guard mode
//! (`driftless.dev/guard: warn|enforce`). Driven only through git commits and API calls.

use crate::gitops::{AUTOMATED, Gitops, TIMEOUT, sync_of};
use driftless_testkit::wait_until;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use std::time::Duration;

fn condition<'a>(app: &'a Value, kind: &str) -> Option<&'a str> {
    let conditions = app["status"]["conditions"].as_array()?;
    conditions
        .iter()
        .find(|c| c["type"] == kind)
        .and_then(|c| c["message"].as_str())
}

/// A Deployment; `root` makes its container run as UID 0.
fn deployment(name: &str, image: &str, root: bool) -> String {
    let security = if root {
        ", securityContext: {runAsUser: 0}"
    } else {
        ""
    };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 1\n\
         \x20 selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n\
         \x20   spec:\n      containers: [{{name: web, image: \"{image}\"{security}}}]\n"
    )
}

/// A Deployment that passes every error rule of the guard's pod security baseline.
fn hardened_deployment(name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 1\n\
         \x20 selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n\
         \x20   spec:\n      securityContext: {{runAsNonRoot: true, runAsUser: 101, seccompProfile: {{type: RuntimeDefault}}}}\n\
         \x20     containers:\n      - name: web\n        image: nginx:1.27\n\
         \x20       securityContext: {{readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}}}\n"
    )
}

/// The default-deny ingress policy the guard wants in every namespace running workloads.
const DENY_INGRESS: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-ingress}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n";

fn application(name: &str, namespace: &str, project: &str, repo: &str, path: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: {namespace}\n\
         spec:\n  project: {project}\n  source:\n    repoURL: {repo}\n    targetRevision: HEAD\n    path: {path}\n\
         \x20 destination:\n    server: https://kubernetes.default.svc\n    namespace: {namespace}\n{AUTOMATED}"
    )
}

/// An AppProject allowing everything, with the guard mode annotation when given.
fn project(name: &str, namespace: &str, mode: Option<&str>) -> String {
    let annotations = mode
        .map(|m| format!("  annotations: {{driftless.dev/guard: {m}}}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: {name}\n  namespace: {namespace}\n{annotations}\
         spec:\n  sourceRepos: ['*']\n  destinations: [{{server: '*', namespace: '*'}}]\n\
         \x20 clusterResourceWhitelist: [{{group: '*', kind: '*'}}]\n"
    )
}

/// Another controller fighting over `spec.replicas` (as an autoscaler writing plain updates
/// would): sets it to 5 under field manager `replica-fighter` every 300 ms until stopped.
fn spawn_fighter(api: Api<Deployment>, name: &str) -> tokio::task::JoinHandle<()> {
    let name = name.to_string();
    tokio::spawn(async move {
        let params = PatchParams {
            field_manager: Some("replica-fighter".into()),
            ..Default::default()
        };
        loop {
            let _ = api
                .patch(
                    &name,
                    &params,
                    &Patch::Merge(json!({"spec": {"replicas": 5}})),
                )
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_field_manager_fighting_self_heal_is_taken_out_of_automated_sync_until_a_new_commit()
-> anyhow::Result<()> {
    let mut env = Gitops::new("loop").await?;
    let handle = env.start().await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    env.repo
        .write("app/web.yaml", deployment("web", "nginx:1.27", false));
    env.repo
        .write("app/other.yaml", deployment("other", "nginx:1.27", false));
    env.repo.commit("two deployments");
    let app = env.name("fight");
    env.apply(&application(&app, &ns, "default", &url, "app"))
        .await?;
    env.wait_app(&app, "Synced", |a| sync_of(a) == "Synced")
        .await?;

    let fighter = spawn_fighter(env.deployments(), "web");
    let looped = env
        .wait_app(&app, "a SyncLoop condition", |a| {
            condition(a, "SyncLoop").is_some()
        })
        .await?;
    let message = condition(&looped, "SyncLoop")
        .unwrap_or_default()
        .to_string();
    for part in [
        format!("apps/Deployment/{ns}/web"),
        "/spec/replicas".to_string(),
        "replica-fighter".to_string(),
    ] {
        assert!(
            message.contains(&part),
            "the SyncLoop condition names {part}: {message}"
        );
    }

    // The re-applies stop: no automated sync starts while the fighter keeps going, and its value stays.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let syncs = handle.automated_syncs();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        handle.automated_syncs(),
        syncs,
        "no automated sync after the loop was broken"
    );
    let replicas = env
        .deployments()
        .get("web")
        .await?
        .spec
        .and_then(|s| s.replicas);
    assert_eq!(
        replicas,
        Some(5),
        "the looping object is left to the other manager"
    );

    // The rest of the app still syncs: drift on `other` is healed.
    let scale = PatchParams {
        field_manager: Some("kubectl".into()),
        ..Default::default()
    };
    env.deployments()
        .patch(
            "other",
            &scale,
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await?;
    wait_until(TIMEOUT, "self-heal of `other`", || async {
        let replicas = env
            .deployments()
            .get("other")
            .await?
            .spec
            .and_then(|s| s.replicas);
        Ok((replicas == Some(1)).then_some(()))
    })
    .await?;

    // A new commit gives the object back to automated sync: the condition goes and git wins.
    fighter.abort();
    let _ = fighter.await;
    env.repo
        .write("app/web.yaml", deployment("web", "nginx:1.28", false));
    let bumped = env.repo.commit("bump web");
    let cleared = env
        .wait_app(&app, "synced to the new commit without SyncLoop", |a| {
            a["status"]["sync"]["revision"] == bumped.as_str()
                && sync_of(a) == "Synced"
                && condition(a, "SyncLoop").is_none()
        })
        .await?;
    assert_eq!(cleared["status"]["operationState"]["phase"], "Succeeded");
    let web = env.deployments().get("web").await?;
    assert_eq!(
        web.spec.and_then(|s| s.replicas),
        Some(1),
        "git's replicas are back"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enforcing_project_blocks_a_root_deployment_and_a_warning_project_syncs_it()
-> anyhow::Result<()> {
    let mut env = Gitops::new("guard").await?;
    env.start().await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    env.repo.write(
        "strict/web.yaml",
        deployment("strict-web", "nginx:1.27", true),
    );
    env.repo.write(
        "lenient/web.yaml",
        deployment("lenient-web", "nginx:1.27", true),
    );
    env.repo.commit("two root deployments");
    env.apply(&project("strict", &ns, Some("enforce"))).await?;
    env.apply(&project("lenient", &ns, None)).await?;
    let (strict, lenient) = (env.name("strict"), env.name("lenient"));
    env.apply(&application(&strict, &ns, "strict", &url, "strict"))
        .await?;
    env.apply(&application(&lenient, &ns, "lenient", &url, "lenient"))
        .await?;

    // warn (the default): synced, with the finding shown.
    let warned = env
        .wait_app(&lenient, "Synced with a GuardWarning", |a| {
            sync_of(a) == "Synced" && condition(a, "GuardWarning").is_some()
        })
        .await?;
    let warning = condition(&warned, "GuardWarning").unwrap_or_default();
    assert!(
        warning.contains("run-as-non-root") && warning.contains("lenient-web"),
        "{warning}"
    );
    assert!(
        env.deployments().get_opt("lenient-web").await?.is_some(),
        "warn mode syncs the Deployment"
    );

    // enforce: the error blocks the automated sync; nothing is created.
    let blocked = env
        .wait_app(&strict, "a GuardError", |a| {
            condition(a, "GuardError").is_some()
        })
        .await?;
    let error = condition(&blocked, "GuardError").unwrap_or_default();
    assert!(
        error.contains("run-as-non-root")
            && error.contains(&format!("apps/Deployment/{ns}/strict-web")),
        "{error}"
    );
    assert_eq!(sync_of(&blocked), "OutOfSync");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        env.deployments().get_opt("strict-web").await?.is_none(),
        "enforce mode never creates the Deployment"
    );

    // A manual sync is refused too: the operation ends in Error and nothing is created.
    let request = json!({"operation": {"sync": {}, "initiatedBy": {"username": "alice"}}});
    env.apps()
        .patch(&strict, &PatchParams::default(), &Patch::Merge(request))
        .await?;
    let refused = env
        .wait_app(&strict, "the manual sync refused", |a| {
            a["status"]["operationState"]["phase"] == "Error" && a["operation"].is_null()
        })
        .await?;
    let message = refused["status"]["operationState"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("guard"), "{message}");
    assert!(
        env.deployments().get_opt("strict-web").await?.is_none(),
        "the manual sync created nothing"
    );

    // Fixing the findings in git lets it sync.
    env.repo
        .write("strict/web.yaml", hardened_deployment("strict-web"));
    env.repo.write("strict/deny.yaml", DENY_INGRESS);
    env.repo.commit("harden the deployment");
    env.wait_app(&strict, "Synced without GuardError", |a| {
        sync_of(a) == "Synced" && condition(a, "GuardError").is_none()
    })
    .await?;
    assert!(env.deployments().get_opt("strict-web").await?.is_some());
    Ok(())
}

/// The invalidation trap: a chart that draws a random value on every render. The render cache
/// keeps one revision's render, so the trap only fires when something renders again, as a hard
/// refresh does; each one then re-applies a new value. The app opts out of keeping live values
/// at volatile paths (which would defuse the trap, see `volatile.rs`), so the sync-loop breaker
/// is what stops it at the threshold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_with_rand_alpha_num_hard_refreshed_again_and_again_is_taken_out_of_automated_sync()
-> anyhow::Result<()> {
    let mut env = Gitops::new("guard-rand").await?;
    env.start().await?;
    env.repo.write(
        "charts/token/Chart.yaml",
        "apiVersion: v2\nname: token\nversion: 0.1.0\n",
    );
    env.repo.write(
        "charts/token/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: token\ndata:\n  token: {{ randAlphaNum 16 | quote }}\n",
    );
    env.repo.commit("a chart that generates a token");
    let name = env.name("token");
    let manifest = application(
        &name,
        &env.ns.name,
        "default",
        &env.repo.file_url(),
        "charts/token",
    )
    .replace(
        "metadata:\n",
        "metadata:\n  annotations: {driftless.dev/volatile-fields: apply}\n",
    );
    env.apply(&manifest).await?;
    env.wait_app(&name, "Synced", |a| sync_of(a) == "Synced")
        .await?;

    // Someone (or a script) keeps asking for a hard refresh.
    let apps = env.apps();
    let refresher = {
        let (apps, name) = (apps.clone(), name.clone());
        tokio::spawn(async move {
            loop {
                let patch = Patch::Merge(
                    json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}}),
                );
                let _ = apps.patch(&name, &PatchParams::default(), &patch).await;
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
        })
    };
    let looped = env
        .wait_app(&name, "a SyncLoop condition", |a| {
            condition(a, "SyncLoop").is_some()
        })
        .await;
    // Once out of automated sync, further hard refreshes re-apply nothing.
    let configmaps: Api<k8s_openapi::api::core::v1::ConfigMap> = env.ns.api();
    let token = |cm: k8s_openapi::api::core::v1::ConfigMap| {
        cm.data.unwrap_or_default().get("token").cloned()
    };
    let before = token(configmaps.get("token").await?);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = token(configmaps.get("token").await?);
    refresher.abort();
    let app = looped?;
    assert_eq!(
        before, after,
        "the live token stopped changing while hard refreshes went on"
    );
    let message = condition(&app, "SyncLoop").unwrap_or_default();
    assert!(
        message.contains("/ConfigMap/") && message.contains("token"),
        "names the object: {message}"
    );
    assert!(message.contains("/data/token"), "names the path: {message}");
    Ok(())
}
