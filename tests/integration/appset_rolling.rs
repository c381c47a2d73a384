//! ApplicationSet progressive syncs (`strategy.type: RollingSync`) on the real cluster, with
//! the controller in-process: three apps from a list generator (two `env: dev`, one
//! `env: prod`) in two steps. Each deploys a LoadBalancer Service, which stays Progressing
//! until it has an address; nothing gives it one but the test, so the test decides when each
//! app turns Healthy and can check that prod is not synced before both dev apps are.
//! Then `deletionOrder: Reverse`: with a finalizer of the test's holding each app, deleting
//! the ApplicationSet deletes prod first and each dev app only once the one before is gone.

use crate::gitops::{Gitops, TIMEOUT};
use driftless_testkit::wait_until;
use k8s_openapi::api::core::v1::Service;
use kube::Api;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use serde_json::{Value, json};

const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";
/// Keeps a deleted app around until the test lets it go.
const HOLD: &str = "driftless.dev/test-hold";
const APPSET: &str = "rollout";

/// The harness, plus: on drop, the ApplicationSet's finalizers are removed (with the
/// controller stopped nothing else would, and the namespace could not go).
struct Env {
    gitops: Gitops,
}

impl std::ops::Deref for Env {
    type Target = Gitops;

    fn deref(&self) -> &Gitops {
        &self.gitops
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let name = self.ns.name.clone();
        // The test's client cannot be used in a Drop; run_detached gives a fresh one.
        driftless_testkit::run_detached(move |client| async move {
            let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "ApplicationSet");
            let resource = ApiResource::from_gvk(&gvk);
            let api: Api<DynamicObject> = Api::namespaced_with(client, &name, &resource);
            let patch = Patch::Merge(json!({"metadata": {"finalizers": null}}));
            let _ = api.patch(APPSET, &PatchParams::default(), &patch).await;
        });
    }
}

impl Env {
    async fn wait_appset(
        &self,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let waited = wait_until(TIMEOUT, &format!("applicationset: {what}"), || async {
            Ok(self
                .get("ApplicationSet", APPSET)
                .await?
                .filter(|a| check(a)))
        })
        .await;
        match waited {
            Ok(appset) => Ok(appset),
            Err(error) => {
                let seen = self.get("ApplicationSet", APPSET).await.ok().flatten();
                let status = seen.map(|s| s["status"].clone()).unwrap_or_default();
                anyhow::bail!(
                    "{error}\nlast status: {}",
                    serde_json::to_string_pretty(&status)?
                )
            }
        }
    }

    /// Gives LoadBalancer Service `name` an address: its app turns Healthy.
    async fn assign_address(&self, name: &str) -> anyhow::Result<()> {
        let services: Api<Service> = self.ns.api();
        let status = json!({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}});
        services
            .patch_status(name, &PatchParams::default(), &Patch::Merge(status))
            .await?;
        Ok(())
    }

    async fn service_exists(&self, name: &str) -> anyhow::Result<bool> {
        Ok(self.ns.api::<Service>().get_opt(name).await?.is_some())
    }

    async fn set_finalizers(&self, app: &str, finalizers: Value) -> anyhow::Result<()> {
        let patch = Patch::Merge(json!({"metadata": {"finalizers": finalizers}}));
        self.apps()
            .patch(app, &PatchParams::default(), &patch)
            .await?;
        Ok(())
    }

    /// Which of `apps` exist and are being deleted (true) or not (false); gone ones are left out.
    async fn terminating(&self, apps: &[&String]) -> anyhow::Result<Vec<(String, bool)>> {
        let mut out = Vec::new();
        for app in apps {
            if let Some(a) = self.app(app).await? {
                out.push((
                    app.to_string(),
                    !a["metadata"]["deletionTimestamp"].is_null(),
                ));
            }
        }
        Ok(out)
    }

    /// Waits until `app` is being deleted and the controller has deleted its objects (only
    /// the test's hold keeps it).
    async fn wait_held(&self, app: &str) -> anyhow::Result<()> {
        self.wait_app(app, "deleted, its objects gone, only the hold left", |a| {
            !a["metadata"]["deletionTimestamp"].is_null()
                && a["metadata"]["finalizers"] == json!([HOLD])
        })
        .await?;
        Ok(())
    }
}

/// The `applicationStatus` entry of `app`, as (status, step).
fn progress_of(appset: &Value, app: &str) -> (String, String) {
    let entry = appset["status"]["applicationStatus"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["application"] == app)
        .cloned()
        .unwrap_or_default();
    let text = |key: &str| entry[key].as_str().unwrap_or_default().to_string();
    (text("status"), text("step"))
}

fn is(appset: &Value, app: &str, status: &str, step: &str) -> bool {
    progress_of(appset, app) == (status.to_string(), step.to_string())
}

fn rollout_condition(appset: &Value) -> (String, String) {
    let condition = appset["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "RolloutProgressing")
        .cloned()
        .unwrap_or_default();
    let text = |key: &str| condition[key].as_str().unwrap_or_default().to_string();
    (text("status"), text("message"))
}

/// The Service of app `name`, annotated with `version`.
fn load_balancer(name: &str, version: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: lb-{name}, annotations: {{version: \"{version}\"}}}}\n\
         spec:\n  type: LoadBalancer\n  allocateLoadBalancerNodePorts: false\n  selector: {{app: {name}}}\n\
         \x20 ports: [{{port: 80}}]\n"
    )
}

/// The `version` annotation of the live Service `name`.
async fn version_of(services: &Api<Service>, name: &str) -> anyhow::Result<Option<String>> {
    Ok(services
        .get_opt(name)
        .await?
        .and_then(|s| s.metadata.annotations)
        .and_then(|a| a.get("version").cloned()))
}

fn entry<'a>(appset: &'a Value, app: &str) -> &'a Value {
    appset["status"]["applicationStatus"]
        .as_array()
        .and_then(|list| list.iter().find(|e| e["application"] == app))
        .unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_sync_goes_step_by_step_and_reverse_deletion_deletes_prod_first()
-> anyhow::Result<()> {
    let mut env = Env {
        gitops: Gitops::new("appset-roll").await?,
    };
    for app in ["dev-a", "dev-b", "prod"] {
        env.repo
            .write(&format!("apps/{app}/svc.yaml"), load_balancer(app, "1"));
    }
    env.repo.commit("three load balancers");
    env.gitops.start().await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let appset = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {{name: {APPSET}, namespace: {ns}}}\nspec:\n\
         \x20 generators:\n  - list:\n      elements: [{{name: dev-a, env: dev}}, {{name: dev-b, env: dev}}, {{name: prod, env: prod}}]\n\
         \x20 strategy:\n    type: RollingSync\n    deletionOrder: Reverse\n    rollingSync:\n      steps:\n\
         \x20     - matchExpressions: [{{key: env, operator: In, values: [dev]}}]\n\
         \x20     - matchExpressions: [{{key: env, operator: In, values: [prod]}}]\n\
         \x20 template:\n    metadata:\n      name: '{ns}-{{{{name}}}}'\n      labels: {{env: '{{{{env}}}}'}}\n    spec:\n\
         \x20     project: default\n      source: {{repoURL: {url}, targetRevision: HEAD, path: 'apps/{{{{name}}}}'}}\n\
         \x20     destination: {{server: https://kubernetes.default.svc, namespace: {ns}}}\n\
         \x20     syncPolicy:\n        automated: {{prune: true, selfHeal: true}}\n"
    );
    env.apply(&appset).await?;
    let (dev_a, dev_b, prod) = (env.name("dev-a"), env.name("dev-b"), env.name("prod"));

    // Step 1: both dev apps are synced by the ApplicationSet and wait for their addresses;
    // prod waits for step 1.
    let rolling = env
        .wait_appset("dev apps Progressing, prod Waiting", |s| {
            is(s, &dev_a, "Progressing", "1")
                && is(s, &dev_b, "Progressing", "1")
                && is(s, &prod, "Waiting", "2")
        })
        .await?;
    assert_eq!(
        rollout_condition(&rolling),
        (
            "True".into(),
            "ApplicationSet is performing rollout of step 1".into()
        )
    );
    assert_eq!(
        rolling["metadata"]["finalizers"],
        json!([RESOURCES_FINALIZER]),
        "deletionOrder Reverse adds the resources finalizer"
    );
    let prod_app = env.app(&prod).await?.unwrap_or_default();
    assert_eq!(
        prod_app["spec"]["syncPolicy"]["automated"],
        json!({"prune": true, "selfHeal": true, "enabled": false}),
        "RollingSync turns the template's automated sync off"
    );
    assert!(
        prod_app["status"]["operationState"].is_null(),
        "prod is not synced"
    );
    assert!(!env.service_exists("lb-prod").await?);
    assert!(env.service_exists("lb-dev-a").await?);
    // The operation's state is written by the Application controller: wait for it.
    env.wait_app(&dev_a, "its sync started by the ApplicationSet", |a| {
        a["status"]["operationState"]["operation"]["initiatedBy"]
            == json!({"username": "applicationset-controller", "automated": true})
    })
    .await?;

    // One dev app Healthy is not enough.
    env.assign_address("lb-dev-a").await?;
    let half = env
        .wait_appset("dev-a Healthy", |s| is(s, &dev_a, "Healthy", "1"))
        .await?;
    assert!(
        is(&half, &prod, "Waiting", "2"),
        "{:?}",
        progress_of(&half, &prod)
    );
    assert!(
        !env.service_exists("lb-prod").await?,
        "prod waits for dev-b"
    );
    assert!(
        env.app(&prod).await?.unwrap_or_default()["status"]["operationState"].is_null(),
        "prod is still not synced"
    );

    // Both Healthy: step 2 starts, and prod is synced.
    env.assign_address("lb-dev-b").await?;
    let client_services = env.ns.api::<Service>();
    wait_until(TIMEOUT, "prod synced (lb-prod created)", || async {
        Ok(client_services.get_opt("lb-prod").await?.map(|_| ()))
    })
    .await?;
    let step_two = env
        .wait_appset("step 1 Healthy, prod rolling", |s| {
            is(s, &dev_b, "Healthy", "1") && progress_of(s, &prod).0 != "Waiting"
        })
        .await?;
    assert!(is(&step_two, &dev_a, "Healthy", "1"));
    env.assign_address("lb-prod").await?;
    let done = env
        .wait_appset("the rollout complete", |s| {
            is(s, &prod, "Healthy", "2") && rollout_condition(s).0 == "False"
        })
        .await?;
    assert_eq!(
        rollout_condition(&done).1,
        "ApplicationSet Rollout has completed"
    );
    let entries = done["status"]["applicationStatus"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["application"].as_str())
        .collect();
    assert_eq!(names, vec![dev_a.as_str(), dev_b.as_str(), prod.as_str()]);
    for entry in &entries {
        assert!(
            entry["lastTransitionTime"].is_string()
                && entry["targetRevisions"]
                    .as_array()
                    .is_some_and(|r| r.len() == 1),
            "{entry}"
        );
    }

    // A commit changing every app starts a second rollout. Automated sync is off, so only the
    // rollout's syncs can bring the new annotation; prod's starts after both dev apps are
    // Healthy again (times in whole seconds).
    for app in ["dev-a", "dev-b", "prod"] {
        env.repo
            .write(&format!("apps/{app}/svc.yaml"), load_balancer(app, "2"));
    }
    let commit = env.repo.commit("version 2");
    let again = env
        .wait_appset("the second rollout complete", |s| {
            [&dev_a, &dev_b, &prod].iter().all(|app| {
                entry(s, app)["status"] == "Healthy"
                    && entry(s, app)["targetRevisions"] == json!([commit])
            }) && rollout_condition(s).0 == "False"
        })
        .await?;
    for app in ["dev-a", "dev-b", "prod"] {
        assert_eq!(
            version_of(&client_services, &format!("lb-{app}"))
                .await?
                .as_deref(),
            Some("2"),
            "{app} synced again"
        );
    }
    let prod_started =
        env.app(&prod).await?.unwrap_or_default()["status"]["operationState"]["startedAt"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    for dev in [&dev_a, &dev_b] {
        let healthy_at = entry(&again, dev)["lastTransitionTime"]
            .as_str()
            .unwrap_or_default();
        assert!(
            !healthy_at.is_empty() && healthy_at <= prod_started.as_str(),
            "{dev} Healthy at {healthy_at}, prod synced at {prod_started}"
        );
    }

    // Reverse deletion: prod first, then the dev apps one at a time.
    for app in [&dev_a, &dev_b, &prod] {
        env.set_finalizers(app, json!([RESOURCES_FINALIZER, HOLD]))
            .await?;
    }
    env.argo("ApplicationSet")
        .delete(APPSET, &DeleteParams::default())
        .await?;
    let everyone = [&dev_a, &dev_b, &prod];
    env.wait_held(&prod).await?;
    assert!(
        !env.service_exists("lb-prod").await?,
        "prod's objects deleted"
    );
    assert_eq!(
        env.terminating(&everyone).await?,
        vec![
            (dev_a.clone(), false),
            (dev_b.clone(), false),
            (prod.clone(), true)
        ],
        "the dev apps wait while prod is there"
    );
    env.set_finalizers(&prod, Value::Null).await?;
    env.wait_held(&dev_a).await?;
    assert_eq!(
        env.terminating(&everyone).await?,
        vec![(dev_a.clone(), true), (dev_b.clone(), false)],
        "one app at a time"
    );
    env.set_finalizers(&dev_a, Value::Null).await?;
    env.wait_held(&dev_b).await?;
    env.set_finalizers(&dev_b, Value::Null).await?;
    wait_until(TIMEOUT, "the ApplicationSet and its apps gone", || async {
        let apps = env.apps().list(&ListParams::default()).await?.items;
        let appset = env.get("ApplicationSet", APPSET).await?;
        Ok((apps.is_empty() && appset.is_none()).then_some(()))
    })
    .await?;
    Ok(())
}
