//! Prints how the web UI's application list behaves at 10,000 Applications, in headless
//! Chromium (driftless_testkit::webdriver) against the API server on loopback (the apps and the
//! server as list_bench makes them: no controller). Each run is a cold load of
//! /ui/applications (cache disabled): first and largest contentful paint, and when the first
//! page of rows is in the DOM and painted; then, for BENCH_UI_SECONDS (20), a writer patches the
//! status of 50 apps a second through the Kubernetes API (status subresource, merge patch: sync
//! and health flipping, a new revision each time), one in five on a row the page shows, while
//! the page is probed with clicks at random moments (from when each was due to the next
//! animation frame) and its long tasks are recorded; every revision written to a shown row is
//! looked for in the DOM. The page's figures come from its performance timeline, read by a
//! script (ui_bench.js) the DevTools protocol installs in every new document.
//! `cargo run --release -p driftless-server --example ui_bench` (BENCH_UI_APPS: 10000,
//! BENCH_UI_RUNS: 5). A benchmark: it prints figures, it does not judge them.

mod common;

use driftless_testkit::webdriver::{Browser, ENTER};
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};
use rand::Rng;
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant, SystemTime};

const PROBE: &str = include_str!("ui_bench.js");
const WRITES_PER_SECOND: u64 = 50;
/// One write in this many goes to a row the page shows.
const SHOWN_EVERY: u64 = 5;
/// How long after the last write a change may take to reach the page and still count.
const SETTLE: Duration = Duration::from_secs(3);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let apps = common::app_count("BENCH_UI_APPS");
    let client = kube::Client::try_default().await?;
    common::with_apps(&client, "ui-bench", apps, async |namespace| {
        run(&client, namespace, apps).await
    })
    .await
}

fn setting(variable: &str, default: u64) -> u64 {
    std::env::var(variable)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

async fn run(client: &kube::Client, namespace: &str, apps: usize) -> anyhow::Result<()> {
    let runs = setting("BENCH_UI_RUNS", 5) as usize;
    let stream_for = Duration::from_secs(setting("BENCH_UI_SECONDS", 20));
    let quiet_for = Duration::from_secs(setting("BENCH_UI_QUIET_SECONDS", 10));
    let server = common::serve(client, namespace, apps).await?;
    let browser = Browser::start(false).await?;
    browser.cdp("Network.enable", json!({})).await?;
    browser
        .cdp("Network.setCacheDisabled", json!({"cacheDisabled": true}))
        .await?;
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": PROBE}),
        )
        .await?;
    log_in(&browser, &server.base).await?;
    let api = common::applications(client, namespace);

    let mut loads = Vec::new();
    let mut streams = Vec::new();
    for run in 0..runs {
        browser.goto("about:blank").await?;
        browser
            .goto(&format!("{}/ui/applications", server.base))
            .await?;
        let load = measure_load(&browser).await?;
        let stream = measure_stream(
            &browser,
            &api,
            &load.shown,
            apps,
            run,
            (quiet_for, stream_for),
        )
        .await?;
        eprintln!(
            "run {}: rows painted at {:.0} ms; {} of {} changes to shown rows reached the page; {} long tasks; slowest click {:.0} ms",
            run + 1,
            load.rows_painted,
            stream.reached,
            stream.shown_writes,
            stream.long_tasks.len(),
            stream.inputs.iter().copied().fold(0.0, f64::max),
        );
        loads.push(load);
        streams.push(stream);
    }
    print_table(apps, runs, (quiet_for, stream_for), &loads, &streams);
    Ok(())
}

/// Logs in as admin through the form; the session cookie then serves every run.
async fn log_in(browser: &Browser, base: &str) -> anyhow::Result<()> {
    browser.goto(&format!("{base}/ui/login")).await?;
    browser.type_into("#username", "admin").await?;
    browser.type_into("#password", common::PASSWORD).await?;
    browser.type_into("#password", ENTER).await?;
    browser
        .wait_text("#who-name", "the signed-in user's name", |t| {
            t.contains("admin")
        })
        .await?;
    Ok(())
}

/// A cold load's figures, in ms from the start of the navigation.
struct Load {
    first_contentful_paint: f64,
    largest_contentful_paint: f64,
    list_sent: f64,
    list_answered: f64,
    rows_in_dom: f64,
    rows_painted: f64,
    long_tasks: usize,
    /// The apps the first page shows.
    shown: Vec<String>,
}

async fn measure_load(browser: &Browser) -> anyhow::Result<Load> {
    driftless_testkit::wait_until(
        Duration::from_secs(120),
        "the first page of rows painted",
        || async {
            let painted = browser
                .script(
                    "return window.driftlessBench ? window.driftlessBench.rowsPaintedAt : null;",
                    json!([]),
                )
                .await?;
            Ok(painted.as_f64())
        },
    )
    .await?;
    // The largest contentful paint is reported a little after the frame it happened in.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let figures = browser
        .script(
            r##"const bench = window.driftlessBench;
            const paint = performance.getEntriesByType("paint").find((e) => e.name === "first-contentful-paint");
            const list = performance.getEntriesByType("resource").find((e) => e.name.includes("/api/v1/applications?"));
            return {
              fcp: paint ? paint.startTime : null,
              lcp: bench.lcp,
              listSent: list ? list.startTime : null,
              listAnswered: list ? list.responseEnd : null,
              rows: bench.rowsAt,
              painted: bench.rowsPaintedAt,
              longTasks: bench.longTasks.filter(([start]) => start < bench.rowsPaintedAt).length,
              shown: [...document.querySelectorAll("#apps tr[data-app]")].map((row) => row.dataset.app),
            };"##,
            json!([]),
        )
        .await?;
    let ms = |key: &str| figures[key].as_f64().unwrap_or(f64::NAN);
    Ok(Load {
        first_contentful_paint: ms("fcp"),
        largest_contentful_paint: ms("lcp"),
        list_sent: ms("listSent"),
        list_answered: ms("listAnswered"),
        rows_in_dom: ms("rows"),
        rows_painted: ms("painted"),
        long_tasks: figures["longTasks"].as_u64().unwrap_or_default() as usize,
        shown: serde_json::from_value(figures["shown"].clone())?,
    })
}

/// What the page did while status changes streamed in.
struct Stream {
    writes: usize,
    failed_writes: usize,
    writes_per_second: f64,
    /// Durations (ms) of the long tasks.
    long_tasks: Vec<f64>,
    /// The probe clicks' waits and the long tasks before the writer started.
    quiet_inputs: Vec<f64>,
    quiet_long_tasks: Vec<f64>,
    /// How long (ms) the page's handler of each stream event ran.
    handlers: Vec<f64>,
    /// Each frame over 50 ms: its duration and the part of it scripts ran (ms).
    long_frames: Vec<(f64, f64)>,
    /// Each probe click's wait (ms) from when it was due to the next animation frame.
    inputs: Vec<f64>,
    shown_writes: usize,
    reached: usize,
    /// For each change that reached a shown row: ms from sending the patch to the row changing.
    latencies: Vec<f64>,
    /// How often the page read the list again (after the stream told it it had lagged).
    list_reads: usize,
}

/// One status patch the writer sent.
struct Written {
    revision: String,
    shown: bool,
    /// Epoch ms when the patch was sent.
    sent: f64,
    ok: bool,
}

async fn measure_stream(
    browser: &Browser,
    api: &Api<DynamicObject>,
    shown: &[String],
    apps: usize,
    run: usize,
    (quiet_for, stream_for): (Duration, Duration),
) -> anyhow::Result<Stream> {
    anyhow::ensure!(!shown.is_empty(), "the page shows no rows");
    browser
        .script("window.driftlessBench.startProbing();", json!([]))
        .await?;
    // The same probes on the quiet page first: what the machine alone costs.
    tokio::time::sleep(quiet_for).await;
    browser
        .script(
            "window.driftlessBench.writingFrom = performance.now();",
            json!([]),
        )
        .await?;
    let started = Instant::now();
    let written = write_changes(api, shown, apps, run, stream_for).await;
    let writing = started.elapsed();
    browser
        .script("window.driftlessBench.probing = false;", json!([]))
        .await?;
    tokio::time::sleep(SETTLE).await;
    let page = browser
        .script(
            r##"const bench = window.driftlessBench;
            const quiet = ([start]) => start >= bench.streamFrom && start < bench.writingFrom;
            const writing = ([start]) => start >= bench.writingFrom;
            return {
              quietLongTasks: bench.longTasks.filter(quiet).map(([, d]) => d),
              longTasks: bench.longTasks.filter(writing).map(([, d]) => d),
              quietInputs: bench.inputs.filter(quiet).map(([, wait]) => wait),
              inputs: bench.inputs.filter(writing).map(([, wait]) => wait),
              handlers: bench.handlers,
              frames: bench.frames.filter(writing).map(([, d, scripts]) => [d, scripts]),
              revisions: bench.revisions,
              listReads: performance.getEntriesByType("resource")
                .filter((e) => e.name.includes("/api/v1/applications?")).length - 1,
            };"##,
            json!([]),
        )
        .await?;
    let seen: BTreeMap<String, f64> = serde_json::from_value(page["revisions"].clone())?;
    let shown_writes: Vec<&Written> = written.iter().filter(|w| w.shown && w.ok).collect();
    let latencies: Vec<f64> = shown_writes
        .iter()
        .filter_map(|w| seen.get(&w.revision).map(|at| at - w.sent))
        .collect();
    let ok = written.iter().filter(|w| w.ok).count();
    Ok(Stream {
        writes: written.len(),
        failed_writes: written.len() - ok,
        writes_per_second: ok as f64 / writing.as_secs_f64(),
        long_tasks: serde_json::from_value(page["longTasks"].clone())?,
        inputs: serde_json::from_value(page["inputs"].clone())?,
        quiet_inputs: serde_json::from_value(page["quietInputs"].clone())?,
        quiet_long_tasks: serde_json::from_value(page["quietLongTasks"].clone())?,
        handlers: serde_json::from_value(page["handlers"].clone())?,
        long_frames: serde_json::from_value(page["frames"].clone())?,
        shown_writes: shown_writes.len(),
        reached: latencies.len(),
        latencies,
        list_reads: page["listReads"].as_u64().unwrap_or_default() as usize,
    })
}

/// Patches the status of WRITES_PER_SECOND apps a second for `stream_for`: every
/// SHOWN_EVERY-th a shown row's app (in turn), the others any app the page does not show.
async fn write_changes(
    api: &Api<DynamicObject>,
    shown: &[String],
    apps: usize,
    run: usize,
    stream_for: Duration,
) -> Vec<Written> {
    let on_page: HashSet<&String> = shown.iter().collect();
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / WRITES_PER_SECOND));
    let mut writes = tokio::task::JoinSet::new();
    let end = Instant::now() + stream_for;
    let mut sequence: u64 = 0;
    while Instant::now() < end {
        tick.tick().await;
        let to_shown = sequence.is_multiple_of(SHOWN_EVERY);
        let name = if to_shown {
            shown[(sequence / SHOWN_EVERY) as usize % shown.len()].clone()
        } else {
            loop {
                let name = format!("app-{:05}", rand::rng().random_range(0..apps));
                if !on_page.contains(&name) || on_page.len() >= apps {
                    break name;
                }
            }
        };
        // Unique per write, so each change can be found in the page.
        let revision = format!("b{run:03x}{sequence:036x}");
        let mut random = rand::rng();
        let sync = if random.random_bool(0.5) {
            "Synced"
        } else {
            "OutOfSync"
        };
        let health = if random.random_bool(0.5) {
            "Healthy"
        } else {
            "Degraded"
        };
        let patch = json!({"status": {"sync": {"status": sync, "revision": revision},
                                      "health": {"status": health}}});
        let api = api.clone();
        writes.spawn(async move {
            let sent = epoch_ms();
            let ok = api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .is_ok();
            Written {
                revision,
                shown: to_shown,
                sent,
                ok,
            }
        });
        sequence += 1;
    }
    let mut written = Vec::new();
    while let Some(done) = writes.join_next().await {
        if let Ok(write) = done {
            written.push(write);
        }
    }
    written
}

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The median and the largest of `values` (NaN when there are none).
fn median_max(mut values: Vec<f64>) -> (f64, f64) {
    values.retain(|v| !v.is_nan());
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[values.len() - 1])
}

/// The run's longest frame over 50 ms and the part of it scripts ran (zeros if none).
fn longest_frame(stream: &Stream) -> (f64, f64) {
    stream
        .long_frames
        .iter()
        .copied()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or_default()
}

/// The `p`th percentile of the probe clicks' waits `figure` picks.
fn percentile(streams: &[Stream], figure: fn(&Stream) -> &[f64], p: usize) -> f64 {
    let mut waits: Vec<f64> = streams.iter().flat_map(|s| figure(s).to_vec()).collect();
    waits.sort_by(f64::total_cmp);
    waits
        .get((waits.len() * p / 100).min(waits.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

fn print_table(
    apps: usize,
    runs: usize,
    (quiet_for, stream_for): (Duration, Duration),
    loads: &[Load],
    streams: &[Stream],
) {
    let load = |figure: fn(&Load) -> f64| median_max(loads.iter().map(figure).collect());
    let stream = |figure: fn(&Stream) -> f64| median_max(streams.iter().map(figure).collect());
    // For a figure where less is worse, the worst is the smallest.
    let lowest = |figure: fn(&Stream) -> f64| {
        let worst = streams.iter().map(figure).fold(f64::INFINITY, f64::min);
        (stream(figure).0, worst)
    };
    let all = |figure: fn(&Stream) -> &[f64]| {
        median_max(streams.iter().flat_map(|s| figure(s).to_vec()).collect())
    };
    let rate = WRITES_PER_SECOND.to_string();
    let twice = |figure: f64| (figure, figure);
    let rows = [
        (
            "first contentful paint, ms",
            "",
            load(|l| l.first_contentful_paint),
        ),
        (
            "largest contentful paint, ms",
            "",
            load(|l| l.largest_contentful_paint),
        ),
        ("list request sent, ms", "", load(|l| l.list_sent)),
        ("list request answered, ms", "", load(|l| l.list_answered)),
        (
            "first page of rows in the DOM, ms",
            "",
            load(|l| l.rows_in_dom),
        ),
        (
            "first page of rows painted, ms",
            "< 1000",
            load(|l| l.rows_painted),
        ),
        (
            "long tasks until then, per load",
            "",
            load(|l| l.long_tasks as f64),
        ),
        (
            "status writes a second reached",
            &rate,
            lowest(|s| s.writes_per_second),
        ),
        (
            "failed writes, per run",
            "0",
            stream(|s| s.failed_writes as f64),
        ),
        (
            "long tasks while streaming, per run",
            "",
            stream(|s| s.long_tasks.len() as f64),
        ),
        (
            "their total, ms per run",
            "",
            stream(|s| s.long_tasks.iter().fold(0.0, |sum, d| sum + d)),
        ),
        (
            "longest task while streaming, ms",
            "< 50",
            stream(|s| s.long_tasks.iter().copied().fold(0.0, f64::max)),
        ),
        (
            "longest frame while streaming, ms",
            "",
            stream(|s| longest_frame(s).0),
        ),
        ("of it, scripts, ms", "", stream(|s| longest_frame(s).1)),
        (
            "stream event handled in, ms (all events)",
            "",
            all(|s| &s.handlers),
        ),
        (
            "click due → next frame, ms (all clicks)",
            "< 100",
            all(|s| &s.inputs),
        ),
        (
            "click due → next frame, 95th percentile, ms",
            "< 100",
            twice(percentile(streams, |s| &s.inputs, 95)),
        ),
        (
            "quiet page (no writes): long tasks, per run",
            "",
            stream(|s| s.quiet_long_tasks.len() as f64),
        ),
        (
            "quiet page: click due → next frame, ms",
            "",
            all(|s| &s.quiet_inputs),
        ),
        (
            "quiet page: click due → next frame, 95th percentile, ms",
            "",
            twice(percentile(streams, |s| &s.quiet_inputs, 95)),
        ),
        (
            "changes to shown rows that reached the DOM, % per run",
            "100",
            lowest(|s| 100.0 * s.reached as f64 / s.shown_writes.max(1) as f64),
        ),
        (
            "patch sent → row changed, ms (all changes)",
            "",
            all(|s| &s.latencies),
        ),
        (
            "list read again (the stream lagged), per run",
            "0",
            stream(|s| s.list_reads as f64),
        ),
    ];
    println!(
        "Web UI application list at {apps} Applications, {runs} cold loads of /ui/applications, each followed by {} s on the quiet page and {} s of {WRITES_PER_SECOND} status changes a second (1 in {SHOWN_EVERY} on a shown row)",
        quiet_for.as_secs(),
        stream_for.as_secs()
    );
    println!("| figure | goal | median | worst |");
    println!("|---|---|---|---|");
    for (label, goal, (median, worst)) in rows {
        println!("| {label} | {goal} | {median:.1} | {worst:.1} |");
    }
    let writes: usize = streams.iter().map(|s| s.writes).sum();
    let clicks: usize = streams.iter().map(|s| s.inputs.len()).sum();
    println!("({writes} status writes, {clicks} probe clicks in all)");
}
