//! `driftless serve` end to end on the real cluster: a controller runs in-process for the test's
//! namespace, and the test drives it only through git commits and API calls a user would make
//! with kubectl, then checks what a user would check: the Applications' status and the objects.

use crate::gitops::*;
use driftless_controller::LeaderElection;
use driftless_testkit::wait_until;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_of_apps_follows_git_commits_adding_changing_and_deleting_children()
-> anyhow::Result<()> {
    let mut env = Gitops::new("tree").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    for child in ["a", "b", "c"] {
        let app = application(
            &env.name(child),
            &ns,
            &url,
            &format!("children/{child}"),
            AUTOMATED,
            CASCADE,
        );
        env.repo.write(&format!("apps/{child}.yaml"), app);
        env.repo.write(
            &format!("children/{child}/web.yaml"),
            deployment(&format!("web-{child}"), "nginx:1.27", None),
        );
    }
    env.repo.commit("three child apps");
    let handle = env.start().await?;
    let root = env.name("root");
    env.apply_app(&application(
        &root,
        &ns,
        &url,
        "apps",
        "  syncPolicy:\n    automated: {prune: true}\n",
        "",
    ))
    .await?;

    // The whole tree comes up: the root, its three children, and their Deployments.
    let root_app = env.wait_synced_healthy(&root).await?;
    for child in ["a", "b", "c"] {
        env.wait_synced_healthy(&env.name(child)).await?;
        assert!(
            env.deployments()
                .get_opt(&format!("web-{child}"))
                .await?
                .is_some(),
            "web-{child} exists"
        );
    }
    let kinds: Vec<&str> = root_app["status"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert_eq!(
        kinds, ["Application"; 3],
        "the root manages the three child Applications"
    );
    assert_eq!(root_app["status"]["sync"]["revision"], env.repo.head());

    // A commit adding a child app creates it and syncs it.
    env.repo.write(
        "apps/d.yaml",
        application(&env.name("d"), &ns, &url, "children/d", AUTOMATED, CASCADE),
    );
    env.repo.write(
        "children/d/web.yaml",
        deployment("web-d", "nginx:1.27", None),
    );
    env.repo.commit("add child d");
    env.wait_synced_healthy(&env.name("d")).await?;
    assert!(
        env.deployments().get_opt("web-d").await?.is_some(),
        "web-d was created"
    );

    // A commit changing an image tag rolls it out.
    env.repo.write(
        "children/a/web.yaml",
        deployment("web-a", "nginx:1.28", None),
    );
    let bumped = env.repo.commit("bump web-a to 1.28");
    let a = env
        .wait_app(&env.name("a"), "synced to the bump", |a| {
            a["status"]["sync"]["revision"] == bumped.as_str()
                && sync_of(a) == "Synced"
                && health_of(a) == "Healthy"
        })
        .await?;
    assert_eq!(
        image_of(&env.deployments(), "web-a").await?.as_deref(),
        Some("nginx:1.28")
    );
    assert_eq!(a["status"]["summary"]["images"], json!(["nginx:1.28"]));
    let history = a["status"]["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        history.last().map(|h| h["revision"].clone()),
        Some(json!(bumped)),
        "history records the rollout"
    );
    assert_eq!(a["status"]["operationState"]["phase"], "Succeeded");

    // A commit deleting a child app prunes it, and its finalizer takes its objects with it.
    env.repo.remove("apps/b.yaml").commit("drop child b");
    wait_until(TIMEOUT, "child b and web-b to be gone", || async {
        let gone = env.app(&env.name("b")).await?.is_none()
            && env.deployments().get_opt("web-b").await?.is_none();
        Ok(gone.then_some(()))
    })
    .await?;
    assert!(
        env.deployments().get_opt("web-c").await?.is_some(),
        "siblings are untouched"
    );
    env.wait_synced_healthy(&root).await?;

    // A settled tree is quiet: no status is rewritten while nothing changes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let writes = handle.status_writes();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        handle.status_writes(),
        writes,
        "no status writes in a settled tree"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_reverted_with_self_heal_and_only_shown_without_it() -> anyhow::Result<()> {
    let mut env = Gitops::new("heal").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    env.repo
        .write("healed/web.yaml", deployment("healed", "nginx:1.27", None));
    env.repo
        .write("shown/web.yaml", deployment("shown", "nginx:1.27", None));
    env.repo.commit("two apps");
    let handle = env.start().await?;
    let (healing, showing) = (env.name("healing"), env.name("showing"));
    env.apply_app(&application(&healing, &ns, &url, "healed", AUTOMATED, ""))
        .await?;
    let no_heal = "  syncPolicy:\n    automated: {prune: true}\n";
    env.apply_app(&application(&showing, &ns, &url, "shown", no_heal, ""))
        .await?;
    env.wait_synced_healthy(&healing).await?;
    env.wait_synced_healthy(&showing).await?;

    // `kubectl scale` on both Deployments.
    let deployments = env.deployments();
    let scale = PatchParams {
        field_manager: Some("kubectl".into()),
        ..Default::default()
    };
    for name in ["healed", "shown"] {
        deployments
            .patch_scale(
                name,
                &scale,
                &Patch::Merge(json!({"spec": {"replicas": 3}})),
            )
            .await?;
    }
    wait_until(TIMEOUT, "self-heal to scale `healed` back to 1", || async {
        let replicas = deployments
            .get("healed")
            .await?
            .spec
            .and_then(|s| s.replicas);
        Ok((replicas == Some(1)).then_some(()))
    })
    .await?;
    let shown = env
        .wait_app(&showing, "OutOfSync", |a| sync_of(a) == "OutOfSync")
        .await?;
    let resource = shown["status"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["name"] == "shown")
        .cloned();
    assert_eq!(
        resource.map(|r| r["status"].clone()),
        Some(json!("OutOfSync")),
        "the drifted object is named"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        deployments
            .get("shown")
            .await?
            .spec
            .and_then(|s| s.replicas),
        Some(3),
        "without selfHeal the drift stays"
    );
    env.wait_synced_healthy(&healing).await?;

    // `kubectl edit` of the image on the healing app is reverted too.
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:9.9"}]}}}});
    deployments
        .patch("healed", &edit, &Patch::Strategic(patch))
        .await?;
    wait_until(TIMEOUT, "self-heal to restore the image", || async {
        Ok(
            (image_of(&deployments, "healed").await?.as_deref() == Some("nginx:1.27"))
                .then_some(()),
        )
    })
    .await?;

    // One ref check per repository per poll, not one per app: two apps, one repository.
    let (listings_before, fetches_before) = handle.git_network_counts();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (listings_after, _) = handle.git_network_counts();
    let listings = listings_after - listings_before;
    assert!(
        (3..=9).contains(&listings),
        "{listings} ref listings in 6 s at a 1 s poll for one repository"
    );
    // One fetch per new commit, however many apps use the repository.
    env.repo
        .write("unrelated.txt", "x")
        .commit("touch the repo");
    env.wait_app(&healing, "compared with the new commit", |a| {
        a["status"]["sync"]["revision"] == env.repo.head().as_str()
    })
    .await?;
    env.wait_app(&showing, "compared with the new commit", |a| {
        a["status"]["sync"]["revision"] == env.repo.head().as_str()
    })
    .await?;
    let (_, fetches_after) = handle.git_network_counts();
    assert_eq!(
        fetches_after - fetches_before,
        1,
        "one fetch for one commit used by two apps"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_render_is_reported_and_keeps_the_last_state_pruning_nothing() -> anyhow::Result<()>
{
    let mut env = Gitops::new("badrender").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let cm = |name: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{a: \"1\"}}\n")
    };
    env.repo
        .write("app/one.yaml", cm("one"))
        .write("app/two.yaml", cm("two"));
    let good = env.repo.commit("two config maps");
    let handle = env.start().await?;
    let name = env.name("app");
    env.apply_app(&application(&name, &ns, &url, "app", AUTOMATED, ""))
        .await?;
    env.wait_synced_healthy(&name).await?;

    // Break the YAML and drop `two` in the same commit: the render fails, so nothing is pruned.
    env.repo.remove("app/two.yaml");
    env.repo.write(
        "app/one.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one\ndata: [\n",
    );
    env.repo.commit("broken");
    let broken = env
        .wait_app(&name, "a ComparisonError", |a| {
            a["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "ComparisonError")
        })
        .await?;
    let message = broken["status"]["conditions"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("one.yaml"),
        "the condition names the broken file: {message}"
    );
    assert_eq!(
        broken["status"]["sync"]["revision"],
        good.as_str(),
        "the last good comparison is kept"
    );
    assert_eq!(sync_of(&broken), "Synced");
    let cms: Api<ConfigMap> = env.ns.api();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        cms.get_opt("two").await?.is_some(),
        "nothing was pruned after the failed render"
    );

    // No status write loop: an idle app with a standing error is not rewritten.
    let writes = handle.status_writes();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        handle.status_writes(),
        writes,
        "status is written only when it changes"
    );

    // Fixing git clears the condition and the prune happens.
    env.repo.write("app/one.yaml", cm("one")).commit("fixed");
    env.wait_app(&name, "the condition cleared and synced", |a| {
        a["status"]["conditions"].is_null()
            && sync_of(a) == "Synced"
            && a["status"]["sync"]["revision"] == env.repo.head().as_str()
    })
    .await?;
    wait_until(TIMEOUT, "`two` to be pruned", || async {
        Ok(cms.get_opt("two").await?.is_none().then_some(()))
    })
    .await?;
    Ok(())
}

fn time_of(app: &Value, pointer: &str) -> String {
    app.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depends_on_holds_an_app_until_its_dependency_is_synced_and_healthy() -> anyhow::Result<()>
{
    let mut env = Gitops::new("depends").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    env.repo
        .write("db/web.yaml", deployment("db", "postgres:16", None));
    env.repo.write(
        "api/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api}\ndata: {db: db}\n",
    );
    env.repo.commit("db and api");
    env.start().await?;
    let (db, api) = (env.name("db"), env.name("api"));
    let waits = format!("  annotations: {{driftless.dev/depends-on: \"{db}\"}}\n");
    env.apply_app(&application(&api, &ns, &url, "api", AUTOMATED, &waits))
        .await?;

    // api waits (and says so) while db does not exist.
    env.wait_app(&api, "a DependencyWarning", |a| {
        a["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "DependencyWarning")
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cms: Api<ConfigMap> = env.ns.api();
    assert!(
        cms.get_opt("api").await?.is_none(),
        "api did not sync before its dependency exists"
    );

    env.apply_app(&application(&db, &ns, &url, "db", AUTOMATED, ""))
        .await?;
    let db_app = env.wait_synced_healthy(&db).await?;
    let api_app = env.wait_synced_healthy(&api).await?;
    let db_healthy = time_of(&db_app, "/status/health/lastTransitionTime");
    let api_started = time_of(&api_app, "/status/operationState/startedAt");
    assert!(
        !db_healthy.is_empty() && api_started >= db_healthy,
        "api synced at {api_started}, db healthy at {db_healthy}"
    );
    assert!(
        api_app["status"]["conditions"].is_null(),
        "the warning is gone: {}",
        api_app["status"]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_controller_resumes_a_multi_wave_sync_from_the_saved_state() -> anyhow::Result<()>
{
    let mut env = Gitops::new("resume").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    // Wave 0 is a LoadBalancer Service: Progressing until someone gives it an address, so the
    // sync waits there for as long as the test wants.
    let after = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\ndata: {a: \"1\"}\n";
    env.repo
        .write("app/gate.yaml", GATE)
        .write("app/after.yaml", after);
    env.repo.commit("two waves");
    env.start().await?;
    let name = env.name("app");
    env.apply_app(&application(&name, &ns, &url, "app", AUTOMATED, ""))
        .await?;
    let waiting = env.wait_sync_waiting(&name).await?;
    let started = time_of(&waiting, "/status/operationState/startedAt");
    env.stop();

    // While no controller runs, the load balancer gets its address.
    open_gate(&env.ns.api()).await?;
    let cms: Api<ConfigMap> = env.ns.api();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        cms.get_opt("after").await?.is_none(),
        "wave 1 waits for a controller"
    );

    env.start().await?;
    let done = env
        .wait_app(&name, "the sync to succeed", |a| {
            a["status"]["operationState"]["phase"] == "Succeeded"
        })
        .await?;
    assert_eq!(
        time_of(&done, "/status/operationState/startedAt"),
        started,
        "the same operation went on"
    );
    assert!(
        cms.get_opt("after").await?.is_some(),
        "wave 1 ran after the restart"
    );
    let results: Vec<String> = done["status"]["operationState"]["syncResult"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        results,
        ["gate", "after"],
        "both waves are in the sync result"
    );
    assert!(
        done["status"]["operationState"]
            .get("driftlessSyncState")
            .is_none(),
        "a finished sync keeps no state"
    );
    env.wait_synced_healthy(&name).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_sync_rollback_and_refresh_go_through_the_application_object() -> anyhow::Result<()>
{
    let mut env = Gitops::new("manual").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    env.repo
        .write("app/web.yaml", deployment("web", "nginx:1.27", None));
    let first = env.repo.commit("v1");
    // Polling is slow here: only the refresh annotation makes the controller look at git.
    env.start_with(|c| c.poll_interval = Duration::from_secs(3600))
        .await?;
    let name = env.name("app");
    env.apply_app(&application(&name, &ns, &url, "app", "", ""))
        .await?;
    env.wait_app(&name, "OutOfSync and not synced (no automation)", |a| {
        sync_of(a) == "OutOfSync"
    })
    .await?;
    assert!(env.deployments().get_opt("web").await?.is_none());

    // `argocd app sync`: an operation on the Application.
    let sync =
        json!({"operation": {"sync": {"prune": true}, "initiatedBy": {"username": "alice"}}});
    env.apps()
        .patch(&name, &PatchParams::default(), &Patch::Merge(sync))
        .await?;
    let synced = env
        .wait_app(&name, "the requested sync done and removed", |a| {
            a["operation"].is_null()
                && a["status"]["operationState"]["phase"] == "Succeeded"
                && sync_of(a) == "Synced"
        })
        .await?;
    assert_eq!(
        synced["status"]["operationState"]["operation"]["initiatedBy"]["username"],
        "alice"
    );
    assert_eq!(
        image_of(&env.deployments(), "web").await?.as_deref(),
        Some("nginx:1.27")
    );

    // A new commit is not seen until a refresh is asked for.
    env.repo
        .write("app/web.yaml", deployment("web", "nginx:1.28", None));
    let second = env.repo.commit("v2");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        env.app(&name).await?.unwrap_or_default()["status"]["sync"]["revision"],
        first.as_str()
    );
    let refresh = json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}});
    env.apps()
        .patch(&name, &PatchParams::default(), &Patch::Merge(refresh))
        .await?;
    let refreshed = env
        .wait_app(&name, "refreshed to v2", |a| {
            a["status"]["sync"]["revision"] == second.as_str() && sync_of(a) == "OutOfSync"
        })
        .await?;
    assert!(
        refreshed["metadata"]["annotations"]
            .get("argocd.argoproj.io/refresh")
            .is_none(),
        "the annotation was served"
    );

    // Sync v2, then roll back to the first history entry's revision.
    let sync = json!({"operation": {"sync": {}, "initiatedBy": {"username": "alice"}}});
    env.apps()
        .patch(&name, &PatchParams::default(), &Patch::Merge(sync))
        .await?;
    env.wait_app(&name, "synced to v2", |a| {
        a["operation"].is_null() && sync_of(a) == "Synced"
    })
    .await?;
    assert_eq!(
        image_of(&env.deployments(), "web").await?.as_deref(),
        Some("nginx:1.28")
    );
    let app = env.app(&name).await?.unwrap_or_default();
    let history = app["status"]["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(history.len(), 2, "two deploys: {history:?}");
    let rollback = json!({"operation": {"sync": {"revision": history[0]["revision"]}, "initiatedBy": {"username": "alice"}}});
    env.apps()
        .patch(&name, &PatchParams::default(), &Patch::Merge(rollback))
        .await?;
    let rolled = env
        .wait_app(&name, "rolled back", |a| {
            a["operation"].is_null()
                && a["status"]["history"]
                    .as_array()
                    .is_some_and(|h| h.len() == 3)
        })
        .await?;
    assert_eq!(
        image_of(&env.deployments(), "web").await?.as_deref(),
        Some("nginx:1.27")
    );
    assert_eq!(rolled["status"]["history"][2]["revision"], first.as_str());
    env.wait_app(&name, "OutOfSync against HEAD after the rollback", |a| {
        sync_of(a) == "OutOfSync"
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_parent_cascades_with_the_finalizer_and_orphans_without_it() -> anyhow::Result<()>
{
    let mut env = Gitops::new("cascade").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    for (child, meta) in [("kept", ""), ("gone", CASCADE)] {
        env.repo.write(
            &format!("{child}/apps/app.yaml"),
            application(
                &env.name(child),
                &ns,
                &url,
                &format!("{child}/objects"),
                AUTOMATED,
                meta,
            ),
        );
        env.repo.write(
            &format!("{child}/objects/web.yaml"),
            deployment(&format!("web-{child}"), "nginx:1.27", None),
        );
    }
    env.repo.commit("two trees");
    env.start().await?;
    // Two parents: one without the finalizer (and a child without it), one with it all the way down.
    let (orphaning, cascading) = (env.name("orphaning"), env.name("cascading"));
    env.apply_app(&application(
        &orphaning,
        &ns,
        &url,
        "kept/apps",
        AUTOMATED,
        "",
    ))
    .await?;
    env.apply_app(&application(
        &cascading,
        &ns,
        &url,
        "gone/apps",
        AUTOMATED,
        CASCADE,
    ))
    .await?;
    for app in [&orphaning, &cascading, &env.name("kept"), &env.name("gone")] {
        env.wait_synced_healthy(app).await?;
    }
    let delete = kube::api::DeleteParams::default();
    env.apps().delete(&cascading, &delete).await?;
    env.apps().delete(&orphaning, &delete).await?;
    wait_until(TIMEOUT, "the cascading tree to be gone", || async {
        let gone = env.app(&cascading).await?.is_none()
            && env.app(&env.name("gone")).await?.is_none()
            && env.deployments().get_opt("web-gone").await?.is_none();
        Ok(gone.then_some(()))
    })
    .await?;
    wait_until(TIMEOUT, "the orphaning parent to be gone", || async {
        Ok(env.app(&orphaning).await?.is_none().then_some(()))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        env.app(&env.name("kept")).await?.is_some(),
        "without the finalizer the child app stays"
    );
    assert!(
        env.deployments().get_opt("web-kept").await?.is_some(),
        "and so do its objects"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_specs_unreachable_repos_and_rejected_objects_are_conditions_not_crashes()
-> anyhow::Result<()> {
    let mut env = Gitops::new("faults").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndata: {count: 3}\n";
    env.repo.write(
        "ok/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\ndata: {a: \"1\"}\n",
    );
    env.repo.write("bad/cm.yaml", bad);
    env.repo.commit("apps");
    env.start().await?;
    let condition = |app: &Value, kind: &str| {
        app["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == kind)
            .map(|c| c["message"].to_string())
    };
    let (no_project, far_cluster, no_repo, rejected, fine) = (
        env.name("noproject"),
        env.name("far"),
        env.name("norepo"),
        env.name("rejected"),
        env.name("fine"),
    );
    env.apply_app(
        &application(&no_project, &ns, &url, "ok", AUTOMATED, "")
            .replace("project: default", "project: nope"),
    )
    .await?;
    env.apply_app(
        &application(&far_cluster, &ns, &url, "ok", AUTOMATED, "")
            .replace("https://kubernetes.default.svc", "https://10.9.9.9:6443"),
    )
    .await?;
    env.apply_app(&application(
        &no_repo,
        &ns,
        "file:///nonexistent/repo",
        "ok",
        AUTOMATED,
        "",
    ))
    .await?;
    let retry = "  syncPolicy:\n    automated: {prune: true}\n    retry: {limit: 2, backoff: {duration: 1s, factor: 1}}\n";
    env.apply_app(&application(&rejected, &ns, &url, "bad", retry, ""))
        .await?;
    env.apply_app(&application(&fine, &ns, &url, "ok", AUTOMATED, ""))
        .await?;

    let a = env
        .wait_app(&no_project, "InvalidSpecError", |a| {
            condition(a, "InvalidSpecError").is_some()
        })
        .await?;
    assert!(
        condition(&a, "InvalidSpecError")
            .unwrap_or_default()
            .contains("project nope which does not exist")
    );
    let a = env
        .wait_app(&far_cluster, "InvalidSpecError", |a| {
            condition(a, "InvalidSpecError").is_some()
        })
        .await?;
    assert!(
        condition(&a, "InvalidSpecError")
            .unwrap_or_default()
            .contains("10.9.9.9")
    );
    env.wait_app(&no_repo, "ComparisonError", |a| {
        condition(a, "ComparisonError").is_some()
    })
    .await?;
    // The server refuses a ConfigMap with a number in `data`: the sync fails, is retried twice, then stops.
    // The SyncError condition comes from the reconcile after the failed operation is saved.
    let a = env
        .wait_app(
            &rejected,
            "failed after two retries, with a SyncError",
            |a| {
                a["status"]["operationState"]["phase"] == "Failed"
                    && a["status"]["operationState"]["retryCount"] == 2
                    && condition(a, "SyncError").is_some()
            },
        )
        .await?;
    assert!(
        condition(&a, "SyncError")
            .unwrap_or_default()
            .contains("bad"),
        "SyncError names the object: {}",
        a["status"]
    );
    let started = time_of(&a, "/status/operationState/startedAt");
    // The others did not hold up the good app.
    env.wait_synced_healthy(&fine).await?;
    // A second app wanting the ConfigMap `fine` owns is warned about sharing it.
    let sharing = env.name("sharing");
    env.apply_app(&application(&sharing, &ns, &url, "ok", "", ""))
        .await?;
    let a = env
        .wait_app(&sharing, "SharedResourceWarning", |a| {
            condition(a, "SharedResourceWarning").is_some()
        })
        .await?;
    let warning = condition(&a, "SharedResourceWarning").unwrap_or_default();
    assert!(
        warning.contains("ConfigMap/fine") && warning.contains(&fine),
        "{warning}"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let again = env.app(&rejected).await?.unwrap_or_default();
    assert_eq!(
        time_of(&again, "/status/operationState/startedAt"),
        started,
        "a failed revision is not synced again"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_lease_holder_reconciles_and_a_standby_takes_over() -> anyhow::Result<()> {
    let mut env = Gitops::new("leader").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    env.repo
        .write("app/web.yaml", deployment("web", "nginx:1.27", None));
    env.repo.commit("v1");
    let elect = |identity: &str| LeaderElection {
        lease_name: "driftless-controller".into(),
        identity: identity.into(),
        lease_duration: Duration::from_secs(3),
    };
    let (first, first_handle) = env
        .spawn(|c| c.leader_election = Some(elect("first")))
        .await?;
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> = env.ns.api();
    let holder = |lease: Option<k8s_openapi::api::coordination::v1::Lease>| {
        lease
            .and_then(|l| l.spec)
            .and_then(|s| s.holder_identity)
            .unwrap_or_default()
    };
    wait_until(TIMEOUT, "the first replica to hold the lease", || async {
        Ok((holder(leases.get_opt("driftless-controller").await?) == "first").then_some(()))
    })
    .await?;
    let (_, second_handle) = env
        .spawn(|c| c.leader_election = Some(elect("second")))
        .await?;
    let name = env.name("app");
    env.apply_app(&application(&name, &ns, &url, "app", AUTOMATED, ""))
        .await?;
    env.wait_synced_healthy(&name).await?;
    assert!(
        first_handle.status_writes() > 0,
        "the leader wrote the status"
    );
    assert_eq!(second_handle.status_writes(), 0, "the standby did nothing");

    first.abort();
    env.repo
        .write("app/web.yaml", deployment("web", "nginx:1.28", None));
    let v2 = env.repo.commit("v2");
    env.wait_app(&name, "synced to v2 by the standby", |a| {
        a["status"]["sync"]["revision"] == v2.as_str() && sync_of(a) == "Synced"
    })
    .await?;
    assert_eq!(
        holder(leases.get_opt("driftless-controller").await?),
        "second"
    );
    assert!(
        second_handle.status_writes() > 0,
        "the new leader wrote the status"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_split_the_apps_between_them() -> anyhow::Result<()> {
    use driftless_controller::Shard;
    use driftless_decisions::shard::shard_of;
    let mut env = Gitops::new("shards").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    // Names chosen so that each of the two shards owns three apps.
    let mut names: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for n in 0..1000 {
        let name = env.name(&format!("s{n}"));
        let shard = shard_of(&ns, &name, 2) as usize;
        if names[shard].len() < 3 {
            names[shard].push(name);
        }
    }
    for name in names.iter().flatten() {
        env.repo.write(
            &format!("apps/{name}/cm.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{a: \"1\"}}\n"
            ),
        );
    }
    env.repo.commit("one config map per app");
    let (_, zero) = env
        .spawn(|c| c.shard = Shard::new(0, 2).expect("shard"))
        .await?;
    let (stop_one, one) = env
        .spawn(|c| c.shard = Shard::new(1, 2).expect("shard"))
        .await?;
    let app = |name: &str| application(name, &ns, &url, &format!("apps/{name}"), AUTOMATED, "");
    for name in names.iter().flat_map(|n| &n[..2]) {
        env.apply_app(&app(name)).await?;
    }
    for name in names.iter().flat_map(|n| &n[..2]) {
        env.wait_synced_healthy(name).await?;
    }
    // With shard 1 stopped, its new app is left alone while shard 0 serves its own.
    stop_one.abort();
    let (late_zero, late_one) = (names[0][2].clone(), names[1][2].clone());
    env.apply_app(&app(&late_one)).await?;
    env.apply_app(&app(&late_zero)).await?;
    env.wait_synced_healthy(&late_zero).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let untouched = env.app(&late_one).await?.unwrap_or_default();
    assert!(
        untouched["status"].is_null(),
        "shard 0 left shard 1's app alone: {}",
        untouched["status"]
    );
    assert!(
        zero.status_writes() > 0 && one.status_writes() > 0,
        "both shards worked"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controllers_with_their_own_installation_id_share_a_cluster_and_an_app_name()
-> anyhow::Result<()> {
    // Two installations, each with an app called `twin`: the tracking ids name the same app,
    // and only the installation id tells whose objects are whose.
    let mut first = Gitops::new("twin-one").await?;
    let mut second = Gitops::new("twin-two").await?;
    for env in [&mut first, &mut second] {
        let cm = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {}}}\ndata: {{a: \"1\"}}\n",
            env.ns.name
        );
        env.repo.write("app/cm.yaml", cm).commit("config map");
        env.start().await?;
        let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
        env.apply_app(&application("twin", &ns, &url, "app", AUTOMATED, ""))
            .await?;
    }
    for env in [&first, &second] {
        env.wait_synced_healthy("twin").await?;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    for env in [&first, &second] {
        let cms: Api<ConfigMap> = env.ns.api();
        assert!(
            cms.get_opt(&env.ns.name).await?.is_some(),
            "the other installation pruned nothing in {}",
            env.ns.name
        );
        let app = env.app("twin").await?.unwrap_or_default();
        assert_eq!(sync_of(&app), "Synced", "{}", app["status"]);
        let kept = app["status"]["resources"].as_array().map(Vec::len);
        assert_eq!(
            kept,
            Some(1),
            "each twin sees only its own object: {}",
            app["status"]["resources"]
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_namespace_makes_a_missing_namespace_and_labels_an_existing_one_given_metadata()
-> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Namespace;
    let mut env = Gitops::new("mkns").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    for path in ["kept", "labelled", "made"] {
        env.repo.write(
            &format!("{path}/cm.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {path}}}\ndata: {{k: v}}\n"
            ),
        );
    }
    env.repo.commit("three apps");
    let namespaces: Api<Namespace> = Api::all(env.ns.client.clone());
    let (kept, made) = (format!("{ns}-kept"), format!("{ns}-made"));
    // The namespace someone else made, with their label on it.
    namespaces
        .create(
            &Default::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": kept, "labels": {"owner": "platform"}}}),
            )?,
        )
        .await?;
    env.start().await?;
    let app = |path: &str, destination: &str, extra: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {ns}-{path}\n  namespace: {ns}\n\
             spec:\n  project: default\n  source: {{repoURL: {url}, targetRevision: HEAD, path: {path}}}\n\
             \x20 destination: {{server: https://kubernetes.default.svc, namespace: {destination}}}\n\
             \x20 syncPolicy:\n    automated: {{prune: true}}\n    syncOptions: [CreateNamespace=true]\n{extra}"
        )
    };
    let outcome = async {
        // An existing namespace and no metadata to give it: the app syncs into it as it is.
        env.apply_app(&app("kept", &kept, "")).await?;
        env.wait_synced_healthy(&env.name("kept")).await?;
        let live = namespaces.get(&kept).await?;
        assert_eq!(
            live.metadata
                .labels
                .unwrap_or_default()
                .get("owner")
                .map(String::as_str),
            Some("platform")
        );
        let cms: Api<ConfigMap> = Api::namespaced(env.ns.client.clone(), &kept);
        assert!(
            cms.get_opt("kept").await?.is_some(),
            "the app's ConfigMap is in {kept}"
        );

        // managedNamespaceMetadata: the existing namespace gets the labels.
        let metadata = "    managedNamespaceMetadata:\n      labels: {team: shop}\n";
        env.apply_app(&app("labelled", &kept, metadata)).await?;
        env.wait_synced_healthy(&env.name("labelled")).await?;
        wait_until(TIMEOUT, "the team label on the namespace", || async {
            let labels = namespaces
                .get(&kept)
                .await?
                .metadata
                .labels
                .unwrap_or_default();
            Ok((labels.get("team").map(String::as_str) == Some("shop")
                && labels.get("owner").map(String::as_str) == Some("platform"))
            .then_some(()))
        })
        .await?;

        // A missing namespace is made.
        env.apply_app(&app("made", &made, "")).await?;
        env.wait_synced_healthy(&env.name("made")).await?;
        assert!(
            namespaces.get_opt(&made).await?.is_some(),
            "{made} was made"
        );
        let cms: Api<ConfigMap> = Api::namespaced(env.ns.client.clone(), &made);
        assert!(
            cms.get_opt("made").await?.is_some(),
            "the app's ConfigMap is in {made}"
        );
        anyhow::Ok(())
    }
    .await;
    env.stop();
    for name in [&kept, &made] {
        let _ = namespaces.delete(name, &Default::default()).await;
    }
    outcome
}
