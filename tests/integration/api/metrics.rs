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
        "driftless_kubernetes_requests_total COUNTER",
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

    // The controllers' own requests, named as the API server names them: the sync applied the
    // ConfigMap, the status went out as a patch.
    let requests = |verb: &str, resource: &str| {
        let labels = format!("{{dry_run=\"false\",resource=\"{resource}\",verb=\"{verb}\"}} ");
        text.lines().any(|l| {
            l.strip_prefix("driftless_kubernetes_requests_total")
                .and_then(|l| l.strip_prefix(labels.as_str()))
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n > 0)
        })
    };
    assert!(requests("apply", "configmaps"), "{text}");
    assert!(requests("patch", "applications/status"), "{text}");
    assert!(requests("watch", "applications"), "{text}");

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

/// `serve --metrics-listen`: Prometheus scrapes with a ServiceAccount token; the cluster's own
/// RBAC (the non-resource URL `/metrics`) decides who may, as for Kubernetes' components.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_listener_serves_whom_the_clusters_rbac_allows_and_no_one_else()
-> anyhow::Result<()> {
    use driftless_server::metrics_listener::{MetricsListener, MetricsText};
    use k8s_openapi::api::core::v1::ServiceAccount;
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
    use kube::api::{DeleteParams, PostParams};

    let mut env = Gitops::new("metrics-listen").await?;
    let (_, handle) = env.spawn(|_| {}).await?;
    let (ns, admin) = (env.ns.name.clone(), env.ns.client.clone());
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), &ns);
    for account in ["scraper", "stranger"] {
        accounts
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": account}}))?,
            )
            .await?;
    }
    // Cluster-scoped: named after the namespace, removed at the end.
    let roles: Api<ClusterRole> = Api::all(admin.clone());
    let bindings: Api<ClusterRoleBinding> = Api::all(admin.clone());
    let grant = format!("{ns}-scrape");
    roles
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": grant},
                "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]}))?,
        )
        .await?;
    bindings
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": grant},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": grant},
                "subjects": [{"kind": "ServiceAccount", "name": "scraper", "namespace": ns}]}))?,
        )
        .await?;

    let text: MetricsText = std::sync::Arc::new(move || handle.metrics_text());
    let listener = MetricsListener::bind("127.0.0.1:0".parse()?, admin.clone(), text).await?;
    let url = format!("http://{}/metrics", listener.local_addr().expect("bound"));
    let serving = tokio::spawn(listener.run());
    let http = reqwest::Client::new();
    let scrape = |token: Option<String>| {
        let request = http.get(&url);
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        async move {
            let response = request.send().await?;
            anyhow::Ok((response.status().as_u16(), response.text().await?))
        }
    };
    let scraper = driftless_testkit::service_account_token(&admin, &ns, "scraper", None).await?;
    let stranger = driftless_testkit::service_account_token(&admin, &ns, "stranger", None).await?;

    // RBAC takes a moment to reach the authorizer's cache: wait for the grant to count.
    let text = driftless_testkit::wait_until(TIMEOUT, "a scrape with the granted token", || {
        let scrape = scrape(Some(scraper.clone()));
        async move {
            let (status, body) = scrape.await?;
            Ok((status == 200).then_some(body))
        }
    })
    .await?;
    assert!(
        text.lines()
            .any(|l| l.starts_with("driftless_kubernetes_requests_total{")),
        "the controller's metrics:\n{text}"
    );
    let (status, body) = scrape(Some(stranger)).await?;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains(&format!("system:serviceaccount:{ns}:stranger")),
        "{body}"
    );
    let (status, body) = scrape(None).await?;
    assert_eq!(status, 401, "{body}");
    let (status, body) = scrape(Some("not-a-token".into())).await?;
    assert_eq!(status, 401, "{body}");

    serving.abort();
    bindings.delete(&grant, &DeleteParams::default()).await?;
    roles.delete(&grant, &DeleteParams::default()).await?;
    Ok(())
}
