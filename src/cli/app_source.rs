//! What every app command shares: reading an Application file and rendering its desired objects,
//! from git through the repo and render caches, or from a local checkout (`--repo-root`).

use clap::Args;
use driftless_charts::ChartRepos;
use driftless_model::Application;
use driftless_render::{
    AppRender, CachedRepos, ChartSources, DirResolver, Engine, ProcessRunner, RenderCache,
    ScopeLookup, Toolbox, Tools, render_application,
};
use driftless_source::{CredentialSecret, RepoCache, RepoCredentials};
use std::path::{Path, PathBuf};

/// Where an app command reads the Application and its sources from.
#[derive(Debug, Clone, Args)]
pub struct AppArgs {
    /// The Application manifest (YAML or JSON), as you would `kubectl apply` it.
    #[arg(short = 'f', long = "file", value_name = "APP.yaml")]
    pub file: PathBuf,
    /// Render this revision instead of the Application's targetRevision.
    #[arg(long)]
    pub revision: Option<String>,
    /// Resolve every repoURL to this local checkout instead of fetching it (offline use).
    #[arg(long, value_name = "DIR")]
    pub repo_root: Option<PathBuf>,
    /// Where fetched repositories and rendered manifests are cached.
    #[arg(long, env = "DRIFTLESS_CACHE", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Config management plugins: a directory of Argo CD `ConfigManagementPlugin` files
    /// (default: `DRIFTLESS_PLUGIN_DIR`).
    #[arg(long, value_name = "DIR")]
    pub plugin_dir: Option<PathBuf>,
    /// Let kustomize fetch remote bases (URLs in `resources`); off, an app using one gets an
    /// error, as their content is not recorded by git (also DRIFTLESS_KUSTOMIZE_REMOTE_BASES=allow).
    #[arg(long)]
    pub allow_kustomize_remote_bases: bool,
}

/// How to reach the repositories of an app: git credentials per repoURL (a URL not in the map
/// is fetched without any), and the Argo CD repository Secrets that chart credentials are
/// chosen from.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub git: std::collections::BTreeMap<String, RepoCredentials>,
    pub secrets: Vec<CredentialSecret>,
}

/// A failure of a command, with the exit code it maps to (the table `driftless app --help`
/// prints: [`EXIT_CODES`]).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Bad arguments or an unreadable/invalid input file: exit 2.
    #[error("{0}")]
    Usage(String),
    /// Rendering, git, the cluster or the sync failed, an operation ended Failed or Error, or
    /// a wait ended in a state other than the one asked for: exit 1.
    #[error("{0}")]
    Failed(String),
    /// A wait (`--timeout`) or a request ran out of time: exit 3.
    #[error("{0}")]
    Timeout(String),
    /// Not logged in, a token refused, or a permission missing (the message names it): exit 4.
    #[error("{0}")]
    Denied(String),
    /// The Application, project, ApplicationSet, history entry or context does not exist: exit 5.
    #[error("{0}")]
    NotFound(String),
    /// The API server or the cluster could not be reached (connection, DNS, TLS): exit 6.
    #[error("{0}")]
    Unreachable(String),
}

impl From<driftless_model::requests::RequestRefusal> for CommandError {
    fn from(refusal: driftless_model::requests::RequestRefusal) -> Self {
        use driftless_model::requests::RequestRefusal as R;
        let message = format!("failed to change the application: {refusal}");
        match refusal {
            R::NoHistoryEntry { .. } => Self::NotFound(message),
            R::Propagation(_) => Self::Usage(message),
            R::InProgress { .. } | R::NothingToTerminate { .. } | R::Automated { .. } => {
                Self::Failed(message)
            }
        }
    }
}

impl CommandError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Failed(_) => 1,
            Self::Timeout(_) => 3,
            Self::Denied(_) => 4,
            Self::NotFound(_) => 5,
            Self::Unreachable(_) => 6,
        }
    }
}

/// The exit codes of the client commands (`app`, `appset`, `proj`, `login`, `context`).
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (a sync or rollback whose operation Succeeded, a wait that ended as asked)
  1  the operation ended Failed or Error, a wait ended in another state (the app was
     deleted, or with --operation the operation failed), or the server refused the request
     (another operation in progress, automated sync on for a rollback, ...)
  2  usage error: bad flags or arguments, no server (run `driftless login` or pass --server)
  3  timeout: --timeout passed before the operation ended or the wanted state was reached
  4  not authenticated (no or a refused token: run `driftless login`) or permission denied
     (the message names the missing permission)
  5  not found: the Application, project, ApplicationSet, history ID or context
  6  the API server or the cluster could not be reached (connection, DNS, TLS)";

pub fn load_application(path: &Path) -> Result<Application, CommandError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CommandError::Usage(format!("failed to read {}: {e}", path.display())))?;
    let app: Application = serde_norway::from_str(&text).map_err(|e| {
        CommandError::Usage(format!(
            "failed to read an Application from {}: {e}",
            path.display()
        ))
    })?;
    if app.metadata.name.as_deref().unwrap_or_default().is_empty() {
        return Err(CommandError::Usage(format!(
            "{}: the Application has no metadata.name",
            path.display()
        )));
    }
    Ok(app)
}

pub fn cache_root(args: &AppArgs) -> PathBuf {
    args.cache_dir.clone().unwrap_or_else(|| {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        home.join(".cache/driftless")
    })
}

/// Renders `app` (with `--revision` applied to every source). Sources are fetched into the repo
/// cache first, unless `--repo-root` points at a checkout.
pub fn render(
    app: &mut Application,
    args: &AppArgs,
    creds: &Credentials,
    discovery: Option<&dyn ScopeLookup>,
) -> Result<AppRender, CommandError> {
    if let Some(revision) = &args.revision {
        override_revision(app, revision);
    }
    let mut tools = Tools::discover_with_plugin_dir(args.plugin_dir.as_deref());
    tools.kustomize_remote_bases |= args.allow_kustomize_remote_bases;
    let runner = ProcessRunner::default();
    let root = cache_root(args);
    let render_cache = RenderCache::open(root.join("render"))
        .map_err(|e| CommandError::Failed(format!("failed to open the render cache: {e}")))?;
    let engine = Engine {
        toolbox: Toolbox {
            tools: &tools,
            runner: &runner,
            charts: None,
        },
        cache: Some(&render_cache),
        discovery,
        kube_version: None,
        api_versions: &[],
    };
    let name = app.metadata.name.clone().unwrap_or_default();
    let rendered = if let Some(dir) = &args.repo_root {
        render_application(app, &DirResolver { root: dir.clone() }, engine)
    } else {
        let repos = RepoCache::new(root.join("repos"))
            .map_err(|e| CommandError::Failed(format!("failed to open the repo cache: {e}")))?;
        for source in app
            .sources()
            .iter()
            .filter(|s| driftless_render::chart_of(s).is_none())
        {
            let url_creds = creds.git.get(&source.repo_url).cloned().unwrap_or_default();
            repos
                .sync(&source.repo_url, &url_creds, source.revision())
                .map_err(|e| {
                    CommandError::Failed(format!(
                        "app {name}: failed to fetch {}: {e}",
                        driftless_source::redact_url(&source.repo_url)
                    ))
                })?;
        }
        let chart_dir = root.join("charts");
        let chart_repos = ChartRepos::new(&chart_dir)
            .map_err(|e| CommandError::Failed(format!("failed to open the chart cache: {e}")))?;
        let no_certs = Default::default();
        let resolver = CachedRepos {
            cache: &repos,
            charts: Some(ChartSources {
                repos: &chart_repos,
                secrets: &creds.secrets,
                project: Some(app.spec.project.as_str()).filter(|p| !p.is_empty()),
                max_age: std::time::Duration::ZERO,
                tls_certs: &no_certs,
            }),
        };
        render_application(app, &resolver, engine)
    };
    rendered.map_err(|e| CommandError::Failed(e.to_string()))
}

fn override_revision(app: &mut Application, revision: &str) {
    if let Some(source) = app.spec.source.as_mut() {
        source.target_revision = Some(revision.to_string());
    }
    for source in app.spec.sources.iter_mut().flatten() {
        source.target_revision = Some(revision.to_string());
    }
}
