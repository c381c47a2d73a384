//! PreDelete and PostDelete hooks: they do not run on a sync; when an Application with the
//! resources finalizer is deleted, the PreDelete Job runs to completion before the app's objects
//! go, the PostDelete Job after, and only then does the Application go.

use crate::gitops::*;
use driftless_testkit::wait_until;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::DeleteParams;
use serde_json::{Value, json};

fn hook_job(name: &str, hook: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/hook: {hook}\n\
         spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: run, image: \"busybox:1.36\", command: [\"true\"]}}]\n"
    )
}

fn succeeded(job: &Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.succeeded)
        .is_some_and(|n| n > 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_hooks_run_around_the_deletion_of_an_apps_objects() -> anyhow::Result<()> {
    let mut env = Gitops::new("delhooks").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    env.repo.write(
        "site/data.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: data}\ndata: {rows: \"42\"}\n",
    );
    env.repo
        .write("site/backup.yaml", hook_job("backup", "PreDelete"));
    env.repo
        .write("site/farewell.yaml", hook_job("farewell", "PostDelete"));
    env.repo.commit("an app with deletion hooks");
    env.start().await?;
    let name = env.name("site");
    env.apply_app(&application(&name, &ns, &url, "site", AUTOMATED, CASCADE))
        .await?;
    env.wait_synced_healthy(&name).await?;
    let jobs: Api<Job> = env.ns.api();
    let cms: Api<ConfigMap> = env.ns.api();
    assert!(cms.get_opt("data").await?.is_some());
    for job in ["backup", "farewell"] {
        assert!(
            jobs.get_opt(job).await?.is_none(),
            "deletion hook {job} did not run on a sync"
        );
    }

    // `kubectl delete application`.
    env.apps().delete(&name, &DeleteParams::default()).await?;
    wait_until(TIMEOUT, "the application gone", || async {
        Ok(env.app(&name).await?.is_none().then_some(()))
    })
    .await?;
    // Deleted with foreground propagation: the garbage collector finishes moments later.
    wait_until(TIMEOUT, "the app's objects deleted", || async {
        Ok(cms.get_opt("data").await?.is_none().then_some(()))
    })
    .await?;
    let backup = jobs
        .get_opt("backup")
        .await?
        .expect("the PreDelete hook ran");
    let farewell = jobs
        .get_opt("farewell")
        .await?
        .expect("the PostDelete hook ran");
    assert!(succeeded(&backup), "PreDelete ran to completion");
    assert!(
        succeeded(&farewell),
        "the app went only after its PostDelete hook completed"
    );
    let created = |job: &Job| job.metadata.creation_timestamp.clone();
    assert!(
        created(&backup) <= created(&farewell),
        "PreDelete before PostDelete"
    );
    Ok(())
}

/// The repository is gone and a new controller starts with an empty cache: an app whose last
/// sync recorded no deletion hooks is still deleted, with its objects; one with deletion
/// hooks that cannot be rendered stays, with a `DeletionError` saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_whose_repository_is_gone_is_deleted_unless_it_has_deletion_hooks()
-> anyhow::Result<()> {
    let mut env = Gitops::new("delgone").await?;
    let ns = env.ns.name.clone();
    let plain_repo = driftless_source::testing::ScratchRepo::new();
    plain_repo.write(
        "site/data.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: data}\ndata: {rows: \"42\"}\n",
    );
    plain_repo.commit("an app without deletion hooks");
    let hooked_repo = driftless_source::testing::ScratchRepo::new();
    hooked_repo.write(
        "site/kept.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept}\ndata: {rows: \"7\"}\n",
    );
    hooked_repo.write("site/backup.yaml", hook_job("backup", "PreDelete"));
    hooked_repo.commit("an app with a deletion hook");
    let first = env.spawn(|_| {}).await?.0;
    let (plain, hooked) = (env.name("plain"), env.name("hooked"));
    for (name, repo) in [(&plain, &plain_repo), (&hooked, &hooked_repo)] {
        env.apply_app(&application(
            name,
            &ns,
            &repo.file_url(),
            "site",
            AUTOMATED,
            CASCADE,
        ))
        .await?;
    }
    let last_deploy_hooks = |a: &Value| {
        a["status"]["history"]
            .as_array()
            .and_then(|h| h.last())
            .map(|h| h["deletionHooks"].clone())
            .unwrap_or_default()
    };
    for name in [&plain, &hooked] {
        env.wait_app(name, "synced, its deletion hooks recorded", |a| {
            sync_of(a) == "Synced" && last_deploy_hooks(a).is_array()
        })
        .await?;
    }
    let recorded = env.app(&plain).await?.unwrap_or_default();
    assert_eq!(last_deploy_hooks(&recorded), json!([]), "{recorded}");
    let recorded = env.app(&hooked).await?.unwrap_or_default();
    assert_eq!(
        last_deploy_hooks(&recorded),
        json!(["PreDelete"]),
        "{recorded}"
    );

    first.abort();
    std::fs::remove_dir_all(plain_repo.path())?;
    std::fs::remove_dir_all(hooked_repo.path())?;
    let empty_cache = tempfile::tempdir()?;
    let cache_dir = empty_cache.path().to_path_buf();
    env.spawn(move |c| c.cache_dir = cache_dir).await?;
    for name in [&plain, &hooked] {
        env.apps().delete(name, &DeleteParams::default()).await?;
    }
    wait_until(TIMEOUT, "the app without deletion hooks gone", || async {
        Ok(env.app(&plain).await?.is_none().then_some(()))
    })
    .await?;
    let cms: Api<ConfigMap> = env.ns.api();
    wait_until(TIMEOUT, "its ConfigMap deleted", || async {
        Ok(cms
            .get_opt("data")
            .await?
            .is_none_or(|c| c.metadata.deletion_timestamp.is_some())
            .then_some(()))
    })
    .await?;
    let stuck = env
        .wait_app(&hooked, "a DeletionError", |a| {
            a["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter().any(|c| {
                    c["type"] == "DeletionError"
                        && c["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("for its deletion hooks"))
                })
            })
        })
        .await?;
    assert!(stuck["metadata"]["deletionTimestamp"].is_string());
    assert!(
        cms.get_opt("kept").await?.is_some(),
        "nothing of an app with unrenderable deletion hooks is deleted"
    );
    Ok(())
}
