//! The controller's metrics, in Prometheus's text format, under Argo CD's names and labels
//! where Argo CD has the metric (so its dashboards and alerts keep working) and `driftless_`
//! names for the rest. Counters and histograms are updated as things happen; the
//! per-application gauges follow each status the controller writes.

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Argo CD's reconcile buckets, in seconds.
const RECONCILE_BUCKETS: [f64; 9] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
const GIT_BUCKETS: [f64; 8] = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 20.0];

const APP_INFO_LABELS: [&str; 10] = [
    "name",
    "namespace",
    "project",
    "repo",
    "dest_server",
    "dest_namespace",
    "sync_status",
    "health_status",
    "operation",
    "autosync_enabled",
];

/// What `argocd_app_info` says about one app.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppInfo {
    pub name: String,
    pub namespace: String,
    pub project: String,
    pub repo: String,
    pub dest_server: String,
    pub dest_namespace: String,
    pub sync_status: String,
    pub health_status: String,
    /// The running operation's kind (`sync`), empty when none runs.
    pub operation: String,
    pub autosync: bool,
}

impl AppInfo {
    /// The app's labels under `status` (the one being written).
    pub fn of(
        app: &driftless_model::Application,
        status: &driftless_model::ApplicationStatus,
    ) -> Self {
        let running = status
            .operation_state
            .as_ref()
            .is_some_and(|op| !op.phase.is_completed());
        AppInfo {
            name: app.metadata.name.clone().unwrap_or_default(),
            namespace: app.metadata.namespace.clone().unwrap_or_default(),
            project: driftless_decisions::validate::project_name(app).to_string(),
            repo: app
                .sources()
                .first()
                .map(|s| driftless_source::redact_url(&s.repo_url))
                .unwrap_or_default(),
            dest_server: app.spec.destination.server.clone().unwrap_or_default(),
            dest_namespace: app.spec.destination.namespace.clone().unwrap_or_default(),
            sync_status: status
                .sync
                .as_ref()
                .map(|s| s.status.to_string())
                .unwrap_or_default(),
            health_status: status
                .health
                .as_ref()
                .and_then(|h| h.status.as_ref())
                .map(ToString::to_string)
                .unwrap_or_default(),
            operation: if running {
                "sync".to_string()
            } else {
                String::new()
            },
            autosync: app
                .spec
                .sync_policy
                .as_ref()
                .is_some_and(|p| p.automated.is_some()),
        }
    }

    fn labels(&self) -> [&str; 10] {
        [
            &self.name,
            &self.namespace,
            &self.project,
            &self.repo,
            &self.dest_server,
            &self.dest_namespace,
            &self.sync_status,
            &self.health_status,
            &self.operation,
            if self.autosync { "true" } else { "false" },
        ]
    }
}

pub struct Metrics {
    registry: Registry,
    app_info: IntGaugeVec,
    sync_total: IntCounterVec,
    reconcile: HistogramVec,
    git_requests: IntCounterVec,
    git_duration: HistogramVec,
    loop_trips: IntCounterVec,
    guard_findings: IntGaugeVec,
    render_cache: IntCounterVec,
    live_objects: IntGaugeVec,
    audit_length: IntGauge,
    audit_unwritten: IntCounter,
    shards_held: IntGauge,
    shard_moves: IntCounterVec,
    /// The `argocd_app_info` labels last set per app key, to drop the series they replace.
    shown: Mutex<HashMap<String, AppInfo>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        // The names and label sets are constants: building them cannot fail.
        #[allow(clippy::expect_used)]
        fn made<T>(metric: prometheus::Result<T>) -> T {
            metric.expect("a constant metric definition")
        }
        let app_info = made(IntGaugeVec::new(
            Opts::new("argocd_app_info", "Information about the application"),
            &APP_INFO_LABELS,
        ));
        let sync_total = made(IntCounterVec::new(
            Opts::new("argocd_app_sync_total", "Number of application syncs"),
            &[
                "name",
                "namespace",
                "project",
                "phase",
                "dest_server",
                "dry_run",
            ],
        ));
        let reconcile = made(HistogramVec::new(
            HistogramOpts::new(
                "argocd_app_reconcile",
                "Application reconciliation performance in seconds",
            )
            .buckets(RECONCILE_BUCKETS.to_vec()),
            &["namespace", "dest_server"],
        ));
        let git_requests = made(IntCounterVec::new(
            Opts::new(
                "argocd_git_request_total",
                "Number of git requests performed",
            ),
            &["repo", "request_type"],
        ));
        let git_duration = made(HistogramVec::new(
            HistogramOpts::new(
                "argocd_git_request_duration_seconds",
                "Git requests duration",
            )
            .buckets(GIT_BUCKETS.to_vec()),
            &["repo", "request_type"],
        ));
        let loop_trips = made(IntCounterVec::new(
            Opts::new(
                "driftless_sync_loop_trips_total",
                "Objects taken out of automated sync because another writer kept undoing it",
            ),
            &["name", "namespace"],
        ));
        let guard_findings = made(IntGaugeVec::new(
            Opts::new(
                "driftless_guard_findings",
                "Guard findings on the application's rendered objects",
            ),
            &["name", "namespace", "severity"],
        ));
        let render_cache = made(IntCounterVec::new(
            Opts::new(
                "driftless_render_cache_requests_total",
                "Renders answered from the render cache (hit) or rendered (miss)",
            ),
            &["result"],
        ));
        let live_objects = made(IntGaugeVec::new(
            Opts::new(
                "argocd_cluster_api_resource_objects",
                "Number of k8s resource objects in the cache",
            ),
            &["server", "name"],
        ));
        let audit_length = made(IntGauge::with_opts(Opts::new(
            "driftless_audit_chain_length",
            "Entries in the audit log's hash chain (the sequence number of its head)",
        )));
        let audit_unwritten = made(IntCounter::with_opts(Opts::new(
            "driftless_audit_records_unwritten_total",
            "Audit records that could not be queued or written (each is also logged)",
        )));
        let shards_held = made(IntGauge::with_opts(Opts::new(
            "driftless_shard_leases_held",
            "Shard Leases this replica holds (--shard-leases)",
        )));
        let shard_moves = made(IntCounterVec::new(
            Opts::new(
                "driftless_shard_lease_moves_total",
                "Shard Leases this replica claimed, released, or lost (not renewed in time)",
            ),
            &["move"],
        ));
        for collector in [
            Box::new(app_info.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(sync_total.clone()),
            Box::new(reconcile.clone()),
            Box::new(git_requests.clone()),
            Box::new(git_duration.clone()),
            Box::new(loop_trips.clone()),
            Box::new(guard_findings.clone()),
            Box::new(render_cache.clone()),
            Box::new(live_objects.clone()),
            Box::new(audit_length.clone()),
            Box::new(audit_unwritten.clone()),
            Box::new(shards_held.clone()),
            Box::new(shard_moves.clone()),
            Box::new(crate::runtime::kube_requests::KUBERNETES_REQUESTS.clone()),
        ] {
            // Distinct names: registering cannot collide.
            let _ = registry.register(collector);
        }
        Self {
            registry,
            app_info,
            sync_total,
            reconcile,
            git_requests,
            git_duration,
            loop_trips,
            guard_findings,
            render_cache,
            live_objects,
            audit_length,
            audit_unwritten,
            shards_held,
            shard_moves,
            shown: Mutex::new(HashMap::new()),
        }
    }

    /// The audit chain's head is now entry `seq`.
    pub fn audit_chain_length(&self, seq: u64) {
        self.audit_length
            .set(i64::try_from(seq).unwrap_or(i64::MAX));
    }

    /// `count` audit records were lost (a full queue, a store that kept failing).
    pub fn audit_unwritten(&self, count: u64) {
        self.audit_unwritten.inc_by(count);
    }

    /// This replica holds `count` shard Leases now.
    pub fn shards_held(&self, count: usize) {
        self.shards_held
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// A shard Lease was `claimed`, `released` or `lost`.
    pub fn shard_moved(&self, kind: &str) {
        self.shard_moves.with_label_values(&[kind]).inc();
    }

    /// `argocd_app_info` for the app `key` is now `info` (its previous series is dropped).
    pub fn app_info(&self, key: &str, info: AppInfo) {
        let mut shown = crate::runtime::mutex::lock(&self.shown);
        if let Some(previous) = shown.get(key) {
            if previous == &info {
                return;
            }
            let _ = self.app_info.remove_label_values(&previous.labels());
        }
        self.app_info.with_label_values(&info.labels()).set(1);
        shown.insert(key.to_string(), info);
    }

    /// The app `key` is gone: its per-app series go too.
    pub fn forget_app(&self, key: &str) {
        if let Some(previous) = crate::runtime::mutex::lock(&self.shown).remove(key) {
            let _ = self.app_info.remove_label_values(&previous.labels());
            for severity in ["error", "warning"] {
                let _ = self.guard_findings.remove_label_values(&[
                    previous.name.as_str(),
                    previous.namespace.as_str(),
                    severity,
                ]);
            }
        }
    }

    /// What a status write means for the metrics: the app's info series, a sync that ended,
    /// a loop breaker that tripped.
    pub fn status_written(
        &self,
        key: &str,
        app: &driftless_model::Application,
        old: &driftless_model::ApplicationStatus,
        new: &driftless_model::ApplicationStatus,
    ) {
        let info = AppInfo::of(app, new);
        if let Some(op) = driftless_decisions::events::completed_run(old, new) {
            let dry_run = op
                .operation
                .sync
                .as_ref()
                .and_then(|s| s.dry_run)
                .unwrap_or(false);
            self.sync_ended(&info, &op.phase.to_string(), dry_run);
        }
        for _ in driftless_decisions::events::sync_loops_tripped(old, new) {
            self.loop_tripped(&info.name, &info.namespace);
        }
        self.app_info(key, info);
    }

    /// A sync operation ended with `phase`.
    pub fn sync_ended(&self, info: &AppInfo, phase: &str, dry_run: bool) {
        self.sync_total
            .with_label_values(&[
                info.name.as_str(),
                info.namespace.as_str(),
                info.project.as_str(),
                phase,
                info.dest_server.as_str(),
                if dry_run { "true" } else { "false" },
            ])
            .inc();
    }

    pub fn reconciled(&self, namespace: &str, dest_server: &str, took: Duration) {
        self.reconcile
            .with_label_values(&[namespace, dest_server])
            .observe(took.as_secs_f64());
    }

    /// A git request (`ls-remote` or `fetch`) to `repo` (redacted) took `took`.
    pub fn git_request(&self, repo: &str, kind: &str, took: Duration) {
        self.git_requests.with_label_values(&[repo, kind]).inc();
        self.git_duration
            .with_label_values(&[repo, kind])
            .observe(took.as_secs_f64());
    }

    pub fn loop_tripped(&self, name: &str, namespace: &str) {
        self.loop_trips.with_label_values(&[name, namespace]).inc();
    }

    pub fn guard_findings(&self, name: &str, namespace: &str, errors: usize, warnings: usize) {
        for (severity, count) in [("error", errors), ("warning", warnings)] {
            self.guard_findings
                .with_label_values(&[name, namespace, severity])
                .set(count as i64);
        }
    }

    /// The text of every metric; `render_cache` (hits, misses so far) and `live_objects`
    /// (server, name, objects cached, per cluster) are read at this moment.
    pub fn encode(
        &self,
        render_cache: (u64, u64),
        live_objects: &[(String, String, usize)],
    ) -> String {
        for (result, total) in [("hit", render_cache.0), ("miss", render_cache.1)] {
            let counter = self.render_cache.with_label_values(&[result]);
            let seen = counter.get();
            counter.inc_by(total.saturating_sub(seen));
        }
        // Clusters no longer connected drop out.
        self.live_objects.reset();
        for (server, name, count) in live_objects {
            self.live_objects
                .with_label_values(&[server.as_str(), name.as_str()])
                .set(*count as i64);
        }
        let families = self.registry.gather();
        prometheus::TextEncoder::new()
            .encode_to_string(&families)
            .unwrap_or_default()
    }
}

/// Records `argocd_app_reconcile` for one reconcile when dropped, whichever way it returns.
pub struct ReconcileTimer<'a> {
    metrics: &'a Metrics,
    namespace: String,
    dest_server: String,
    started: std::time::Instant,
}

impl<'a> ReconcileTimer<'a> {
    pub fn start(metrics: &'a Metrics, app: &driftless_model::Application) -> Self {
        Self {
            metrics,
            namespace: app.metadata.namespace.clone().unwrap_or_default(),
            dest_server: app.spec.destination.server.clone().unwrap_or_default(),
            started: std::time::Instant::now(),
        }
    }
}

impl Drop for ReconcileTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .reconciled(&self.namespace, &self.dest_server, self.started.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(sync: &str) -> AppInfo {
        AppInfo {
            name: "shop".into(),
            namespace: "argocd".into(),
            project: "default".into(),
            repo: "https://git.example/shop".into(),
            dest_server: "https://kubernetes.default.svc".into(),
            dest_namespace: "shop".into(),
            sync_status: sync.into(),
            health_status: "Healthy".into(),
            operation: String::new(),
            autosync: true,
        }
    }

    #[test]
    fn an_app_has_one_info_series_that_follows_its_status() {
        let metrics = Metrics::new();
        metrics.app_info("argocd/shop", info("OutOfSync"));
        metrics.app_info("argocd/shop", info("Synced"));
        let text = metrics.encode((0, 0), &[]);
        let series: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("argocd_app_info{"))
            .collect();
        assert_eq!(series.len(), 1, "{text}");
        assert!(
            series[0].contains("sync_status=\"Synced\"") && series[0].ends_with(" 1"),
            "{text}"
        );
        metrics.forget_app("argocd/shop");
        assert!(!metrics.encode((0, 0), &[]).contains("argocd_app_info{"));
    }

    #[test]
    fn syncs_reconciles_and_git_requests_are_counted_under_argo_cds_names() {
        let metrics = Metrics::new();
        metrics.sync_ended(&info("Synced"), "Succeeded", false);
        metrics.sync_ended(&info("Synced"), "Succeeded", false);
        metrics.reconciled(
            "argocd",
            "https://kubernetes.default.svc",
            Duration::from_millis(300),
        );
        metrics.git_request(
            "https://git.example/shop",
            "ls-remote",
            Duration::from_millis(20),
        );
        let clusters = [(
            "https://kubernetes.default.svc".to_string(),
            "in-cluster".to_string(),
            12,
        )];
        let text = metrics.encode((5, 2), &clusters);
        assert!(text.contains("argocd_app_sync_total{dest_server=\"https://kubernetes.default.svc\",dry_run=\"false\",name=\"shop\",namespace=\"argocd\",phase=\"Succeeded\",project=\"default\"} 2"), "{text}");
        assert!(text.contains("argocd_app_reconcile_bucket{dest_server=\"https://kubernetes.default.svc\",namespace=\"argocd\",le=\"0.5\"} 1"), "{text}");
        assert!(text.contains("argocd_git_request_total{repo=\"https://git.example/shop\",request_type=\"ls-remote\"} 1"), "{text}");
        assert!(
            text.contains("driftless_render_cache_requests_total{result=\"hit\"} 5"),
            "{text}"
        );
        assert!(text.contains("argocd_cluster_api_resource_objects{name=\"in-cluster\",server=\"https://kubernetes.default.svc\"} 12"), "{text}");
        // Read again, the cache counters do not count twice.
        assert!(
            metrics
                .encode((6, 2), &clusters)
                .contains("driftless_render_cache_requests_total{result=\"hit\"} 6")
        );
    }
}
