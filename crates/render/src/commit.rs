//! Rendering a source at a commit, through the render cache: the thin git-aware layer
//! over [`render_raw`]. Sources are [`TreeSource`]s, so git repositories and plain
//! directories are treated alike.

use crate::cache::{CacheEntry, RenderCache, cache_key};
use crate::paths;
use crate::render::{RenderError, Rendered, StepError, render_raw};
use crate::spec::RenderParams;
use crate::tools::Toolbox;
use crate::tree::{TreeSource, TreeWorkspace};
use crate::workspace::SourceId;
use std::collections::BTreeMap;

/// A source rendered at a commit, and whether it came from the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitRender {
    pub rendered: Rendered,
    pub cache_hit: bool,
}

/// Renders `params` from `main` (with `$ref` files from `refs`), reusing a cached render
/// when the source path and every other path it read still have the same tree ids.
pub fn render_at_commit(
    toolbox: Toolbox<'_>,
    cache: Option<&RenderCache>,
    app: &str,
    params: &RenderParams,
    main: &dyn TreeSource,
    refs: &BTreeMap<String, &dyn TreeSource>,
) -> Result<CommitRender, RenderError> {
    let step = params.method.step();
    let fail = |e: StepError| RenderError::new(app, step, e);
    let cache = cache.filter(|_| params.method.cacheable());
    let path = paths::normalize(&params.path)
        .ok_or_else(|| fail(StepError::MissingPath(params.path.clone())))?;
    let path_id = main
        .tree_id(&path)
        .map_err(|e| {
            RenderError::new(
                app,
                "read source",
                StepError::Other(format!("{}: {e}", main.describe())),
            )
        })?
        .ok_or_else(|| {
            RenderError::new(
                app,
                "read source",
                StepError::Other(format!(
                    "failed to find path {:?} in {}",
                    params.path,
                    main.describe()
                )),
            )
        })?;
    let key = cache_key(
        params,
        &toolbox.tools.fingerprint_for(&params.method),
        &path_id,
    );
    if let Some(entry) = cache.and_then(|c| c.get(&key))
        && still_current(&entry, main, refs)
    {
        tracing::debug!(app, key, "render cache hit");
        return Ok(CommitRender {
            rendered: Rendered {
                manifests: entry.manifests(),
                remote: Vec::new(),
            },
            cache_hit: true,
        });
    }
    let mut ws = TreeWorkspace::new(main, refs).map_err(|e| fail(e.into()))?;
    let rendered = render_raw(toolbox, &mut ws, params).map_err(fail)?;
    if let Some(cache) = cache
        && rendered.remote.is_empty()
    {
        let entry = CacheEntry::new(ws.reads(), &rendered.manifests);
        if let Err(e) = cache.put(&key, &entry) {
            tracing::warn!(app, error = %e, "failed to store render in cache");
        }
    }
    Ok(CommitRender {
        rendered,
        cache_hit: false,
    })
}

/// True when every path the cached render read has the id it had then.
fn still_current(
    entry: &CacheEntry,
    main: &dyn TreeSource,
    refs: &BTreeMap<String, &dyn TreeSource>,
) -> bool {
    entry.reads.iter().all(|read| {
        let tree = match &read.source {
            SourceId::Main => Some(main),
            SourceId::Ref(name) => refs.get(name).copied(),
        };
        tree.and_then(|t| t.tree_id(&read.path).ok())
            .is_some_and(|id| id == read.id)
    })
}
