//! The app rendered and diffed by the API server without a sync: `manifests` and `diff` at
//! the app's target and at another branch, Secret values never shown, errors for a revision
//! that does not exist and a render that fails, and the permission they need.

use super::*;

const PLAIN: &str = "s3cr3t-plaintext-old";
const CHANGED: &str = "s3cr3t-plaintext-new";

fn secret(value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: {value}\n"
    )
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Neither value of the Secret, in plain text or base64, appears anywhere in `body`.
fn assert_no_secret(body: &Value) {
    use base64::Engine;
    let text = body.to_string();
    for value in [PLAIN, CHANGED] {
        let encoded = base64::engine::general_purpose::STANDARD.encode(value);
        assert!(
            !text.contains(value) && !text.contains(&encoded),
            "a Secret value leaked: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_and_diff_at_another_branch_mask_secrets_and_name_what_fails()
-> anyhow::Result<()> {
    let config = Config::default()
        .user("admin", "admin-pw")
        .user("viewer", "viewer-pw")
        .rbac("policy.csv", "g, viewer, role:readonly\n");
    let api = ApiEnv::start("api-inspect", config).await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    env.repo.write("app/settings.yaml", settings("hello"));
    env.repo.write("app/creds.yaml", secret(PLAIN));
    env.repo.commit("first");
    let main = env.repo.branch();
    env.repo.checkout_new_branch("feature");
    env.repo.write("app/settings.yaml", settings("bonjour"));
    env.repo.write("app/creds.yaml", secret(CHANGED));
    let feature = env.repo.commit("feature");
    env.repo.checkout(&main);
    let url = env.repo.file_url();
    let name = env.name("app");
    let app = application(&name, &ns, &url, "app", AUTOMATED, "")
        .replace("targetRevision: HEAD", &format!("targetRevision: {main}"));
    env.apply_app(&app).await?;
    env.wait_synced_healthy(&name).await?;

    let viewer = api.login("viewer", "viewer-pw").await?;
    let path = |what: &str, revision: Option<&str>| {
        let query = revision
            .map(|r| format!("?revision={r}"))
            .unwrap_or_default();
        format!("/api/v1/applications/{name}/{what}{query}")
    };
    // At the app's own target: what is deployed, nothing differs.
    let (status, manifests) = api.get(&path("manifests", None), &viewer).await?;
    assert_eq!(status, 200, "{manifests}");
    assert!(manifests.to_string().contains("hello"), "{manifests}");
    assert_no_secret(&manifests);
    let (status, diff) = api.get(&path("diff", None), &viewer).await?;
    assert_eq!(status, 200, "{diff}");
    assert_eq!(diff["differs"], false, "{diff}");

    // At the branch: the new value, its diff, and still no Secret value.
    let (status, manifests) = api
        .get(&path("manifests", Some("feature")), &viewer)
        .await?;
    assert_eq!(status, 200, "{manifests}");
    assert_eq!(manifests["revisions"], json!([feature]));
    assert!(manifests.to_string().contains("bonjour"), "{manifests}");
    assert_no_secret(&manifests);
    let (status, diff) = api.get(&path("diff", Some("feature")), &viewer).await?;
    assert_eq!(status, 200, "{diff}");
    assert_eq!(diff["differs"], true, "{diff}");
    let of = |kind: &str| {
        diff["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["kind"] == kind)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(of("ConfigMap")["status"], "OutOfSync", "{diff}");
    let text = of("ConfigMap")["diff"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        text.contains("+  greeting: bonjour") && text.contains("-  greeting: hello"),
        "{text}"
    );
    assert_eq!(
        of("Secret")["status"],
        "OutOfSync",
        "a changed Secret still shows as changed: {diff}"
    );
    assert_no_secret(&diff);

    // The same through the command line: `app diff` exits 1 when something differs.
    let cli = super::cli::Cli::new()?;
    let server = [
        "--server",
        api.base.as_str(),
        "--auth-token",
        viewer.as_str(),
    ];
    let args = |first: &[&str]| -> Vec<String> {
        first.iter().chain(&server).map(|s| s.to_string()).collect()
    };
    let diff_args = args(&["app", "diff", &name, "--revision", "feature"]);
    let out = cli.expect(&refs(&diff_args), 1).await?;
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(printed.contains("+  greeting: bonjour"), "{printed}");
    assert_no_secret(&json!(printed));
    cli.expect(&refs(&args(&["app", "diff", &name])), 0).await?;
    let out = cli
        .expect(&refs(&args(&["app", "manifests", &name])), 0)
        .await?;
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(printed.contains("greeting: hello"), "{printed}");
    assert_no_secret(&json!(printed));

    // With --core the CLI renders itself, from the Application in the cluster: the same answer.
    let core = |first: &[&str]| -> Vec<String> {
        first
            .iter()
            .chain(&["--core", "--app-namespace", ns.as_str()])
            .map(|s| s.to_string())
            .collect()
    };
    let out = cli
        .expect(
            &refs(&core(&["app", "diff", &name, "--revision", "feature"])),
            1,
        )
        .await?;
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(printed.contains("+  greeting: bonjour"), "{printed}");
    assert_no_secret(&json!(printed));
    cli.expect(&refs(&core(&["app", "diff", &name])), 0).await?;
    let out = cli
        .expect(
            &refs(&core(&["app", "manifests", &name, "--revision", "feature"])),
            0,
        )
        .await?;
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(printed.contains("greeting: bonjour"), "{printed}");
    assert_no_secret(&json!(printed));

    // What fails says what: a revision nobody has, a render that fails.
    let (status, missing) = api
        .get(&path("diff", Some("no-such-branch")), &viewer)
        .await?;
    assert_eq!(status, 404, "{missing}");
    assert!(
        missing["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no-such-branch"),
        "{missing}"
    );
    env.repo.checkout("feature");
    env.repo.write("app/broken.yaml", "kind: [unclosed\n");
    env.repo.commit("broken");
    env.repo.checkout(&main);
    let (status, broken) = api
        .get(&path("manifests", Some("feature")), &viewer)
        .await?;
    assert_eq!(status, 422, "{broken}");
    assert!(
        broken["message"]
            .as_str()
            .unwrap_or_default()
            .contains("broken.yaml"),
        "{broken}"
    );

    // A reader may look but not sync; nobody unauthenticated may look.
    let (status, _) = api
        .post(
            &format!("/api/v1/applications/{name}/sync"),
            &viewer,
            json!({}),
        )
        .await?;
    assert_eq!(status, 403);
    let (status, _) = api
        .call(reqwest::Method::GET, &path("manifests", None), None, None)
        .await?;
    assert_eq!(status, 401);
    // Nothing was synced from the branch.
    let maps: Api<ConfigMap> = env.ns.api();
    assert_eq!(greeting(&maps).await?.as_deref(), Some("hello"));
    Ok(())
}
