//! `GET /api/v1/applications/{name}/tree-diff?revision=` and `driftless app diff --tree`: an
//! App of Apps rendered at a feature branch against the live cluster, as a reviewer of the
//! pull request would read it: a child changed, a child added, a child removed with what
//! goes with it, the guard's findings, and children the caller may not read left out.

use super::cli::Cli;
use super::*;
use crate::cli::stdout;

fn config_map(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{value: \"{value}\"}}\n"
    )
}

/// An Ingress whose backend Service exists nowhere in the tree (a guard error).
const DANGLING_INGRESS: &str = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\nspec:\n  rules:\n  - host: web.example\n    http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {service: {name: missing, port: {number: 80}}}}\n";

fn find<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["apps"]
        .as_array()
        .and_then(|apps| apps.iter().find(|a| a["name"] == name))
        .unwrap_or(&Value::Null)
}

fn object<'a>(app: &'a Value, kind: &str, name: &str) -> &'a Value {
    app["diffs"]
        .as_array()
        .and_then(|d| d.iter().find(|o| o["kind"] == kind && o["name"] == name))
        .unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tree_at_a_branch_shows_children_changed_added_removed_and_guard_findings()
-> anyhow::Result<()> {
    let config = Config::default()
        .user("admin", "admin-pw")
        .user("limited", "limited-pw")
        .rbac(
            "policy.csv",
            "p, limited, applications, get, default/*-root, allow\n",
        );
    let api = ApiEnv::start("api-tree", config).await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    let url = env.repo.file_url();
    let (root, a, b, c) = (
        env.name("root"),
        env.name("a"),
        env.name("b"),
        env.name("c"),
    );
    let child = |name: &str, path: &str| application(name, &ns, &url, path, AUTOMATED, CASCADE);
    env.repo.write("root/a.yaml", child(&a, "apps/a"));
    env.repo.write("root/b.yaml", child(&b, "apps/b"));
    env.repo
        .write("apps/a/cm.yaml", config_map("a-settings", "one"));
    env.repo
        .write("apps/b/cm.yaml", config_map("b-settings", "one"));
    env.repo.commit("root with a and b");
    let main = env.repo.branch();
    env.repo.checkout_new_branch("feature");
    env.repo
        .write("apps/a/cm.yaml", config_map("a-settings", "two"));
    env.repo.remove("root/b.yaml");
    env.repo.write("root/c.yaml", child(&c, "apps/c"));
    env.repo
        .write("apps/c/cm.yaml", config_map("c-settings", "one"));
    env.repo.write("apps/c/ingress.yaml", DANGLING_INGRESS);
    env.repo.commit("change a, drop b, add c");
    env.repo.checkout(&main);
    env.apply_app(&application(&root, &ns, &url, "root", AUTOMATED, ""))
        .await?;
    for name in [&root, &a, &b] {
        env.wait_synced_healthy(name).await?;
    }
    let admin = api.login("admin", "admin-pw").await?;

    let path = format!("/api/v1/applications/{root}/tree-diff?revision=feature");
    let (status, answer) = api.get(&path, &admin).await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["differs"], true);
    assert_eq!(
        answer["apps"][0]["name"],
        root.as_str(),
        "the root comes first"
    );
    let changed = find(&answer, &a);
    assert_eq!(
        changed["change"], "Unchanged",
        "a's Application is the same: {changed}"
    );
    let a_settings = object(changed, "ConfigMap", "a-settings");
    assert_eq!(a_settings["status"], "OutOfSync", "{changed}");
    assert!(
        a_settings["diff"]
            .as_str()
            .unwrap_or_default()
            .contains("+  value: two"),
        "a follows the root to the branch: {a_settings}"
    );
    let added = find(&answer, &c);
    assert_eq!(added["change"], "Added", "{answer}");
    assert_eq!(added["parent"], root.as_str());
    assert_eq!(
        object(added, "ConfigMap", "c-settings")["status"],
        "Missing"
    );
    assert_eq!(object(added, "Ingress", "web")["status"], "Missing");
    let removed = find(&answer, &b);
    assert_eq!(removed["change"], "Removed", "{answer}");
    assert!(
        removed["pruned"].as_array().is_some_and(|p| p
            .iter()
            .any(|k| *k == format!("/ConfigMap/{ns}/b-settings"))),
        "b goes with its objects: {removed}"
    );
    let findings = answer["findings"].as_array().cloned().unwrap_or_default();
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "ingress-backend-missing" && f["app"] == c.as_str()),
        "{findings:?}"
    );

    // At the root's own target the tree is in sync.
    let (status, now) = api
        .get(&format!("/api/v1/applications/{root}/tree-diff"), &admin)
        .await?;
    assert_eq!(status, 200, "{now}");
    assert_eq!(now["differs"], false, "{now}");

    // A caller who may read only the root sees the children's names and changes, no more.
    let limited = api.login("limited", "limited-pw").await?;
    let (status, seen) = api.get(&path, &limited).await?;
    assert_eq!(status, 200, "{seen}");
    let hidden = find(&seen, &c);
    assert_eq!(hidden["hidden"], true, "{seen}");
    assert_eq!(hidden["change"], "Added");
    assert!(hidden.get("diffs").is_none(), "{hidden}");
    assert!(
        seen["findings"].as_array().is_some_and(Vec::is_empty),
        "{seen}"
    );

    // The CLI prints the same tree and exits 1: something differs.
    let cli = Cli::new()?;
    cli.login(&api.base, "admin", "admin-pw").await?;
    let shown = cli
        .expect(
            &["app", "diff", &root, "--tree", "--revision", "feature"],
            1,
        )
        .await?;
    let text = stdout(&shown);
    assert!(
        text.contains(&format!("== {c}: Added (child of {root})")),
        "{text}"
    );
    assert!(
        text.contains(&format!("== {b}: Removed (child of {root})")),
        "{text}"
    );
    assert!(text.contains("ingress-backend-missing"), "{text}");
    Ok(())
}
