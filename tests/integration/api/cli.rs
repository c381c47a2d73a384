//! The `driftless` command line against the API server (and, with `--core`, the cluster):
//! login, app list/get/sync/wait/history, exit codes, and JSON output, run as a user would,
//! each command a process with its own contexts file.

use super::*;
use crate::cli::{expect_exit, stderr, stdout};
use k8s_openapi::api::core::v1::Service;
use std::process::{Output, Stdio};

/// A wave-1 object: the sync waits for the wave-0 gate before it.
const LATER: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\n  annotations: {argocd.argoproj.io/sync-wave: \"1\"}\ndata: {a: \"1\"}\n";

/// Longest any one command may take here.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

/// The binary with a contexts file of its own.
pub(crate) struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    pub(crate) fn new() -> anyhow::Result<Self> {
        Ok(Self {
            dir: tempfile::tempdir()?,
        })
    }

    pub(crate) fn config(&self) -> std::path::PathBuf {
        self.dir.path().join("driftless/config.yaml")
    }

    /// The command, not started: with this contexts file and none of the user's settings.
    pub(crate) fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftless"));
        command
            .args(args)
            .env("DRIFTLESS_CONFIG", self.config())
            .env("NO_COLOR", "1")
            .env_remove("DRIFTLESS_SERVER")
            .env_remove("DRIFTLESS_AUTH_TOKEN")
            .env_remove("DRIFTLESS_PASSWORD")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    async fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        let mut command = self.command(args);
        let output = tokio::time::timeout(COMMAND_TIMEOUT, command.output())
            .await
            .map_err(|_| {
                anyhow::anyhow!("driftless {args:?} ran longer than {COMMAND_TIMEOUT:?}")
            })??;
        Ok(output)
    }

    /// `driftless login` to `server` as a local account.
    pub(crate) async fn login(
        &self,
        server: &str,
        user: &str,
        password: &str,
    ) -> anyhow::Result<Output> {
        self.expect(
            &["login", server, "--username", user, "--password", password],
            0,
        )
        .await
    }

    /// Runs and expects `code`; the output.
    pub(crate) async fn expect(&self, args: &[&str], code: i32) -> anyhow::Result<Output> {
        let output = self.run(args).await?;
        expect_exit(&output, code, &format!("driftless {}", args.join(" ")));
        Ok(output)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_list_sync_wait_and_read_through_the_server_and_the_cluster()
-> anyhow::Result<()> {
    let api = ApiEnv::start("api-cli", Config::default().user("admin", "admin-pw")).await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    env.repo.write("app/settings.yaml", settings("hello"));
    env.repo.write("app/gate.yaml", GATE);
    env.repo.write("app/later.yaml", LATER);
    env.repo.commit("v1");
    let url = env.repo.file_url();
    let name = env.name("shop");
    env.apply_app(&app_in("default", &name, &ns, &url, "", ""))
        .await?;
    env.wait_app(&name, "compared", |a| sync_of(a) == "OutOfSync")
        .await?;

    let cli = Cli::new()?;
    let login = cli.login(&api.base, "admin", "admin-pw").await?;
    assert!(
        stdout(&login).contains("'admin' logged in"),
        "{}",
        stdout(&login)
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(cli.config())?.permissions().mode() & 0o777,
        0o600
    );
    let saved = std::fs::read_to_string(cli.config())?;
    assert!(
        saved.contains("plaintext: true") && saved.contains("token:"),
        "{saved}"
    );

    let listed = cli.expect(&["app", "list"], 0).await?;
    let text = stdout(&listed);
    let header = text.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("NAME") && header.contains("PROJECT") && header.contains("HEALTH"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with(&name) && l.contains("OutOfSync")),
        "{text}"
    );
    let json_list = cli.expect(&["app", "list", "-o", "json"], 0).await?;
    let parsed: Value = serde_json::from_slice(&json_list.stdout)?;
    assert_eq!(parsed[0]["metadata"]["name"], name.as_str(), "{parsed}");

    // The sync waits in wave 0 for the gate: its progress shows the wave, then the end.
    let services: Api<Service> = env.ns.api();
    let opener = {
        let services = services.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            for _ in 0..60 {
                if open_gate(&services).await.is_ok() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let synced = cli
        .expect(&["app", "sync", &name, "--timeout", "150s"], 0)
        .await?;
    opener.abort();
    let progress = stdout(&synced);
    assert!(
        progress.contains("Operation Running (by admin)"),
        "{progress}"
    );
    assert!(
        progress.contains("Sync wave 0") && progress.contains("waiting for healthy state"),
        "{progress}"
    );
    assert!(
        progress.contains("Sync wave 1") && progress.contains("Operation Succeeded"),
        "{progress}"
    );
    assert!(
        progress.contains(&format!("Synced       ConfigMap {ns}/later")),
        "{progress}"
    );
    // The results table, with the health the comparison after the sync found.
    assert!(
        progress
            .lines()
            .any(|l| l.contains("gate") && l.contains("Synced") && l.contains("Healthy")),
        "the results table: {progress}"
    );
    // The cluster, not only the output.
    let maps: Api<ConfigMap> = env.ns.api();
    assert_eq!(greeting(&maps).await?.as_deref(), Some("hello"));
    let app = env.app(&name).await?.unwrap_or_default();
    assert_eq!(
        app["status"]["operationState"]["phase"], "Succeeded",
        "{app}"
    );
    assert_eq!(
        app["status"]["operationState"]["operation"]["initiatedBy"]["username"],
        "admin"
    );

    cli.expect(
        &[
            "app",
            "wait",
            &name,
            "--sync",
            "--health",
            "--timeout",
            "60s",
        ],
        0,
    )
    .await?;
    env.wait_synced_healthy(&name).await?;
    let got = cli.expect(&["app", "get", &name], 0).await?;
    let details = stdout(&got);
    assert!(
        details.contains("Sync Status:") && details.contains("Synced"),
        "{details}"
    );
    assert!(
        details.contains("Phase:") && details.contains("Succeeded"),
        "{details}"
    );
    assert!(
        details
            .lines()
            .any(|l| l.starts_with("GROUP") && l.contains("HEALTH")),
        "{details}"
    );
    assert!(
        details
            .lines()
            .any(|l| l.contains("ConfigMap") && l.contains("settings")),
        "{details}"
    );
    let history = stdout(&cli.expect(&["app", "history", &name], 0).await?);
    assert!(
        history.starts_with("ID") && history.lines().count() == 2,
        "{history}"
    );
    let got_json: Value = serde_json::from_slice(
        &cli.expect(&["app", "get", &name, "-o", "json"], 0)
            .await?
            .stdout,
    )?;
    assert_eq!(got_json["status"]["sync"]["status"], "Synced");
    assert!(
        got_json["metadata"]["managedFields"].is_null(),
        "left out as kubectl does"
    );

    // A second deployment, then a rollback to the first: three history entries. (--prune: the
    // controller takes a request equal to the last operation as already run.)
    cli.expect(&["app", "sync", &name, "--prune", "--timeout", "90s"], 0)
        .await?;
    let rolled = cli
        .expect(&["app", "rollback", &name, "0", "--timeout", "90s"], 0)
        .await?;
    assert!(
        stdout(&rolled).contains("Operation Succeeded"),
        "{}",
        stdout(&rolled)
    );
    let history = stdout(
        &cli.expect(&["app", "history", &name, "-o", "yaml"], 0)
            .await?,
    );
    let entries: Value = serde_norway::from_str(&history)?;
    assert_eq!(entries.as_array().map(Vec::len), Some(3), "{history}");
    cli.expect(&["app", "rollback", &name, "9"], 5).await?;
    cli.expect(&["app", "events", &name], 0).await?;

    // Already there: no wait at all. An unknown app: exit 5.
    cli.expect(&["app", "wait", &name, "--operation", "--timeout", "1s"], 0)
        .await?;
    cli.expect(&["app", "get", "no-such-app"], 5).await?;

    // --core: no server at all (and none in the contexts file).
    let core = Cli::new()?;
    let listed = core
        .expect(&["app", "list", "--core", "--app-namespace", &ns], 0)
        .await?;
    assert!(
        stdout(&listed)
            .lines()
            .any(|l| l.starts_with(&name) && l.contains("Synced")),
        "{}",
        stdout(&listed)
    );
    let resources = core
        .expect(
            &[
                "app",
                "resources",
                &name,
                "--core",
                "--app-namespace",
                &ns,
                "-o",
                "json",
            ],
            0,
        )
        .await?;
    let nodes: Value = serde_json::from_slice(&resources.stdout)?;
    assert!(
        nodes
            .as_array()
            .is_some_and(|n| n.iter().any(|r| r["name"] == "settings")),
        "{nodes}"
    );
    let no_server = core.expect(&["app", "list"], 2).await?;
    assert!(
        stderr(&no_server).contains("driftless login"),
        "{}",
        stderr(&no_server)
    );

    // A refresh through the server is served by the controller.
    let refreshed = cli
        .expect(&["app", "refresh", &name, "--timeout", "60s"], 0)
        .await?;
    assert!(
        stdout(&refreshed).contains("refreshed: Synced"),
        "{}",
        stdout(&refreshed)
    );
    // Logged out, the server refuses: exit 4.
    cli.expect(&["logout"], 0).await?;
    let refused = cli.expect(&["app", "list"], 4).await?;
    assert!(
        stderr(&refused).contains("not authenticated"),
        "{}",
        stderr(&refused)
    );
    Ok(())
}

const POLICY: &str = "\
p, role:deployer-a, applications, get, proj-a/*, allow
p, role:deployer-a, applications, sync, proj-a/*, allow
g, alice, role:deployer-a
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_render_exits_1_and_a_missing_permission_exits_4() -> anyhow::Result<()> {
    let config = Config::default()
        .user("alice", "alice-pw")
        .rbac("policy.csv", POLICY);
    let api = ApiEnv::start("api-cli-deny", config).await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    env.repo.write("app/settings.yaml", settings("hello"));
    env.repo.write(
        "broken/bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad\ndata: [unclosed\n",
    );
    env.repo.commit("v1");
    let url = env.repo.file_url();
    env.apply(&project("proj-a", &ns, "")).await?;
    env.apply(&project("proj-b", &ns, "")).await?;
    let (broken, hidden) = (env.name("broken"), env.name("hidden"));
    let broken_app = application(&broken, &ns, &url, "broken", "", "")
        .replace("project: default", "project: proj-a");
    env.apply_app(&broken_app).await?;
    env.apply_app(&app_in("proj-b", &hidden, &ns, &url, "", ""))
        .await?;
    env.wait_app(&hidden, "compared", |a| sync_of(a) == "OutOfSync")
        .await?;

    let cli = Cli::new()?;
    let server = api.base.trim_start_matches("http://").to_string();
    cli.expect(
        &[
            "login",
            &server,
            "--plaintext",
            "--username",
            "alice",
            "--password",
            "alice-pw",
            "--name",
            "test",
        ],
        0,
    )
    .await?;
    let listed = stdout(&cli.expect(&["app", "list", "-o", "name"], 0).await?);
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        [broken.as_str()],
        "alice sees proj-a only"
    );

    let failed = cli
        .expect(&["app", "sync", &broken, "--timeout", "90s"], 1)
        .await?;
    let reason = stderr(&failed);
    assert!(
        reason.contains(&format!("the sync of app {broken} ended")),
        "{reason}"
    );
    assert!(
        reason.contains("bad.yaml") || reason.to_lowercase().contains("yaml"),
        "the render error: {reason}"
    );
    let app = env.app(&broken).await?.unwrap_or_default();
    let phase = app["status"]["operationState"]["phase"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(phase == "Error" || phase == "Failed", "{app}");

    let denied = cli.expect(&["app", "get", &hidden], 4).await?;
    let message = stderr(&denied);
    assert!(
        message.contains(&format!("applications, get, proj-b/{hidden}")),
        "{message}"
    );
    cli.expect(&["app", "sync", &hidden, "--async"], 4).await?;
    // A bad token from the environment beats the saved one.
    let output = cli
        .expect(&["app", "list", "--auth-token", "made-up"], 4)
        .await?;
    assert!(
        stderr(&output).contains("not authenticated"),
        "{}",
        stderr(&output)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_mode_syncs_terminates_and_deletes_as_the_server_would() -> anyhow::Result<()> {
    let mut env = Gitops::new("api-cli-core").await?;
    env.start().await?;
    let ns = env.ns.name.clone();
    env.repo.write("app/settings.yaml", settings("hello"));
    env.repo.write("app/gate.yaml", GATE);
    env.repo.write("app/later.yaml", LATER);
    env.repo.commit("v1");
    let name = env.name("held");
    env.apply_app(&application(
        &name,
        &ns,
        &env.repo.file_url(),
        "app",
        "",
        CASCADE,
    ))
    .await?;
    env.wait_app(&name, "compared", |a| sync_of(a) == "OutOfSync")
        .await?;

    let cli = Cli::new()?;
    let core = ["--core", "--app-namespace", ns.as_str()];
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(core.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: Vec<String>, code: i32| {
        let cli = &cli;
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            cli.expect(&refs, code).await
        }
    };
    let started = run(with(&["app", "sync", &name, "--async"]), 0).await?;
    assert!(
        stdout(&started).contains("requested"),
        "{}",
        stdout(&started)
    );
    let app = env.wait_sync_waiting(&name).await?;
    let user = app["status"]["operationState"]["operation"]["initiatedBy"]["username"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!user.is_empty(), "the kube user or core: {app}");
    run(with(&["app", "sync", &name, "--async"]), 1).await?;
    let timed_out = run(
        with(&["app", "wait", &name, "--operation", "--timeout", "2s"]),
        3,
    )
    .await?;
    assert!(
        stderr(&timed_out).contains("the operation is Running"),
        "{}",
        stderr(&timed_out)
    );

    run(with(&["app", "terminate-op", &name]), 0).await?;
    let ended = env
        .wait_app(&name, "terminated", |a| {
            a["status"]["operationState"]["phase"] == "Failed" && a["operation"].is_null()
        })
        .await?;
    assert_eq!(
        ended["status"]["operationState"]["message"],
        "Operation terminated"
    );
    let waited = run(
        with(&["app", "wait", &name, "--operation", "--timeout", "30s"]),
        1,
    )
    .await?;
    assert!(
        stderr(&waited).contains("Operation terminated"),
        "{}",
        stderr(&waited)
    );
    run(with(&["app", "terminate-op", &name]), 1).await?;

    // With the gate open, the same sync twice: each runs (no request equals the last one).
    open_gate(&env.ns.api()).await?;
    for _ in 0..2 {
        let synced = run(with(&["app", "sync", &name, "--timeout", "90s"]), 0).await?;
        assert!(
            stdout(&synced).contains("Operation Succeeded"),
            "{}",
            stdout(&synced)
        );
    }
    let app = env.app(&name).await?.unwrap_or_default();
    assert_eq!(
        app["status"]["history"].as_array().map(Vec::len),
        Some(2),
        "{app}"
    );

    run(
        with(&[
            "app",
            "delete",
            &name,
            "--cascade=false",
            "--wait",
            "--timeout",
            "60s",
        ]),
        0,
    )
    .await?;
    assert!(env.app(&name).await?.is_none());
    let maps: Api<ConfigMap> = env.ns.api();
    assert_eq!(
        greeting(&maps).await?.as_deref(),
        Some("hello"),
        "--cascade=false leaves the objects"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_login_over_https_with_an_untrusted_certificate_and_the_projects()
-> anyhow::Result<()> {
    let env = Gitops::new("api-cli-tls").await?;
    let ns = env.ns.name.clone();
    let policy = format!("g, system:serviceaccount:{ns}:viewer, role:readonly\n");
    write_config(&env.ns, &Config::default().rbac("policy.csv", &policy)).await?;
    env.apply(&project("shop", &ns, "  description: the shop\n"))
        .await?;
    let token = service_account_token(&env, "viewer").await?;
    let server = Server::bind(
        env.ns.client.clone(),
        ServerConfig::new(&ns, "127.0.0.1:0".parse()?),
        None,
    )
    .await?;
    let address = server.local_addr().expect("bound");
    let task = tokio::spawn(server.run());
    let server = format!("localhost:{}", address.port());
    let cli = Cli::new()?;
    let untrusted = cli
        .expect(&["login", &server, "--token", &token], 6)
        .await?;
    assert!(
        stderr(&untrusted).to_lowercase().contains("certificate"),
        "{}",
        stderr(&untrusted)
    );
    let login = cli
        .expect(
            &[
                "login",
                &server,
                "--token",
                &token,
                "--insecure-skip-tls-verify",
            ],
            0,
        )
        .await?;
    assert!(
        stdout(&login).contains(&format!("'system:serviceaccount:{ns}:viewer' logged in")),
        "{}",
        stdout(&login)
    );
    // The watches list first: until then the server answers 503.
    driftless_testkit::wait_until(TIMEOUT, "the projects are served", || async {
        Ok(cli
            .run(&["proj", "list"])
            .await
            .ok()
            .filter(|o| o.status.success()))
    })
    .await?;
    let projects = stdout(&cli.expect(&["proj", "list"], 0).await?);
    assert!(
        projects
            .lines()
            .any(|l| l.starts_with("shop") && l.contains("the shop")),
        "{projects}"
    );
    let shop: Value = serde_json::from_slice(
        &cli.expect(&["proj", "get", "shop", "-o", "json"], 0)
            .await?
            .stdout,
    )?;
    assert_eq!(shop["spec"]["description"], "the shop");
    let appsets = stdout(&cli.expect(&["appset", "list"], 0).await?);
    assert!(
        appsets.starts_with("NAME") && appsets.lines().count() == 1,
        "{appsets}"
    );
    cli.expect(&["appset", "get", "nothing"], 5).await?;
    let contexts = stdout(&cli.expect(&["context"], 0).await?);
    assert!(
        contexts
            .lines()
            .any(|l| l.starts_with('*') && l.contains(&format!("https://{server}"))),
        "{contexts}"
    );
    task.abort();
    Ok(())
}
