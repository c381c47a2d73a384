//! Rendering an Application at resolved commits, through the repository and render caches, on
//! the blocking pool (git and helm/kustomize block).

use crate::git::chart_versions::{ChartAccess, ChartWatcher};
use driftless_apply::ApiCatalog;
use driftless_model::{Application, GroupKind};
use driftless_render::{
    CachedRepos, ChartSources, Engine, ProcessRunner, RenderCache, Scope, ScopeLookup, Toolbox,
    Tools, render_application,
};
use driftless_source::RepoCache;
use serde_json::Value;
use std::sync::Arc;

/// The scope of kinds as the API server serves them.
pub struct CatalogScopes(pub ApiCatalog);

impl ScopeLookup for CatalogScopes {
    fn scope(&self, kind: &GroupKind) -> Option<Scope> {
        self.0.is_namespaced(kind).map(|ns| {
            if ns {
                Scope::Namespaced
            } else {
                Scope::Cluster
            }
        })
    }
}

pub struct Renderer {
    tools: Tools,
    runner: ProcessRunner,
    /// One permit per render running; the cap of [`crate::runtime::config::RenderLimits`].
    slots: tokio::sync::Semaphore,
    cache: RenderCache,
    repos: Arc<RepoCache>,
    charts: Arc<ChartWatcher>,
}

impl Renderer {
    /// (hits, misses) of the render cache so far.
    pub fn cache_lookups(&self) -> (u64, u64) {
        self.cache.lookups()
    }

    pub fn new(
        repos: Arc<RepoCache>,
        cache: RenderCache,
        charts: Arc<ChartWatcher>,
        limits: crate::runtime::config::RenderLimits,
        kustomize_remote_bases: bool,
    ) -> Self {
        let mut tools = Tools::discover();
        tools.kustomize_remote_bases |= kustomize_remote_bases;
        Self {
            tools,
            runner: ProcessRunner {
                timeout: limits.timeout,
                memory_limit: limits.memory,
                ..ProcessRunner::default()
            },
            slots: tokio::sync::Semaphore::new(limits.concurrency.max(1)),
            cache,
            repos,
            charts,
        }
    }

    /// The desired objects of `app` with every source pinned to `revisions` (one per source).
    /// `fresh`: skip the render cache (a hard refresh).
    pub async fn render(
        self: &Arc<Self>,
        app: &Application,
        revisions: &[String],
        catalog: ApiCatalog,
        fresh: bool,
    ) -> Result<Vec<Value>, RenderFailure> {
        use tracing::Instrument;
        let span = crate::runtime::telemetry::render_span(
            app.metadata.name.as_deref().unwrap_or_default(),
            revisions,
        );
        self.render_traced(app, revisions, catalog, fresh)
            .instrument(span)
            .await
    }

    async fn render_traced(
        self: &Arc<Self>,
        app: &Application,
        revisions: &[String],
        catalog: ApiCatalog,
        fresh: bool,
    ) -> Result<Vec<Value>, RenderFailure> {
        let mut pinned = app.clone();
        pin_revisions(&mut pinned, revisions);
        let this = self.clone();
        let access = if app
            .sources()
            .iter()
            .any(|s| driftless_render::chart_of(s).is_some())
        {
            self.charts.access(false).await
        } else {
            Arc::new(ChartAccess::default())
        };
        tracing::debug!(app = %app.metadata.name.as_deref().unwrap_or_default(), free = self.slots.available_permits(), "waiting for a render slot");
        // Closed never: the semaphore lives as long as the renderer.
        let permit = self.slots.acquire().await;
        tracing::debug!(app = %app.metadata.name.as_deref().unwrap_or_default(), "rendering");
        let joined = tokio::task::spawn_blocking(move || {
            let scopes = CatalogScopes(catalog);
            let engine = Engine {
                toolbox: Toolbox {
                    tools: &this.tools,
                    runner: &this.runner,
                    charts: None,
                },
                cache: if fresh { None } else { Some(&this.cache) },
                discovery: Some(&scopes),
                kube_version: None,
                api_versions: &[],
            };
            let repos = CachedRepos {
                cache: &this.repos,
                charts: Some(ChartSources {
                    repos: this.charts.repos(),
                    secrets: &access.secrets,
                    project: Some(pinned.spec.project.as_str()).filter(|p| !p.is_empty()),
                    max_age: this.charts.max_age,
                    tls_certs: &access.tls_certs,
                }),
            };
            render_application(&pinned, &repos, engine)
        })
        .await;
        drop(permit);
        match joined {
            Ok(Ok(rendered)) => Ok(rendered.objects.into_iter().map(|o| o.object).collect()),
            Ok(Err(error)) => Err(RenderFailure::Render(error)),
            Err(error) => Err(RenderFailure::Task(error)),
        }
    }
}

/// Why a render gave no objects.
#[derive(Debug, thiserror::Error)]
pub enum RenderFailure {
    /// The renderer's message names the source and the tool.
    #[error(transparent)]
    Render(#[from] driftless_render::RenderError),
    #[error("failed to render: the render task ended: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Sets each source's `targetRevision` to its resolved commit.
pub fn pin_revisions(app: &mut Application, revisions: &[String]) {
    if app.spec.has_multiple_sources() {
        for (source, revision) in app.spec.sources.iter_mut().flatten().zip(revisions) {
            source.target_revision = Some(revision.clone());
        }
    } else if let (Some(source), Some(revision)) = (app.spec.source.as_mut(), revisions.first()) {
        source.target_revision = Some(revision.clone());
    }
}
