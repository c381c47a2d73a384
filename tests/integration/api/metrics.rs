//! `GET /metrics` against the real API server and controller: the text parses and lints
//! clean with Prometheus's own parser and linter (hack/promlint, what `promtool check
//! metrics` runs), carries Argo CD's metric names and labels for an app that synced, and is
//! shown only to a caller who may read every application.

use super::*;

/// Runs hack/promlint over `text`: its exit status and output.
fn promlint(text: &str) -> anyhow::Result<(bool, String)> {
    use std::io::Write;
    let binary = driftless_testkit::built_tool("promlint")
        .ok_or_else(|| anyhow::anyhow!("promlint is not built: run hack/build-tools"))?;
    let mut child = std::process::Command::new(binary)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?
        .write_all(text.as_bytes())?;
    let out = child.wait_with_output()?;
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), printed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_lint_clean_and_carry_argo_cds_names() -> anyhow::Result<()> {
    let config = Config::default()
        .user("admin", "admin-pw")
        .user("team", "team-pw")
        .rbac(
            "policy.csv",
            "p, team, applications, get, default/*, allow\n",
        );
    let api = ApiEnv::start("api-metrics", config).await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    env.repo.write("app/settings.yaml", settings("hello"));
    env.repo.commit("first");
    let url = env.repo.file_url();
    let name = env.name("shop");
    env.apply_app(&app_in("default", &name, &ns, &url, AUTOMATED, ""))
        .await?;
    env.wait_synced_healthy(&name).await?;
    let admin = api.login("admin", "admin-pw").await?;

    let scrape = || async {
        let response = api
            .http
            .get(format!("{}/metrics", api.base))
            .bearer_auth(&admin)
            .send()
            .await?;
        anyhow::ensure!(response.status() == 200, "/metrics: {}", response.status());
        anyhow::Ok(response.text().await?)
    };
    let info = format!("name=\"{name}\"");
    let text = driftless_testkit::wait_until(TIMEOUT, "the app's metrics", || async {
        let text = scrape().await?;
        let synced = text.lines().any(|l| {
            l.starts_with("argocd_app_info{")
                && l.contains(&info)
                && l.contains("sync_status=\"Synced\"")
                && l.contains("health_status=\"Healthy\"")
                && l.ends_with(" 1")
        });
        let counted = text.lines().any(|l| {
            l.starts_with("argocd_app_sync_total{")
                && l.contains(&info)
                && l.contains("phase=\"Succeeded\"")
        });
        Ok((synced && counted).then_some(text))
    })
    .await?;
    let (clean, report) = promlint(&text)?;
    assert!(clean, "promlint:\n{report}\n--- metrics\n{text}");
    for family in [
        "argocd_app_info GAUGE",
        "argocd_app_sync_total COUNTER",
        "argocd_app_reconcile HISTOGRAM",
        "argocd_git_request_total COUNTER",
        "argocd_git_request_duration_seconds HISTOGRAM",
        "driftless_render_cache_requests_total COUNTER",
        "argocd_cluster_api_resource_objects GAUGE",
    ] {
        assert!(
            report.lines().any(|l| l.starts_with(family)),
            "{family}:\n{report}"
        );
    }
    let repo = format!("repo=\"{url}\"");
    assert!(
        text.lines()
            .any(|l| l.starts_with("argocd_git_request_total{") && l.contains(&repo)),
        "{text}"
    );

    // The metrics name every app: a role limited to one project may not read them.
    let team = api.login("team", "team-pw").await?;
    let (status, body) = api.get("/metrics", &team).await?;
    assert_eq!(status, 403, "{body}");
    let (status, _) = api
        .call(reqwest::Method::GET, "/metrics", None, None)
        .await?;
    assert_eq!(status, 401);
    Ok(())
}
