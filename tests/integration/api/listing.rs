//! Listing with filters and pages, and the live stream, for an admin.

use super::*;
use futures::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_pages_and_filters_and_the_stream_shows_changes() -> anyhow::Result<()> {
    let api = ApiEnv::start("api-list", Config::default().user("admin", "admin-pw")).await?;
    let (env, ns) = (&api.env, api.env.ns.name.clone());
    env.repo.write("app/settings.yaml", settings("hello"));
    env.repo.commit("v1");
    let url = env.repo.file_url();
    env.apply(&project("shop", &ns, "")).await?;
    let names: Vec<String> = (1..=5).map(|i| env.name(&format!("app{i}"))).collect();
    for (i, name) in names.iter().enumerate() {
        let project = if i < 3 { "shop" } else { "default" };
        let labels = format!(
            "  labels: {{tier: {}}}\n",
            if i % 2 == 0 { "front" } else { "back" }
        );
        env.apply_app(&app_in(project, name, &ns, &url, "", &labels))
            .await?;
    }
    let admin = api.login("admin", "admin-pw").await?;
    let listed = |query: String| {
        let api = &api;
        let admin = admin.clone();
        async move {
            let (status, body) = api
                .get(&format!("/api/v1/applications{query}"), &admin)
                .await?;
            anyhow::ensure!(status == 200, "{status} {body}");
            let names: Vec<String> = body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["metadata"]["name"].as_str().map(String::from))
                .collect();
            anyhow::Ok((names, body["metadata"].clone()))
        }
    };
    driftless_testkit::wait_until(TIMEOUT, "the five apps are listed", || async {
        Ok((listed(String::new()).await?.0.len() == 5).then_some(()))
    })
    .await?;

    let (first, meta) = listed("?limit=2".into()).await?;
    assert_eq!(first, names[..2]);
    assert_eq!(
        (
            meta["remainingItemCount"].as_u64(),
            meta["totalItemCount"].as_u64()
        ),
        (Some(3), Some(5))
    );
    let token = meta["continue"].as_str().unwrap_or_default().to_string();
    let (second, _) = listed(format!("?limit=2&continue={token}")).await?;
    assert_eq!(second, names[2..4]);
    assert_eq!(listed("?projects=shop".into()).await?.0, names[..3]);
    assert_eq!(
        listed("?selector=tier%3Dfront".into()).await?.0,
        [names[0].clone(), names[2].clone(), names[4].clone()]
    );
    assert_eq!(
        listed("?projects=shop&selector=tier%3Dback".into())
            .await?
            .0,
        [names[1].clone()]
    );
    assert_eq!(
        listed(format!("?search={}", "APP4")).await?.0,
        [names[3].clone()]
    );
    env.wait_app(&names[0], "compared", |a| sync_of(a) == "OutOfSync")
        .await?;
    // The server's list follows its own watch, a moment behind the read above.
    driftless_testkit::wait_until(
        std::time::Duration::from_secs(30),
        "the list to show the app OutOfSync",
        || async {
            let (out_of_sync, _) = listed("?sync=OutOfSync".into()).await?;
            Ok(out_of_sync.contains(&names[0]).then_some(()))
        },
    )
    .await?;
    let (status, body) = api
        .get("/api/v1/applications?selector=tier%20in%20front", &admin)
        .await?;
    assert_eq!(status, 400, "{body}");

    // The stream shows a change made after it opened.
    let response = api
        .http
        .get(format!(
            "{}/api/v1/stream/applications?name={}",
            api.base, names[1]
        ))
        .bearer_auth(&admin)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    env.apps()
        .patch(
            &names[1],
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"labels": {"marked": "yes"}}})),
        )
        .await?;
    let seen = tokio::time::timeout(TIMEOUT, async {
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk?));
            if text.contains("\"marked\":\"yes\"") {
                return anyhow::Ok(text);
            }
        }
        anyhow::bail!("the stream ended: {text}")
    })
    .await??;
    assert!(
        seen.contains("\"type\":\"MODIFIED\"") && !seen.contains(&names[2]),
        "{seen}"
    );
    Ok(())
}
