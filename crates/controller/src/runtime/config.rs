//! How a controller runs: which namespace's Applications, how often git is polled, and so on.

use driftless_apply::TrackingMethod;
use driftless_decisions::shard::Shard;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// The namespace whose Applications (and AppProjects, repository Secrets) are served.
    pub app_namespace: String,
    /// Other namespaces whose Applications are served too (Argo CD's
    /// `--application-namespaces`: globs, or `/regexp/`); each app there must use a project
    /// whose `sourceNamespaces` lists its namespace.
    pub app_namespaces: Vec<String>,
    /// Time between two ref checks of each repository (a random tenth is added or taken away).
    pub poll_interval: Duration,
    /// Every app is compared again this often even when nothing announced a change.
    pub resync_interval: Duration,
    pub tracking: TrackingMethod,
    /// Fetched repositories (`repos/`) and rendered manifests (`render/`).
    pub cache_dir: PathBuf,
    /// Comparisons (render + diff) run at once; syncs do not count.
    pub workers: usize,
    /// A sync gives up waiting for one wave after this long.
    pub sync_timeout: Duration,
    /// Time between two looks at the objects a sync waits for.
    pub sync_poll: Duration,
    pub shard: Shard,
    /// Run only while holding this Lease (namespace `app_namespace`).
    pub leader_election: Option<LeaderElection>,
    /// Share the apps with the other replicas through shard Leases instead of `shard` (see
    /// [`crate::runtime::shard_leases`]).
    pub shard_leases: Option<ShardLeases>,
    /// Argo CD's installation ID, for several controllers in one cluster (see
    /// [`driftless_decisions::installation`]); None: `installationID` from `argocd-cm`, if set.
    pub installation_id: Option<String>,
    /// Re-applies of one object for one desired revision, with the same fields changing again
    /// each time, after which the object is left out of automated sync (see [`driftless_decisions::sync_loop`]).
    pub loop_threshold: u32,
    /// Limits of one render's tools (helm, kustomize, plugins) and evaluations.
    pub render_limits: RenderLimits,
    /// Let kustomize fetch remote bases (off: an app using one gets an error).
    pub kustomize_remote_bases: bool,
    /// Where the audit log goes (see [`crate::audit`]); None records nothing.
    pub audit: Option<crate::audit::AuditConfig>,
    /// Namespaced mode (`driftless serve --namespaces`): on the in-cluster destination only
    /// these namespaces are watched and written, and no cluster-scoped object; an app
    /// deploying elsewhere gets an error. Empty: the whole cluster.
    pub namespaces: Vec<String>,
    /// Every sync must impersonate a ServiceAccount of its project's
    /// `destinationServiceAccounts` (`--sync-impersonation`); without it a matching entry is
    /// still honoured, and an app without one syncs as the engine.
    pub sync_impersonation: bool,
    /// What the controller's client was made from, to build impersonating clients for the
    /// in-cluster destination; None: inferred (`KUBECONFIG` or the pod's account) when first needed.
    pub kube_config: Option<kube::Config>,
    /// Once asked to stop, the longest the controller takes to stop its syncs at a safe point
    /// and give its leases back.
    pub shutdown_timeout: Duration,
    /// This replica, as the Events it writes name it.
    pub replica: Replica,
}

/// Who one replica of the controller is, in what it writes to the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    /// The machine (pod) it runs on: an Event's `source.host`.
    pub host: String,
    /// Its name among the replicas: an Event's `reportingInstance`, and the `holderIdentity`
    /// of its Leases (see [`LeaderElection`], [`ShardLeases`]).
    pub identity: String,
}

impl Default for Replica {
    fn default() -> Self {
        Self {
            host: "driftless".into(),
            identity: "driftless".into(),
        }
    }
}

/// Bounds on rendering, so that one hostile or broken repository cannot starve the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderLimits {
    /// A tool run longer than this is killed (Argo CD's `ARGOCD_EXEC_TIMEOUT`, 90 s).
    pub timeout: Duration,
    /// At most this many renders at once; the others wait their turn.
    pub concurrency: usize,
    /// A tool whose resident memory (with its children's) grows past this many bytes is killed.
    pub memory: Option<u64>,
}

impl Default for RenderLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(90),
            concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            memory: Some(driftless_render::DEFAULT_TOOL_MEMORY_LIMIT),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LeaderElection {
    pub lease_name: String,
    /// This replica's name in the Lease (`holderIdentity`).
    pub identity: String,
    pub lease_duration: Duration,
}

/// `--shard-leases`: the apps are hashed to `shards` shards, and each replica works on the
/// shards whose Lease it holds.
#[derive(Debug, Clone)]
pub struct ShardLeases {
    pub shards: u32,
    /// This replica's name in the Leases (`holderIdentity`, and its membership Lease's name).
    pub identity: String,
    pub lease_duration: Duration,
}

impl ShardLeases {
    /// Time between two renewals: a third of the duration.
    pub fn renew_period(&self) -> Duration {
        (self.lease_duration / 3).max(Duration::from_millis(200))
    }

    /// How long a shard is worked on without a renewal: two thirds of the duration, so that
    /// its work has stopped before the Lease expires and another replica may take it.
    pub fn renew_deadline(&self) -> Duration {
        self.lease_duration * 2 / 3
    }
}

impl ControllerConfig {
    /// Argo CD's defaults where it has one (3 min resync), driftless' own otherwise (3 s polls).
    pub fn new(app_namespace: impl Into<String>, cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            app_namespace: app_namespace.into(),
            app_namespaces: Vec::new(),
            poll_interval: Duration::from_secs(3),
            resync_interval: Duration::from_secs(180),
            tracking: TrackingMethod::Annotation,
            cache_dir: cache_dir.into(),
            workers: 8,
            sync_timeout: Duration::from_secs(600),
            sync_poll: Duration::from_secs(1),
            shard: Shard::default(),
            leader_election: None,
            shard_leases: None,
            installation_id: None,
            loop_threshold: 3,
            render_limits: RenderLimits::default(),
            kustomize_remote_bases: false,
            audit: None,
            namespaces: Vec::new(),
            sync_impersonation: false,
            kube_config: None,
            shutdown_timeout: Duration::from_secs(20),
            replica: Replica::default(),
        }
    }
}
