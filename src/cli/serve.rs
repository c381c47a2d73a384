//! `driftless serve`: run the Application controller until interrupted.

use super::app_source::CommandError;
use clap::Args;
use driftless_apply::TrackingMethod;
use driftless_controller::{
    Controller, ControllerConfig, LeaderElection, Replica, Shard, ShardLeases,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Log lines as text, or as JSON objects (with the trace id of the reconcile they belong to).
    #[arg(long, value_enum, env = "DRIFTLESS_LOG_FORMAT", default_value_t = super::telemetry::LogFormat::Text)]
    pub log_format: super::telemetry::LogFormat,
    /// Namespace whose Applications (and AppProjects, repository Secrets, argocd-cm) are served.
    #[arg(long, default_value = "argocd")]
    pub app_namespace: String,
    /// Other namespaces whose Applications are served too (comma-separated globs, or
    /// `/regexp/`), as Argo CD's `--application-namespaces`: an app there must use a project
    /// whose `sourceNamespaces` lists its namespace.
    #[arg(
        long,
        env = "ARGOCD_APPLICATION_NAMESPACES",
        value_delimiter = ',',
        value_name = "NAMESPACES"
    )]
    pub application_namespaces: Vec<String>,
    /// Time between two ref checks of each repository ("3s", "1m" or seconds).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// Compare every app again this often, even when nothing announced a change.
    #[arg(long, default_value = "180s", value_parser = parse_duration)]
    pub resync: Duration,
    /// How applied objects are marked as the app's: annotation, label or annotation+label.
    #[arg(long, default_value = "annotation")]
    pub tracking: TrackingMethod,
    /// Where fetched repositories and rendered manifests are cached.
    #[arg(long, env = "DRIFTLESS_CACHE", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Comparisons (render + diff) run at once.
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// A sync gives up waiting for one wave after this long.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub sync_timeout: Duration,
    /// Number of controller replicas sharing the apps.
    #[arg(long, default_value_t = 1)]
    pub shards: u32,
    /// This replica's shard, 0 ..= shards-1.
    #[arg(long, default_value_t = 0)]
    pub shard: u32,
    /// Reconcile only while holding the Lease `--lease-name` in the app namespace.
    #[arg(long)]
    pub leader_elect: bool,
    /// Share the apps with the other replicas started with the same number: the apps are
    /// hashed to this many shards, each with a Lease `driftless-shard-<i>` in the app
    /// namespace, and the live replicas split the shards evenly, taking over those of a
    /// replica that stops. Instead of --shards/--shard and --leader-elect.
    #[arg(long, value_name = "S", conflicts_with_all = ["shards", "shard", "leader_elect"], value_parser = clap::value_parser!(u32).range(1..))]
    pub shard_leases: Option<u32>,
    #[arg(long, default_value = "driftless-controller")]
    pub lease_name: String,
    /// How long a Lease of this controller stays held without a renewal (renewed every third).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: Duration,
    /// On SIGTERM or SIGINT, the longest spent stopping syncs at a safe point (progress saved)
    /// and giving the leases back before exiting anyway; below Kubernetes' 30 s grace period.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
    /// Serve `/healthz` and `/readyz` over plain HTTP here, for the kubelet's probes (ready once
    /// the controller's watches have listed, whether or not it leads).
    #[arg(long, value_name = "ADDRESS")]
    pub health_listen: Option<std::net::SocketAddr>,
    /// Serve the controller's `/metrics` over plain HTTP here, e.g. 0.0.0.0:8082, to callers
    /// whose bearer token the cluster accepts and whose RBAC allows `get` on the non-resource
    /// URL `/metrics` (a ClusterRole with `nonResourceURLs: ["/metrics"]`).
    #[arg(long, value_name = "ADDRESS")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Serve the API (login, Applications, the live stream) and the git webhook on this
    /// address, e.g. 0.0.0.0:8080 (HTTPS unless --insecure).
    #[arg(long, value_name = "ADDRESS")]
    pub api_listen: Option<std::net::SocketAddr>,
    /// Serve the API over plain HTTP (behind a proxy that terminates TLS).
    #[arg(long)]
    pub insecure: bool,
    /// The `kubernetes.io/tls` Secret in the app namespace whose certificate the API serves;
    /// without it a self-signed certificate is made at start.
    #[arg(long, default_value = driftless_server::tls::DEFAULT_SECRET, value_name = "NAME")]
    pub tls_secret: String,
    /// Argo CD's installation ID, for several controllers in one cluster: stamped on what this
    /// controller applies, and objects of other installations are ignored (default: argocd-cm's
    /// `installationID`).
    #[arg(long, value_name = "ID")]
    pub installation_id: Option<String>,
    /// Take an object out of automated sync once it was re-applied this many times for one
    /// desired revision while the same fields kept changing again (a sync loop).
    #[arg(long, default_value_t = 3)]
    pub loop_threshold: u32,
    /// Kill a render's tool (helm, kustomize, a plugin) that runs longer than this.
    #[arg(long, env = "ARGOCD_EXEC_TIMEOUT", default_value = "90s", value_parser = parse_duration)]
    pub render_timeout: Duration,
    /// Renders running at once (default: the number of cores); the others wait their turn.
    #[arg(long, value_name = "N")]
    pub render_concurrency: Option<usize>,
    /// Kill a render's tool whose memory (with its children's) grows past this: "512Mi", "2Gi",
    /// or bytes; "0" for no limit.
    #[arg(long, default_value = "2Gi", value_parser = parse_size)]
    pub render_memory_limit: u64,
    /// Let kustomize fetch remote bases (URLs in `resources`); off, an app using one gets an
    /// error, as their content is not recorded by git (also DRIFTLESS_KUSTOMIZE_REMOTE_BASES=allow).
    #[arg(long)]
    pub allow_kustomize_remote_bases: bool,
    /// The audit log's database: `sqlite:///path/audit.db` or `postgres://user@host/db`
    /// (several replicas need PostgreSQL); default: `audit.db` in the cache directory.
    #[arg(long, env = "DRIFTLESS_AUDIT_DATABASE", value_name = "URL")]
    pub audit_database: Option<String>,
    /// Record no audit log.
    #[arg(long, conflicts_with = "audit_database")]
    pub no_audit: bool,
    /// How often the audit chain's head is signed and published (ConfigMap
    /// driftless-audit-checkpoint); what was appended since can be lost unnoticed.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub audit_checkpoint_interval: Duration,
    /// Delete audit entries older than this ("2160h"); the rest stays verifiable. Default: keep all.
    #[arg(long, value_parser = parse_duration)]
    pub audit_retention: Option<Duration>,
    /// Namespaced mode: manage only these namespaces (comma-separated) of the cluster driftless
    /// runs in, watching each on its own and no cluster-scoped kind, so that Roles in them
    /// suffice; an app deploying elsewhere or a cluster-scoped object gets an error on its status.
    #[arg(long, value_delimiter = ',', value_name = "NAMESPACES")]
    pub namespaces: Vec<String>,
    /// Require every sync to impersonate a ServiceAccount from its AppProject's
    /// destinationServiceAccounts (Argo CD's application.sync.impersonation.enabled); an app
    /// without a matching entry fails to sync. Without it, matching entries are still honoured.
    #[arg(long)]
    pub sync_impersonation: bool,
}

/// A Kubernetes quantity: "512Mi", "2Gi", "1G" or bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    driftless_diff::whole_quantity(text)
        .ok_or_else(|| format!("failed to read {text:?} as a size such as 512Mi or 2Gi"))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    driftless_model::parse_duration(text).map_err(|e| e.to_string())
}

/// Runs until SIGTERM or Ctrl-C (Ok, after a clean stop) or until the controller stops on its own (an error).
pub async fn run(args: ServeArgs) -> Result<bool, CommandError> {
    let _telemetry = super::telemetry::init(args.log_format);
    let shard =
        Shard::new(args.shard, args.shards).map_err(|e| CommandError::Usage(e.to_string()))?;
    let cache_dir = args.cache_dir.clone().unwrap_or_else(|| {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        home.join(".cache/driftless")
    });
    let mut config = ControllerConfig::new(args.app_namespace.clone(), cache_dir);
    config.app_namespaces = namespace_list(&args.application_namespaces);
    config.poll_interval = args.poll_interval;
    config.resync_interval = args.resync;
    config.tracking = args.tracking;
    config.workers = args.workers;
    config.sync_timeout = args.sync_timeout;
    config.shard = shard;
    config.installation_id = args.installation_id.clone();
    config.loop_threshold = args.loop_threshold;
    config.render_limits.timeout = args.render_timeout;
    if let Some(n) = args.render_concurrency {
        config.render_limits.concurrency = n;
    }
    config.render_limits.memory = Some(args.render_memory_limit).filter(|&b| b > 0);
    config.kustomize_remote_bases = args.allow_kustomize_remote_bases;
    config.namespaces = namespace_list(&args.namespaces);
    config.sync_impersonation = args.sync_impersonation;
    config.shutdown_timeout = args.shutdown_timeout;
    let audit_database = (!args.no_audit).then(|| {
        args.audit_database
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", config.cache_dir.join("audit.db").display()))
    });
    config.audit =
        audit_database
            .clone()
            .map(|database| driftless_controller::audit::AuditConfig {
                database,
                checkpoint_interval: args.audit_checkpoint_interval,
                retention: args.audit_retention,
            });
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "driftless".into());
    let identity = format!("{host}-{}", std::process::id());
    config.replica = Replica {
        host,
        identity: identity.clone(),
    };
    let lease_duration = args.lease_duration.max(Duration::from_secs(1));
    if args.leader_elect {
        config.leader_election = Some(LeaderElection {
            lease_name: args.lease_name.clone(),
            identity: identity.clone(),
            lease_duration,
        });
    }
    if let Some(shards) = args.shard_leases {
        config.shard_leases = Some(ShardLeases {
            shards,
            identity,
            lease_duration,
        });
    }
    let connect_failed = |e: &dyn std::fmt::Display| {
        CommandError::Failed(format!(
            "failed to connect to the cluster (KUBECONFIG): {e}"
        ))
    };
    let kube_config = kube::Config::infer()
        .await
        .map_err(|e| connect_failed(&e))?;
    let client = driftless_controller::runtime::kube_requests::counted_client(kube_config.clone())
        .map_err(|e| connect_failed(&e))?;
    // Impersonating clients (destinationServiceAccounts) are made from the same connection.
    config.kube_config = Some(kube_config);
    let controller = Controller::new(client.clone(), config.clone())
        .await
        .map_err(|e| CommandError::Failed(e.to_string()))?;
    // Notifications (argocd-notifications-cm) for the same apps (this replica's share, as it
    // changes with shard Leases); with leader election only the holder of the Lease sends.
    let mut notify = driftless_notify::NotifierConfig::new(&args.app_namespace);
    notify.app_namespaces = config.app_namespaces.clone();
    notify.leader = config
        .leader_election
        .as_ref()
        .map(|l| driftless_notify::Leader {
            lease_name: l.lease_name.clone(),
            identity: l.identity.clone(),
        });
    let ownership = controller.ownership();
    notify.owns = Some(driftless_notify::AppFilter::new(move |namespace, name| {
        ownership.owns(namespace, name)
    }));
    let notifier = driftless_notify::Notifier::new(client.clone(), notify)
        .map_err(|e| CommandError::Failed(e.to_string()))?;
    let health = match args.health_listen {
        Some(address) => {
            let handle = controller.handle();
            let ready: driftless_server::health::ReadyCheck = Arc::new(move || handle.ready());
            let listener = driftless_server::health::HealthListener::bind(address, ready)
                .await
                .map_err(|e| CommandError::Failed(e.to_string()))?;
            if let Some(bound) = listener.local_addr() {
                tracing::info!(address = %format!("http://{bound}"), "serving /healthz and /readyz");
            }
            Some(listener)
        }
        None => None,
    };
    let health = run_if_given(health.map(|listener| listener.run()));
    let metrics = match args.metrics_listen {
        Some(address) => {
            let handle = controller.handle();
            let text: driftless_server::metrics_listener::MetricsText =
                Arc::new(move || handle.metrics_text());
            let listener = driftless_server::metrics_listener::MetricsListener::bind(
                address,
                client.clone(),
                text,
            )
            .await
            .map_err(|e| CommandError::Failed(e.to_string()))?;
            if let Some(bound) = listener.local_addr() {
                tracing::info!(address = %format!("http://{bound}/metrics"), "serving the metrics");
            }
            Some(listener)
        }
        None => None,
    };
    let metrics = run_if_given(metrics.map(|listener| listener.run()));
    let api = match args.api_listen {
        Some(address) => {
            let mut server_config =
                driftless_server::ServerConfig::new(&args.app_namespace, address);
            server_config.insecure = args.insecure;
            server_config.tls_secret = args.tls_secret.clone();
            server_config.audit_database = audit_database.clone();
            let checks = Arc::new(controller.handle());
            let server = driftless_server::Server::bind(client, server_config, Some(checks))
                .await
                .map_err(|e| CommandError::Failed(e.to_string()))?;
            if let Some(bound) = server.local_addr() {
                let scheme = if args.insecure { "http" } else { "https" };
                tracing::info!(address = %format!("{scheme}://{bound}"), "serving the API");
            }
            Some(server)
        }
        None => None,
    };
    let api = run_if_given(api.map(|server| server.run()));
    let shutdown = controller.shutdown();
    let controller = controller.run();
    tokio::pin!(controller);
    let signal = tokio::select! {
        outcome = &mut controller => return outcome.map(|()| true).map_err(|e| CommandError::Failed(e.to_string())),
        outcome = api => return outcome.map(|()| true),
        outcome = health => return outcome.map(|()| true),
        outcome = metrics => return outcome.map(|()| true),
        outcome = notifier.run() => return outcome.map(|()| true).map_err(|e| CommandError::Failed(e.to_string())),
        signal = stop_signal() => signal,
    };
    tracing::info!(%signal, timeout = ?args.shutdown_timeout, "stopping");
    shutdown.stop();
    // The controller bounds its own stop; this bound holds even if a step of it hangs.
    let bound = args.shutdown_timeout + Duration::from_secs(1);
    match tokio::time::timeout(bound, controller).await {
        Ok(outcome) => outcome
            .map(|()| true)
            .map_err(|e| CommandError::Failed(e.to_string())),
        Err(_) => {
            tracing::warn!("the controller did not stop within --shutdown-timeout; exiting anyway");
            Ok(true)
        }
    }
}

/// A listener's run, or (none configured) a wait that never ends, to select on either way.
async fn run_if_given(
    run: Option<impl Future<Output = Result<(), driftless_server::ServerError>>>,
) -> Result<(), CommandError> {
    match run {
        Some(run) => run.await.map_err(|e| CommandError::Failed(e.to_string())),
        None => std::future::pending().await,
    }
}

/// Waits for SIGTERM (what Kubernetes sends a pod it stops) or SIGINT (Ctrl-C); names it.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops cleanly");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// A flag's namespaces, trimmed, the empty ones left out.
fn namespace_list(given: &[String]) -> Vec<String> {
    given
        .iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}
