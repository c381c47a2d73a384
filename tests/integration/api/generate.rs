//! `POST /api/v1/applicationsets/generate` and `driftless appset generate`: what an
//! ApplicationSet in a file would generate from a real repository, and what writing it
//! would create or delete next to the one already in the cluster; nothing is written, a
//! generator error is a 422 naming it, and the permission is `applicationsets, create`.

use super::cli::Cli;
use super::*;
use crate::cli::stdout;

fn cm(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{a: \"1\"}}\n")
}

/// A git directories generator over `apps/*`, one app per directory.
fn appset(ns: &str, url: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
        "metadata": {"name": "teams", "namespace": ns},
        "spec": {
            "generators": [{"git": {"repoURL": url, "revision": "HEAD", "directories": [{"path": "apps/*"}]}}],
            "template": {
                "metadata": {"name": format!("{ns}-{{{{path.basename}}}}")},
                "spec": {"project": "default",
                    "source": {"repoURL": url, "targetRevision": "HEAD", "path": "{{path}}"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": ns}},
            },
        },
    })
}

fn names(answer: &Value, key: &str) -> Vec<String> {
    let mut found: Vec<String> = answer[key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            v.as_str().map(String::from).unwrap_or_else(|| {
                v["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
        })
        .collect();
    found.sort();
    found
}

/// The preview of `appset` as the caller of `token`: the status and the answer.
async fn generate(api: &ApiEnv, token: &str, appset: &Value) -> anyhow::Result<(u16, Value)> {
    api.post(
        "/api/v1/applicationsets/generate",
        token,
        json!({"applicationSet": appset}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_previews_the_apps_and_the_changes_without_writing() -> anyhow::Result<()> {
    let config = Config::default()
        .user("admin", "admin-pw")
        .user("viewer", "viewer-pw")
        .rbac("policy.csv", "g, viewer, role:readonly\n");
    let api = ApiEnv::start("api-generate", config).await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    env.repo.write("apps/a/cm.yaml", cm("a"));
    env.repo.write("apps/b/cm.yaml", cm("b"));
    env.repo.commit("a and b");
    let url = env.repo.file_url();
    let body = appset(&ns, &url);
    let admin = api.login("admin", "admin-pw").await?;
    let (a, b, c) = (format!("{ns}-a"), format!("{ns}-b"), format!("{ns}-c"));

    let (status, answer) = generate(&api, &admin, &body).await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(names(&answer, "applications"), vec![a.clone(), b.clone()]);
    assert_eq!(names(&answer, "create"), vec![a.clone(), b.clone()]);
    assert_eq!(
        answer["applications"][0]["spec"]["source"]["path"], "apps/a",
        "{answer}"
    );
    assert!(env.app(&a).await?.is_none(), "a preview writes nothing");

    // Once the ApplicationSet runs, a commit adding c and removing a previews as such.
    env.apply(&serde_json::to_string(&body)?).await?;
    driftless_testkit::wait_until(TIMEOUT, "the ApplicationSet made a and b", || async {
        Ok((env.app(&a).await?.is_some() && env.app(&b).await?.is_some()).then_some(()))
    })
    .await?;
    // On a branch the running ApplicationSet does not read, so only the preview sees it.
    let main = env.repo.branch();
    env.repo.checkout_new_branch("next");
    env.repo.remove("apps/a/cm.yaml");
    env.repo.write("apps/c/cm.yaml", cm("c"));
    env.repo.commit("c instead of a");
    env.repo.checkout(&main);
    let mut body = body;
    body["spec"]["generators"][0]["git"]["revision"] = json!("next");
    let (status, answer) = generate(&api, &admin, &body).await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(names(&answer, "applications"), vec![b.clone(), c.clone()]);
    assert_eq!(names(&answer, "create"), vec![c.clone()]);
    assert_eq!(names(&answer, "delete"), vec![a.clone()]);
    assert_eq!(names(&answer, "update"), Vec::<String>::new());

    // The CLI shows the same, from a file.
    let cli = Cli::new()?;
    cli.login(&api.base, "admin", "admin-pw").await?;
    let file = cli.config().with_file_name("appset.yaml");
    std::fs::write(&file, serde_norway::to_string(&body)?)?;
    let shown = cli
        .expect(
            &["appset", "generate", file.to_str().unwrap_or_default()],
            0,
        )
        .await?;
    let table = stdout(&shown);
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row(&c).ends_with("create"), "{table}");
    assert!(row(&b).ends_with("unchanged"), "{table}");
    assert!(row(&a).ends_with("delete"), "{table}");

    // A generator that cannot read its repository is the caller's error, named.
    let mut broken = body.clone();
    broken["spec"]["generators"][0]["git"]["repoURL"] = json!("file:///nonexistent/repo.git");
    let (status, answer) = generate(&api, &admin, &broken).await?;
    assert_eq!(status, 422, "{answer}");
    assert!(answer.to_string().contains("generator 0"), "{answer}");

    // Read-only users may not generate.
    let viewer = api.login("viewer", "viewer-pw").await?;
    let (status, answer) = generate(&api, &viewer, &body).await?;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer.to_string().contains("applicationsets, create"),
        "{answer}"
    );
    Ok(())
}
