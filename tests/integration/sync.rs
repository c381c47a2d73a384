//! `driftless diff` and `driftless sync` against the real cluster: what a user checks after
//! each command, in the cluster and in the command's output.

use crate::cli::{AppFixture, expect_exit, stderr, stdout};
use driftless_testkit::wait_until;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Event};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::json;
use std::time::Duration;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {team: shop}
  labels: {tier: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
"#;

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 80}]\n";

fn config_map(name: &str, annotations: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations: {{{annotations}}}\ndata: {{mode: fast}}\n"
    )
}

async fn replicas(api: &Api<Deployment>) -> anyhow::Result<Option<i32>> {
    Ok(api.get("web").await?.spec.and_then(|s| s.replicas))
}

#[tokio::test]
async fn fresh_sync_is_in_sync_and_a_manual_edit_shows_as_a_diff_that_sync_reverts()
-> anyhow::Result<()> {
    let cm = config_map("settings", "");
    let app = AppFixture::new(
        "sync",
        &[
            ("deploy.yaml", DEPLOYMENT),
            ("svc.yaml", SERVICE),
            ("cm.yaml", &cm),
        ],
        "",
    )
    .await?;
    expect_exit(&app.driftless(&["sync"]), 0, "first sync");
    let diff = app.driftless(&["diff"]);
    expect_exit(&diff, 0, "diff right after sync");
    assert_eq!(stdout(&diff), "", "a freshly synced app has no diff");

    // What `kubectl scale` / `kubectl edit` do: a plain update by another field manager.
    let deployments: Api<Deployment> = app.ns.api();
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    deployments
        .patch(
            "web",
            &edit,
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await?;
    let diff = app.driftless(&["diff"]);
    expect_exit(&diff, 1, "diff after a manual edit");
    let text = stdout(&diff);
    assert!(
        text.contains("-  replicas: 5") && text.contains("+  replicas: 2"),
        "diff shows the edit:\n{text}"
    );
    assert!(
        !text.contains("ConfigMap"),
        "only the edited object differs:\n{text}"
    );

    expect_exit(&app.driftless(&["sync"]), 0, "sync after the edit");
    assert_eq!(
        replicas(&deployments).await?,
        Some(2),
        "sync reverted the edit"
    );
    expect_exit(&app.driftless(&["diff"]), 0, "diff after reverting");
    Ok(())
}

#[tokio::test]
async fn waves_run_in_order_after_the_presync_hook_and_wait_for_health() -> anyhow::Result<()> {
    let hook = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: HookSucceeded
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: busybox:1.36, command: ["true"]}]
"#;
    let later = config_map("after-web", "argocd.argoproj.io/sync-wave: \"1\"");
    let app = AppFixture::new(
        "waves",
        &[
            ("deploy.yaml", DEPLOYMENT),
            ("hook.yaml", hook),
            ("later.yaml", &later),
        ],
        "",
    )
    .await?;
    let out = app.driftless(&["sync"]);
    expect_exit(&out, 0, "sync with a hook and two waves");
    let text = stdout(&out);
    let pos = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in output:\n{text}"))
    };
    let hook_line = pos("batch/Job");
    let deploy_line = pos("apps/Deployment");
    let wave_one = pos("Sync wave 1:");
    assert!(
        hook_line < deploy_line,
        "the PreSync hook ran before wave 0:\n{text}"
    );
    // On a busy machine the Deployment may be Available by the first look, so the wait line is
    // not always there; when it is, it sits between wave 0 and wave 1. The cluster's clocks below
    // prove the wait either way.
    let waiting = text.find(&format!(
        "waiting for apps/Deployment/{}/web (Progressing)",
        app.ns.name
    ));
    assert!(
        deploy_line < wave_one && waiting.is_none_or(|w| deploy_line < w && w < wave_one),
        "wave 1 waited for the Deployment to be healthy:\n{text}"
    );

    // The cluster agrees: the ConfigMap of wave 1 was created after the Deployment became Available.
    let deployment: Deployment = app.ns.api().get("web").await?;
    let available = deployment
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "Available" && c.status == "True")
        .and_then(|c| c.last_transition_time)
        .expect("the Deployment is Available");
    let cm: ConfigMap = app.ns.api().get("after-web").await?;
    let created = cm.metadata.creation_timestamp.expect("created");
    assert!(
        created.0 >= available.0,
        "ConfigMap created {created:?} before the Deployment was Available {available:?}"
    );

    // The hook Job ran (its pod was created) and was deleted because it succeeded. The delete is
    // foreground, so the API server removes the Job only after the garbage collector took its pod.
    let jobs: Api<Job> = app.ns.api();
    wait_until(
        Duration::from_secs(60),
        "HookSucceeded to delete the hook Job",
        || async { Ok(jobs.get_opt("migrate").await?.is_none().then_some(())) },
    )
    .await?;
    let events: Api<Event> = app.ns.api();
    let ran = events
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .any(|e| {
            e.involved_object.kind.as_deref() == Some("Job")
                && e.involved_object.name.as_deref() == Some("migrate")
        });
    assert!(ran, "the hook Job left events, so it ran");
    Ok(())
}

#[tokio::test]
async fn prune_removes_what_git_dropped_keeps_prune_false_and_never_follows_a_failed_render()
-> anyhow::Result<()> {
    let a = config_map("a", "");
    let keep = config_map("keep", "argocd.argoproj.io/sync-options: Prune=false");
    let gone = config_map("gone", "");
    let app = AppFixture::new(
        "prune",
        &[("a.yaml", &a), ("keep.yaml", &keep), ("gone.yaml", &gone)],
        "",
    )
    .await?;
    expect_exit(&app.driftless(&["sync"]), 0, "first sync");
    let cms: Api<ConfigMap> = app.ns.api();

    app.repo
        .remove("app/keep.yaml")
        .remove("app/gone.yaml")
        .commit("drop two config maps");
    let out = app.driftless(&["sync", "--prune"]);
    expect_exit(&out, 0, "sync --prune");
    // Pruning deletes with foreground propagation: the garbage collector removes the object
    // moments after the sync, later on a busy machine.
    wait_until(
        Duration::from_secs(30),
        "the dropped object pruned",
        || async { Ok(cms.get_opt("gone").await?.is_none().then_some(())) },
    )
    .await?;
    assert!(
        cms.get_opt("keep").await?.is_some(),
        "Prune=false kept its object"
    );
    assert!(cms.get_opt("a").await?.is_some());

    app.repo
        .write(
            "app/broken.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\ndata: [\n",
        )
        .commit("break the yaml");
    app.repo.remove("app/a.yaml").commit("and drop a");
    let out = app.driftless(&["sync", "--prune"]);
    expect_exit(&out, 1, "sync of a broken render");
    assert!(
        stderr(&out).contains("broken.yaml"),
        "the error names the file: {}",
        stderr(&out)
    );
    assert!(
        cms.get_opt("a").await?.is_some(),
        "a failed render pruned nothing"
    );

    app.repo.remove("app/broken.yaml").commit("empty the app");
    let out = app.driftless(&["sync", "--prune"]);
    expect_exit(&out, 1, "sync of an empty render");
    assert!(
        cms.get_opt("a").await?.is_some(),
        "an empty render pruned nothing without allowEmpty"
    );
    Ok(())
}

#[tokio::test]
async fn ignore_differences_by_pointer_jq_and_manager_each_hide_exactly_their_field()
-> anyhow::Result<()> {
    let ignore = "  ignoreDifferences:\n  - group: apps\n    kind: Deployment\n    jsonPointers: [/spec/replicas]\n\
                  \x20   jqPathExpressions: ['.metadata.annotations.team']\n    managedFieldsManagers: [labeler]\n";
    let app = AppFixture::new("ignore", &[("deploy.yaml", DEPLOYMENT)], ignore).await?;
    expect_exit(&app.driftless(&["sync"]), 0, "first sync");
    let deployments: Api<Deployment> = app.ns.api();
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    deployments
        .patch(
            "web",
            &edit,
            &Patch::Merge(
                json!({"spec": {"replicas": 4}, "metadata": {"annotations": {"team": "infra"}}}),
            ),
        )
        .await?;
    let labeler = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"tier": "db"}}});
    deployments
        .patch(
            "web",
            &PatchParams::apply("labeler").force(),
            &Patch::Apply(labeler),
        )
        .await?;
    let diff = app.driftless(&["diff"]);
    expect_exit(&diff, 0, "every change is covered by an ignore rule");

    deployments
        .patch("web", &edit, &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}})))
        .await?;
    let diff = app.driftless(&["diff"]);
    expect_exit(&diff, 1, "an unignored change");
    let text = stdout(&diff);
    assert!(
        text.contains("nginx:1.28") && text.contains("nginx:1.27"),
        "the image change shows:\n{text}"
    );
    for hidden in ["replicas: 4", "team: infra", "tier: db"] {
        assert!(
            !text.contains(hidden),
            "{hidden} is ignored but shows:\n{text}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_deployment_goes_progressing_then_healthy_as_its_pods_start() -> anyhow::Result<()> {
    let app = AppFixture::new("health", &[("deploy.yaml", DEPLOYMENT)], "").await?;
    // Without `--prune` nothing is deleted; this sync only applies, then the test watches health.
    expect_exit(&app.driftless(&["sync"]), 0, "sync");
    let deployments: Api<Deployment> = app.ns.api();
    let custom = driftless_health::CustomChecks::default();
    wait_until(
        Duration::from_secs(60),
        "the Deployment to be Healthy",
        || async {
            let obj = serde_json::to_value(deployments.get("web").await?)?;
            let health = driftless_health::health_of(&obj, &custom).map(|h| h.status.to_string());
            Ok((health.as_deref() == Some("Healthy")).then_some(()))
        },
    )
    .await?;
    // Scaling up makes it Progressing until KWOK starts the new pods, then Healthy again.
    let edit = PatchParams {
        field_manager: Some("kubectl-scale".into()),
        ..Default::default()
    };
    deployments
        .patch(
            "web",
            &edit,
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await?;
    let obj = serde_json::to_value(deployments.get("web").await?)?;
    let first = driftless_health::health_of(&obj, &custom).map(|h| h.status.to_string());
    assert_eq!(
        first.as_deref(),
        Some("Progressing"),
        "right after scaling: {obj}"
    );
    wait_until(
        Duration::from_secs(60),
        "the scaled Deployment to be Healthy",
        || async {
            let obj = serde_json::to_value(deployments.get("web").await?)?;
            let health = driftless_health::health_of(&obj, &custom).map(|h| h.status.to_string());
            Ok((health.as_deref() == Some("Healthy")).then_some(()))
        },
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_lua_health_check_from_argocd_cm_decides_a_custom_resource_health() -> anyhow::Result<()>
{
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{DeleteParams, PostParams};
    let fixture_ns = driftless_testkit::TestNamespace::new("lua-crd").await?;
    let group = format!("{}.driftless.dev", fixture_ns.name.replace('-', ""));
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("gadgets.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema":
                {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    }))?;
    let crds: Api<CustomResourceDefinition> = Api::all(fixture_ns.client.clone());
    crds.create(&PostParams::default(), &crd).await?;
    let result = async {
        driftless_testkit::wait_established(&crds, &format!("gadgets.{group}")).await?;
        let gadget = |name: &str, color: &str| format!("apiVersion: {group}/v1\nkind: Gadget\nmetadata: {{name: {name}}}\nspec: {{color: {color}}}\n");
        let (red, green) = (gadget("red", "red"), gadget("green", "green"));
        let app = AppFixture::new("lua", &[("red.yaml", &red), ("green.yaml", &green)], "").await?;
        let script = "hs = {status = \"Healthy\", message = \"green light\"}\n\
                      if obj.spec.color == \"red\" then hs.status = \"Degraded\"; hs.message = \"red light\" end\nreturn hs\n";
        let cm: ConfigMap = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm"},
            "data": {format!("resource.customizations.health.{group}_Gadget"): script}}))?;
        app.ns.api::<ConfigMap>().create(&PostParams::default(), &cm).await?;
        let out = app.driftless(&["sync"]);
        expect_exit(&out, 0, "sync of two gadgets");
        let text = stdout(&out);
        let row = |name: &str| text.lines().find(|l| l.starts_with(&format!("{group}/Gadget/{}/{name} ", app.ns.name))).map(str::to_string);
        assert!(row("red").is_some_and(|r| r.trim_end().ends_with("Degraded")), "red is Degraded:\n{text}");
        assert!(row("green").is_some_and(|r| r.trim_end().ends_with("Healthy")), "green is Healthy:\n{text}");
        anyhow::Ok(())
    }
    .await;
    crds.delete(&format!("gadgets.{group}"), &DeleteParams::default())
        .await?;
    result
}

#[tokio::test]
async fn respect_ignore_differences_keeps_ignored_live_values_when_syncing() -> anyhow::Result<()> {
    let ignore = "  ignoreDifferences:\n  - group: apps\n    kind: Deployment\n    jsonPointers: [/spec/replicas]\n\
                  \x20 syncPolicy:\n    syncOptions: [RespectIgnoreDifferences=true]\n";
    let app = AppFixture::new("respect", &[("deploy.yaml", DEPLOYMENT)], ignore).await?;
    expect_exit(&app.driftless(&["sync"]), 0, "first sync");
    let deployments: Api<Deployment> = app.ns.api();
    let scale = PatchParams {
        field_manager: Some("kubectl-scale".into()),
        ..Default::default()
    };
    deployments
        .patch(
            "web",
            &scale,
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await?;
    app.repo
        .write(
            "app/deploy.yaml",
            DEPLOYMENT.replace("nginx:1.27", "nginx:1.28"),
        )
        .commit("new image");
    expect_exit(&app.driftless(&["sync"]), 0, "sync of the new image");
    let d = deployments.get("web").await?;
    let spec = d.spec.expect("spec");
    assert_eq!(
        spec.replicas,
        Some(4),
        "the ignored replicas kept their live value"
    );
    let image = spec
        .template
        .spec
        .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
    assert_eq!(
        image.as_deref(),
        Some("nginx:1.28"),
        "the rest of the object came from git"
    );
    Ok(())
}

#[tokio::test]
async fn an_object_tracked_by_another_app_fails_the_sync_with_fail_on_shared_resource()
-> anyhow::Result<()> {
    let cm = config_map("shared", "");
    let app = AppFixture::new(
        "shared",
        &[("cm.yaml", &cm)],
        "  syncPolicy:\n    syncOptions: [FailOnSharedResource=true]\n",
    )
    .await?;
    // Another app already owns the ConfigMap.
    let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared",
        "annotations": {"argocd.argoproj.io/tracking-id": format!("other-app:/ConfigMap:{}/shared", app.ns.name)}},
        "data": {"mode": "slow"}});
    app.ns
        .api::<ConfigMap>()
        .patch("shared", &PatchParams::apply("other"), &Patch::Apply(other))
        .await?;
    let out = app.driftless(&["sync"]);
    expect_exit(&out, 1, "sync of a shared resource");
    assert!(
        stderr(&out).contains("other-app"),
        "names the other app: {}",
        stderr(&out)
    );
    let cm: ConfigMap = app.ns.api().get("shared").await?;
    assert_eq!(
        cm.data.unwrap_or_default().get("mode").map(String::as_str),
        Some("slow"),
        "nothing was applied"
    );
    Ok(())
}

#[tokio::test]
async fn server_side_diff_sees_what_the_api_server_would_change() -> anyhow::Result<()> {
    let app = AppFixture::new(
        "ssd",
        &[("deploy.yaml", DEPLOYMENT), ("svc.yaml", SERVICE)],
        "",
    )
    .await?;
    expect_exit(&app.driftless(&["sync"]), 0, "sync");
    expect_exit(
        &app.driftless(&["diff", "--server-side-diff"]),
        0,
        "server-side diff right after sync",
    );
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    app.ns
        .api::<Deployment>()
        .patch(
            "web",
            &edit,
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await?;
    let out = app.driftless(&["diff", "--server-side-diff"]);
    expect_exit(&out, 1, "server-side diff after an edit");
    assert!(stdout(&out).contains("replicas: 3"), "{}", stdout(&out));
    Ok(())
}

#[tokio::test]
async fn repository_credentials_come_from_labelled_secrets_and_never_print() -> anyhow::Result<()> {
    use driftless_source::testing::GitHttpServer;
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::PostParams;
    let cm = config_map("from-http", "");
    let app = AppFixture::new("creds", &[("cm.yaml", &cm)], "").await?;
    let server = GitHttpServer::builder(app.repo.root())
        .basic_auth("robot", "hunter2-pw")
        .start()?;
    let url = server.url(&app.repo.name());
    let text = std::fs::read_to_string(&app.app_file)?.replace(&app.repo.file_url(), &url);
    std::fs::write(&app.app_file, text)?;

    let out = app.driftless(&["sync"]);
    expect_exit(&out, 1, "sync without credentials");
    assert!(stderr(&out).contains("failed to fetch"), "{}", stderr(&out));

    // A repo-creds Secret whose URL is a prefix of the repo's, as Argo CD stores them.
    let prefix = url
        .rsplit_once('/')
        .map(|(p, _)| p.to_string())
        .unwrap_or_default();
    let secret: Secret = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "repo-creds", "labels": {"argocd.argoproj.io/secret-type": "repo-creds"}},
        "stringData": {"url": prefix, "username": "robot", "password": "hunter2-pw"}}))?;
    app.ns
        .api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await?;
    let out = app.driftless(&["sync"]);
    expect_exit(&out, 0, "sync with credentials from the Secret");
    assert!(
        app.ns
            .api::<ConfigMap>()
            .get_opt("from-http")
            .await?
            .is_some()
    );
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains("hunter2-pw"), "the password never prints");
    Ok(())
}

#[tokio::test]
async fn an_object_the_api_server_rejects_fails_the_sync_before_anything_changes()
-> anyhow::Result<()> {
    let good = config_map("good", "");
    let bad = "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec:\n  type: NoSuchType\n  ports: [{port: 80}]\n";
    let worse = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: worse}\ndata: {n: 1}\n";
    let app = AppFixture::new(
        "reject",
        &[
            ("good.yaml", &good),
            ("bad.yaml", bad),
            ("worse.yaml", worse),
        ],
        "",
    )
    .await?;
    let out = app.driftless(&["sync"]);
    expect_exit(&out, 1, "sync with objects the server rejects");
    let text = stdout(&out);
    assert!(
        text.contains("/Service/") && text.contains("NoSuchType"),
        "the server's message on the Service:\n{text}"
    );
    assert!(
        text.contains("/ConfigMap/") && text.contains("worse"),
        "the second bad object is reported too:\n{text}"
    );
    assert!(
        app.ns.api::<ConfigMap>().get_opt("good").await?.is_none(),
        "nothing was applied"
    );
    Ok(())
}
