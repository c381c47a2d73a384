//! The ApplicationSet reconciler of `driftless serve` on the real cluster: one controller runs
//! in-process for the test's namespace (Applications and ApplicationSets together, as `serve`
//! runs them), git repositories are real ones on disk, and the test acts only as a user would
//! (commits, `kubectl apply` of an ApplicationSet, a repository going away) and checks what a
//! user would check: the generated Applications, the ApplicationSet's status, and the objects
//! the Applications sync.

use crate::gitops::{Gitops, TIMEOUT};
use driftless_source::testing::ScratchRepo;
use driftless_testkit::wait_until;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ResourceQuota};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The poll interval of most tests; the namespace flow runs with `serve`'s default instead.
const FAST_POLL: Duration = Duration::from_secs(1);
const DEFAULT_POLL: Duration = Duration::from_secs(3);
const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// The controller harness, plus: on drop, any namespace the test generated (named after the
/// test namespace) is deleted.
struct Env {
    gitops: Gitops,
}

impl std::ops::Deref for Env {
    type Target = Gitops;

    fn deref(&self) -> &Gitops {
        &self.gitops
    }
}

impl Env {
    async fn new(prefix: &str) -> anyhow::Result<Self> {
        Ok(Self {
            gitops: Gitops::new(prefix).await?,
        })
    }

    /// Starts the controller polling git every `poll`.
    async fn start(&mut self, poll: Duration) -> anyhow::Result<()> {
        self.gitops
            .start_with(|config| {
                config.poll_interval = poll;
                // Long enough that only the git polling can bring a commit in within a test.
                config.resync_interval = Duration::from_secs(600);
            })
            .await?;
        Ok(())
    }

    /// Names of the Applications in the namespace, sorted.
    async fn app_names(&self) -> anyhow::Result<Vec<String>> {
        let mut names: Vec<String> = self
            .apps()
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .filter_map(|a| a.metadata.name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// Waits until the ApplicationSet satisfies `check`; on timeout shows its status.
    async fn wait_appset(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let waited = wait_until(
            TIMEOUT,
            &format!("applicationset {name}: {what}"),
            || async { Ok(self.get("ApplicationSet", name).await?.filter(|a| check(a))) },
        )
        .await;
        match waited {
            Ok(appset) => Ok(appset),
            Err(error) => {
                let seen = self
                    .get("ApplicationSet", name)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                anyhow::bail!(
                    "{error}\nlast status: {}",
                    serde_json::to_string_pretty(&seen["status"]).unwrap_or_default()
                )
            }
        }
    }

    async fn wait_apps(&self, expected: &[String]) -> anyhow::Result<()> {
        let mut expected = expected.to_vec();
        expected.sort();
        let what = format!("exactly the applications {expected:?}");
        wait_until(TIMEOUT, &what, || async {
            Ok((self.app_names().await? == expected).then_some(()))
        })
        .await
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let name = self.ns.name.clone();
        driftless_testkit::run_detached(move |client| async move {
            // Namespaces the generated Applications made are named after the test's.
            let namespaces: Api<Namespace> = Api::all(client);
            if let Ok(list) = namespaces.list(&ListParams::default()).await {
                let generated = list
                    .items
                    .into_iter()
                    .filter_map(|n| n.metadata.name)
                    .filter(|n| n.starts_with(&format!("{name}-")));
                for ns in generated {
                    let _ = namespaces.delete(&ns, &DeleteParams::background()).await;
                }
            }
        });
    }
}

fn condition<'a>(appset: &'a Value, kind: &str) -> Option<&'a Value> {
    appset["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn condition_is(appset: &Value, kind: &str, status: &str) -> bool {
    condition(appset, kind).is_some_and(|c| c["status"] == status)
}

/// The names `status.resources` lists.
fn listed(appset: &Value) -> Vec<String> {
    appset["status"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect()
}

fn label(app: &Value, key: &str) -> String {
    app["metadata"]["labels"][key]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn config_map(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{a: \"1\"}}\n")
}

/// A Helm chart making a team namespace: the Namespace, a default-deny NetworkPolicy and a
/// ResourceQuota, from `name` and `cpu`.
fn write_namespace_chart(repo: &ScratchRepo) {
    repo.write(
        "charts/namespace/Chart.yaml",
        "apiVersion: v2\nname: namespace\nversion: 0.1.0\n",
    );
    repo.write("charts/namespace/values.yaml", "name: \"\"\ncpu: \"1\"\n");
    repo.write(
        "charts/namespace/templates/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ .Values.name }}\n  labels: {driftless.dev/test: \"true\"}\n",
    );
    repo.write(
        "charts/namespace/templates/default-deny.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: {{ .Values.name }}\n\
         spec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n",
    );
    repo.write(
        "charts/namespace/templates/quota.yaml",
        "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: quota\n  namespace: {{ .Values.name }}\n\
         spec:\n  hard:\n    requests.cpu: {{ .Values.cpu | quote }}\n    pods: \"20\"\n",
    );
}

/// Whether namespace `name` exists (not being deleted) with its NetworkPolicy and quota.
async fn team_namespace_ready(client: &kube::Client, name: &str) -> anyhow::Result<bool> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let Some(ns) = namespaces.get_opt(name).await? else {
        return Ok(false);
    };
    if ns.metadata.deletion_timestamp.is_some() {
        return Ok(false);
    }
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), name);
    let quotas: Api<ResourceQuota> = Api::namespaced(client.clone(), name);
    Ok(policies.get_opt("default-deny").await?.is_some()
        && quotas.get_opt("quota").await?.is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_namespace_file_becomes_a_namespace_and_its_removal_deletes_it()
-> anyhow::Result<()> {
    let mut env = Env::new("appset-ns").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    write_namespace_chart(&env.repo);
    env.repo.write(
        "namespaces/README.md",
        "One YAML file per team namespace.\n",
    );
    env.repo.commit("namespace chart, no namespaces yet");
    env.start(DEFAULT_POLL).await?;
    let appset = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {{name: namespaces, namespace: {ns}}}\nspec:\n\
         \x20 generators:\n  - git:\n      repoURL: {url}\n      revision: HEAD\n      files: [{{path: \"namespaces/*.yaml\"}}]\n\
         \x20 template:\n    metadata:\n      name: '{{{{name}}}}'\n      labels: {{team: '{{{{name}}}}'}}\n    spec:\n\
         \x20     project: default\n      source:\n        repoURL: {url}\n        targetRevision: HEAD\n        path: charts/namespace\n\
         \x20       helm:\n          parameters:\n          - {{name: name, value: '{{{{name}}}}'}}\n          - {{name: cpu, value: '{{{{cpu}}}}'}}\n\
         \x20     destination: {{server: https://kubernetes.default.svc, namespace: '{{{{name}}}}'}}\n\
         \x20     syncPolicy:\n        automated: {{prune: true, selfHeal: true}}\n"
    );
    env.apply(&appset).await?;
    let empty = env
        .wait_appset("namespaces", "generated (nothing yet)", |a| {
            condition_is(a, "ResourcesUpToDate", "True")
        })
        .await?;
    assert!(listed(&empty).is_empty());
    assert!(env.app_names().await?.is_empty());

    // Commit a team file: the namespace, its default-deny policy and its quota appear.
    let team = env.name("team-a");
    env.repo.write(
        "namespaces/team-a.yaml",
        format!("name: {team}\ncpu: \"2\"\n"),
    );
    env.repo.commit("add team-a");
    let committed = Instant::now();
    let client = env.ns.client.clone();
    wait_until(
        TIMEOUT,
        &format!("namespace {team} with default-deny and quota"),
        || async { Ok(team_namespace_ready(&client, &team).await?.then_some(())) },
    )
    .await?;
    let to_namespace = committed.elapsed();
    println!(
        "commit → namespace {team} with NetworkPolicy and ResourceQuota: {:.1} s (git polled every {} s)",
        to_namespace.as_secs_f64(),
        DEFAULT_POLL.as_secs()
    );
    let quota: Api<ResourceQuota> = Api::namespaced(client.clone(), &team);
    let hard = quota
        .get("quota")
        .await?
        .spec
        .and_then(|s| s.hard)
        .unwrap_or_default();
    assert_eq!(
        hard.get("requests.cpu").map(|q| q.0.as_str()),
        Some("2"),
        "the file's values reach the template"
    );

    // The Application is the ApplicationSet's: controller owner, cascade finalizer, listed.
    let app = env
        .app(&team)
        .await?
        .ok_or_else(|| anyhow::anyhow!("application {team} is missing"))?;
    let appset_uid = env
        .get("ApplicationSet", "namespaces")
        .await?
        .unwrap_or_default()["metadata"]["uid"]
        .clone();
    let owner = &app["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].as_str(), owner["name"].as_str()),
        (Some("ApplicationSet"), Some("namespaces"))
    );
    assert_eq!(
        (
            &owner["uid"],
            &owner["controller"],
            &owner["blockOwnerDeletion"]
        ),
        (&appset_uid, &json!(true), &json!(true))
    );
    assert_eq!(app["metadata"]["finalizers"], json!([RESOURCES_FINALIZER]));
    assert_eq!(label(&app, "team"), team);
    let managers: Vec<&str> = app["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(
        managers.contains(&"driftless-appset"),
        "applied by the appset's field manager: {managers:?}"
    );
    let synced = env
        .wait_appset("namespaces", "the app listed as Synced and Healthy", |a| {
            let resource = &a["status"]["resources"][0];
            resource["name"] == team.as_str()
                && resource["status"] == "Synced"
                && resource["health"]["status"] == "Healthy"
        })
        .await?;
    assert!(condition_is(&synced, "ErrorOccurred", "False"));
    // A settled ApplicationSet writes nothing: the Application's spec was applied once, and
    // its own status is not rewritten.
    let version = synced["metadata"]["resourceVersion"].clone();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        env.app(&team).await?.unwrap_or_default()["metadata"]["generation"],
        json!(1),
        "the app's spec was written once"
    );
    let settled = env
        .get("ApplicationSet", "namespaces")
        .await?
        .unwrap_or_default();
    assert_eq!(
        settled["metadata"]["resourceVersion"], version,
        "no status write while nothing changes"
    );

    // The repository goes away: an error condition, and nothing is deleted.
    let dot_git = env.repo.path().join(".git");
    let moved = env.repo.path().join("git-away");
    std::fs::rename(&dot_git, &moved)?;
    let failing = env
        .wait_appset("namespaces", "an ErrorOccurred condition", |a| {
            condition_is(a, "ErrorOccurred", "True")
        })
        .await;
    let failing = match failing {
        Ok(failing) => failing,
        Err(error) => {
            std::fs::rename(&moved, &dot_git)?;
            return Err(error);
        }
    };
    let message = condition(&failing, "ErrorOccurred")
        .map(|c| c["message"].to_string())
        .unwrap_or_default();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let still = team_namespace_ready(&client, &team).await?;
    let app_kept = env
        .app(&team)
        .await?
        .is_some_and(|a| a["metadata"]["deletionTimestamp"].is_null());
    std::fs::rename(&moved, &dot_git)?;
    assert!(
        message.contains("failed to read"),
        "the condition says what failed: {message}"
    );
    assert!(
        still && app_kept,
        "an unreachable repository deletes nothing (namespace ready: {still}, app kept: {app_kept})"
    );
    assert_eq!(
        listed(&failing),
        vec![team.clone()],
        "the status still lists the app"
    );
    env.wait_appset("namespaces", "the error cleared", |a| {
        condition_is(a, "ErrorOccurred", "False")
    })
    .await?;

    // Delete the file: the Application goes, and its finalizer takes the namespace with it.
    env.repo
        .remove("namespaces/team-a.yaml")
        .commit("remove team-a");
    let removed = Instant::now();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    wait_until(
        TIMEOUT,
        &format!("application and namespace {team} to be gone"),
        || async {
            let gone =
                env.app(&team).await?.is_none() && namespaces.get_opt(&team).await?.is_none();
            Ok(gone.then_some(()))
        },
    )
    .await?;
    println!(
        "commit removing the file → application and namespace {team} gone: {:.1} s",
        removed.elapsed().as_secs_f64()
    );
    let after = env
        .wait_appset("namespaces", "nothing listed", |a| listed(a).is_empty())
        .await?;
    assert!(condition_is(&after, "ErrorOccurred", "False"));
    Ok(())
}

/// An ApplicationSet with a list generator over `elements` (`{"name": …}` objects), a `team`
/// label from `label`, and `policy` as `syncPolicy.applicationsSync` (None: the default).
fn list_appset(env: &Env, elements: &[&str], label: &str, policy: Option<&str>) -> String {
    let (ns, url) = (&env.ns.name, env.repo.file_url());
    let elements: Vec<String> = elements.iter().map(|e| format!("{{name: {e}}}")).collect();
    let policy = policy
        .map(|p| format!("  syncPolicy: {{applicationsSync: {p}}}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {{name: teams, namespace: {ns}}}\nspec:\n\
         \x20 generators:\n  - list:\n      elements: [{}]\n{policy}\
         \x20 template:\n    metadata:\n      name: '{ns}-{{{{name}}}}'\n      labels: {{team: '{label}'}}\n    spec:\n\
         \x20     project: default\n      source: {{repoURL: {url}, targetRevision: HEAD, path: 'apps/{{{{name}}}}'}}\n\
         \x20     destination: {{server: https://kubernetes.default.svc, namespace: {ns}}}\n",
        elements.join(", ")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_generator_creates_updates_and_deletes_its_applications_and_an_error_changes_none()
-> anyhow::Result<()> {
    let mut env = Env::new("appset-list").await?;
    for app in ["a", "b", "c"] {
        env.repo
            .write(&format!("apps/{app}/cm.yaml"), config_map(app));
    }
    env.repo.commit("three apps");
    env.start(FAST_POLL).await?;
    let (a, b, c) = (env.name("a"), env.name("b"), env.name("c"));
    env.apply(&list_appset(&env, &["a", "b"], "blue", None))
        .await?;
    env.wait_apps(&[a.clone(), b.clone()]).await?;
    let listed_ab = env
        .wait_appset("teams", "a and b listed, up to date", |s| {
            listed(s) == [a.clone(), b.clone()] && condition_is(s, "ResourcesUpToDate", "True")
        })
        .await?;
    assert!(condition_is(&listed_ab, "ParametersGenerated", "True"));
    let app_a = env.app(&a).await?.unwrap_or_default();
    assert_eq!(app_a["spec"]["source"]["path"], "apps/a");
    assert_eq!(label(&app_a, "team"), "blue");

    // Someone edits a generated Application: the ApplicationSet puts it back.
    let edit = json!({"spec": {"source": {"path": "apps/c"}}});
    env.argo("Application")
        .patch(&a, &PatchParams::default(), &Patch::Merge(edit))
        .await?;
    env.wait_app(&a, "its path put back", |app| {
        app["spec"]["source"]["path"] == "apps/a"
    })
    .await?;
    // Someone deletes one: it is generated again.
    env.argo("Application")
        .delete(&b, &DeleteParams::default())
        .await?;
    env.wait_app(&b, "generated again", |app| {
        app["metadata"]["deletionTimestamp"].is_null()
    })
    .await?;

    // The elements and the template change: a is updated, b deleted, c created.
    env.apply(&list_appset(&env, &["a", "c"], "green", None))
        .await?;
    env.wait_apps(&[a.clone(), c.clone()]).await?;
    env.wait_app(&a, "relabelled", |app| label(app, "team") == "green")
        .await?;
    env.wait_appset("teams", "a and c listed", |s| {
        listed(s) == [a.clone(), c.clone()]
    })
    .await?;

    // Two elements give the same name: an error condition, and no Application changes.
    let before_a = env.app(&a).await?.unwrap_or_default();
    env.apply(&list_appset(&env, &["a", "a"], "red", None))
        .await?;
    let failed = env
        .wait_appset("teams", "a duplicate-name error", |s| {
            condition_is(s, "ErrorOccurred", "True")
        })
        .await?;
    let message = condition(&failed, "ErrorOccurred")
        .map(|c| c["message"].to_string())
        .unwrap_or_default();
    assert!(message.contains("duplicate name"), "{message}");
    assert_eq!(
        condition(&failed, "ErrorOccurred").map(|c| c["reason"].clone()),
        Some(json!("ApplicationValidationError"))
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        env.app_names().await?,
        vec![a.clone(), c.clone()],
        "c is not deleted"
    );
    let after_a = env.app(&a).await?.unwrap_or_default();
    assert_eq!(label(&after_a, "team"), "green", "a keeps its labels");
    assert_eq!(
        after_a["metadata"]["generation"],
        before_a["metadata"]["generation"]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_only_never_updates_or_deletes_until_the_policy_is_sync() -> anyhow::Result<()> {
    let mut env = Env::new("appset-policy").await?;
    for app in ["a", "b"] {
        env.repo
            .write(&format!("apps/{app}/cm.yaml"), config_map(app));
    }
    env.repo.commit("two apps");
    env.start(FAST_POLL).await?;
    let (a, b) = (env.name("a"), env.name("b"));
    env.apply(&list_appset(&env, &["a", "b"], "blue", Some("create-only")))
        .await?;
    env.wait_apps(&[a.clone(), b.clone()]).await?;

    // create-only: b leaves the list and the label changes; the ApplicationSet takes note
    // (status) but neither deletes b nor relabels a.
    env.apply(&list_appset(&env, &["a"], "green", Some("create-only")))
        .await?;
    env.wait_appset("teams", "only a listed", |s| {
        listed(s) == [a.clone()] && condition_is(s, "ErrorOccurred", "False")
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        env.app_names().await?,
        vec![a.clone(), b.clone()],
        "create-only deletes nothing"
    );
    assert_eq!(
        label(&env.app(&a).await?.unwrap_or_default(), "team"),
        "blue",
        "create-only updates nothing"
    );

    // sync: the same generation now updates a and deletes b.
    env.apply(&list_appset(&env, &["a"], "green", Some("sync")))
        .await?;
    env.wait_apps(std::slice::from_ref(&a)).await?;
    env.wait_app(&a, "relabelled", |app| label(app, "team") == "green")
        .await?;

    // Deleting the ApplicationSet deletes its Applications (garbage collection, following
    // their ownerReferences).
    env.argo("ApplicationSet")
        .delete("teams", &DeleteParams::default())
        .await?;
    env.wait_apps(&[]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_directories_with_go_templates_keep_resources_on_deletion_and_a_bad_template_changes_nothing()
-> anyhow::Result<()> {
    let mut env = Env::new("appset-dirs").await?;
    let (ns, url) = (env.ns.name.clone(), env.repo.file_url());
    env.repo.write("apps/one/cm.yaml", config_map("one"));
    env.repo.write("apps/two/cm.yaml", config_map("two"));
    env.repo.commit("two directories");
    env.start(FAST_POLL).await?;
    let appset = |name_template: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {{name: dirs, namespace: {ns}}}\nspec:\n\
             \x20 goTemplate: true\n  goTemplateOptions: [\"missingkey=error\"]\n\
             \x20 generators:\n  - git:\n      repoURL: {url}\n      revision: HEAD\n      directories: [{{path: \"apps/*\"}}]\n\
             \x20 syncPolicy: {{preserveResourcesOnDeletion: true}}\n\
             \x20 template:\n    metadata:\n      name: '{name_template}'\n    spec:\n\
             \x20     project: default\n      source: {{repoURL: {url}, targetRevision: HEAD, path: '{{{{.path.path}}}}'}}\n\
             \x20     destination: {{server: https://kubernetes.default.svc, namespace: {ns}}}\n\
             \x20     syncPolicy:\n        automated: {{prune: true}}\n"
        )
    };
    env.apply(&appset(&format!("{ns}-{{{{.path.basename | lower}}}}")))
        .await?;
    let (one, two) = (env.name("one"), env.name("two"));
    env.wait_apps(&[one.clone(), two.clone()]).await?;
    let cms: Api<ConfigMap> = env.ns.api();
    wait_until(TIMEOUT, "both ConfigMaps synced", || async {
        Ok(
            (cms.get_opt("one").await?.is_some() && cms.get_opt("two").await?.is_some())
                .then_some(()),
        )
    })
    .await?;
    let app_two = env.app(&two).await?.unwrap_or_default();
    assert_eq!(app_two["spec"]["source"]["path"], "apps/two");
    assert!(
        app_two["metadata"]["finalizers"].is_null(),
        "preserveResourcesOnDeletion adds no resources finalizer"
    );

    // A directory removed in git: its Application goes, its ConfigMap stays.
    env.repo.remove("apps/two").commit("drop two");
    env.wait_apps(std::slice::from_ref(&one)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        cms.get_opt("two").await?.is_some(),
        "the deleted app's resources are preserved"
    );

    // A template referring to a missing key: an error condition, and `one` is untouched.
    let before = env.app(&one).await?.unwrap_or_default();
    env.apply(&appset(&format!("{ns}-{{{{.path.nope}}}}")))
        .await?;
    let failed = env
        .wait_appset("dirs", "a template error", |s| {
            condition_is(s, "ErrorOccurred", "True")
        })
        .await?;
    assert_eq!(
        condition(&failed, "ErrorOccurred").map(|c| c["reason"].clone()),
        Some(json!("RenderTemplateParamsError"))
    );
    // A new directory while the template is broken creates nothing either.
    env.repo.write("apps/three/cm.yaml", config_map("three"));
    env.repo.commit("add three");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(env.app_names().await?, vec![one.clone()]);
    let after = env.app(&one).await?.unwrap_or_default();
    assert_eq!(
        after["metadata"]["generation"], before["metadata"]["generation"],
        "one was not rewritten"
    );
    Ok(())
}

/// Without the cluster: the git generators read a polled repository as the poll last fetched
/// it, never from the network (which might be failing).
#[test]
fn the_appset_reads_polled_repositories_from_the_cache_alone() -> anyhow::Result<()> {
    use driftless_appset::GitFiles;
    use driftless_controller::appsets::files::SharedCacheFiles;
    use driftless_source::{RepoCache, RepoCredentials};
    let repo = ScratchRepo::new();
    repo.write("namespaces/team-a.yaml", "name: team-a\n");
    repo.commit("team-a");
    let dir = tempfile::tempdir()?;
    let cache = RepoCache::new(dir.path())?;
    let url = repo.file_url();
    cache.fetch(&url, &RepoCredentials::anonymous())?;
    repo.write("namespaces/team-b.yaml", "name: team-b\n");
    repo.commit("team-b, not fetched yet");
    let listings = cache.ref_listings();
    let polled = SharedCacheFiles::new(&cache, std::slice::from_ref(&url));
    let seen: Vec<String> = polled
        .files(&url, "HEAD", "namespaces/*.yaml")?
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    assert_eq!(seen, vec!["namespaces/team-a.yaml"]);
    assert_eq!(cache.ref_listings(), listings, "no network");
    // A repository the poll does not watch (a templated repoURL) is synced when read.
    let unpolled = SharedCacheFiles::new(&cache, &[]);
    assert_eq!(unpolled.files(&url, "HEAD", "namespaces/*.yaml")?.len(), 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_of_clusters_and_list_and_merge_by_key_generate_the_expected_applications()
-> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::PostParams;
    let mut env = Env::new("appset-matrix").await?;
    env.repo.write("apps/a/cm.yaml", config_map("a"));
    env.repo.commit("an app");
    let ns = env.ns.name.clone();
    // Two clusters registered the way Argo CD stores them; only one is selected.
    for (name, stage) in [("east", "staging"), ("west", "prod")] {
        let secret: Secret = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": format!("cluster-{name}"),
                "labels": {"argocd.argoproj.io/secret-type": "cluster", "stage": stage}},
            "stringData": {"name": name, "server": format!("https://{name}.example.invalid"), "config": "{}"}}))?;
        env.ns
            .api::<Secret>()
            .create(&PostParams::default(), &secret)
            .await?;
    }
    env.start(FAST_POLL).await?;
    let url = env.repo.file_url();
    let matrix = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {{name: fleet, namespace: {ns}}}\nspec:\n\
         \x20 goTemplate: true\n  generators:\n  - matrix:\n      generators:\n\
         \x20     - clusters: {{selector: {{matchLabels: {{stage: staging}}}}}}\n\
         \x20     - list: {{elements: [{{svc: api}}, {{svc: web}}]}}\n\
         \x20 template:\n    metadata: {{name: '{ns}-{{{{.name}}}}-{{{{.svc}}}}'}}\n    spec:\n      project: default\n\
         \x20     source: {{repoURL: {url}, targetRevision: HEAD, path: apps/a}}\n\
         \x20     destination: {{server: '{{{{.server}}}}', namespace: '{{{{.svc}}}}'}}\n"
    );
    env.apply(&matrix).await?;
    let (api, web) = (format!("{ns}-east-api"), format!("{ns}-east-web"));
    env.wait_apps(&[api.clone(), web.clone()]).await?;
    let app = env.app(&api).await?.unwrap_or_default();
    assert_eq!(
        app["spec"]["destination"]["server"],
        "https://east.example.invalid"
    );
    assert_eq!(app["spec"]["destination"]["namespace"], "api");

    // Merge: the second list overrides the first's `color` for the element with the same `svc`.
    let merge = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {{name: colors, namespace: {ns}}}\nspec:\n\
         \x20 generators:\n  - merge:\n      mergeKeys: [svc]\n      generators:\n\
         \x20     - list: {{elements: [{{svc: db, color: red}}, {{svc: cache, color: red}}]}}\n\
         \x20     - list: {{elements: [{{svc: db, color: blue}}]}}\n\
         \x20 template:\n    metadata: {{name: '{ns}-{{{{svc}}}}', labels: {{color: '{{{{color}}}}'}}}}\n    spec:\n\
         \x20     project: default\n      source: {{repoURL: {url}, targetRevision: HEAD, path: apps/a}}\n\
         \x20     destination: {{server: https://kubernetes.default.svc, namespace: {ns}}}\n"
    );
    env.apply(&merge).await?;
    let (db, cache) = (format!("{ns}-db"), format!("{ns}-cache"));
    env.wait_app(&db, "merged color", |a| label(a, "color") == "blue")
        .await?;
    env.wait_app(&cache, "its own color", |a| label(a, "color") == "red")
        .await?;
    Ok(())
}
