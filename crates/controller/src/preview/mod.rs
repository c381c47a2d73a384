//! What an app would deploy, for the API's manifests and diff: its objects rendered at its
//! target revision or at another one, and each desired/live pair's diff, with Secret values
//! masked in both. Nothing is written and nothing is synced; a render that fails is an error,
//! never an empty list. [`tree`] does the same for a whole App-of-Apps tree.

pub mod children;
pub mod tree;
pub mod tree_rules;

use crate::runtime::context::Context;
use driftless_decisions::compare::{differ_for, pair};
use driftless_diff::{SecretMasker, SyncStatus};
use driftless_model::Application;
use driftless_source::redact_url;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("failed to resolve revision {revision} of {repo}: {source}")]
    Revision {
        repo: String,
        revision: String,
        source: crate::app_loop::comparison::RevisionError,
    },
    #[error("failed to render application {app}: {source}")]
    Render {
        app: String,
        source: crate::app_loop::comparison::ComparisonError,
    },
    #[error("failed to diff application {app}: {message}")]
    Diff { app: String, message: String },
}

/// The app at some revision(s), against the live cluster.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// The commits (or chart versions) rendered, one per source.
    pub revisions: Vec<String>,
    /// The desired objects, Secrets masked.
    pub manifests: Vec<Value>,
    /// One entry per desired or tracked object, by key.
    pub diffs: Vec<ObjectPreview>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectPreview {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `Synced`, `OutOfSync` (differs), `Missing` (not live yet) or `Extraneous` (gone from
    /// git, would be pruned).
    pub status: &'static str,
    /// The unified diff, live → desired, Secrets masked; none when Synced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The live object, Secrets masked and without `managedFields` (noise to a reader); none
    /// when Missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<Value>,
}

impl Preview {
    /// Whether anything differs.
    pub fn differs(&self) -> bool {
        self.diffs.iter().any(|d| d.status != "Synced")
    }
}

fn masked_live(masker: &SecretMasker, object: &Value) -> Value {
    let mut object = object.clone();
    masker.mask_if_secret(&mut object);
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    object
}

/// `app` rendered at `revision` (every source; its own targets when None) and diffed against
/// what it tracks live.
pub async fn preview(
    ctx: &Arc<Context>,
    app: &Application,
    revision: Option<&str>,
) -> Result<Preview, PreviewError> {
    let name = ctx.key_of(app);
    let mut revisions = Vec::new();
    for source in app.sources() {
        let wanted = revision
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| driftless_render::revision_of(source))
            .to_string();
        // Another revision is asked for now: look at the repository again (a branch moves).
        let fresh = revision.is_some();
        let resolved =
            crate::app_loop::comparison::resolve_revision(ctx, app, source, &wanted, fresh)
                .await
                .map_err(|error| PreviewError::Revision {
                    repo: redact_url(&source.repo_url),
                    revision: wanted.clone(),
                    source: error,
                })?;
        revisions.push(resolved);
    }
    let prepared = crate::app_loop::comparison::prepare(ctx, app, revisions, false)
        .await
        .map_err(|source| PreviewError::Render {
            app: name.clone(),
            source,
        })?;
    let masker = SecretMasker::new(ctx.judging.salt.clone());
    let manifests = prepared
        .desired
        .iter()
        .cloned()
        .map(|mut object| {
            masker.mask_if_secret(&mut object);
            object
        })
        .collect();
    let failed = |message: String| PreviewError::Diff {
        app: name.clone(),
        message,
    };
    let differ = differ_for(app, &ctx.judging).map_err(|e| failed(e.to_string()))?;
    let mut diffs = Vec::new();
    let pairs = pair(app, &prepared.desired, &prepared.live).map_err(|e| failed(e.to_string()))?;
    for (key, (want, have)) in pairs {
        let diff = differ.diff(want, have).map_err(|e| failed(e.to_string()))?;
        diffs.push(ObjectPreview {
            group: key.group.clone(),
            kind: key.kind.clone(),
            namespace: key.namespace.clone(),
            name: key.name.clone(),
            status: match diff.status {
                SyncStatus::Synced => "Synced",
                SyncStatus::OutOfSync => "OutOfSync",
                SyncStatus::Missing => "Missing",
                SyncStatus::Extraneous => "Extraneous",
            },
            diff: diff.text,
            live: have.map(|object| masked_live(&masker, object)),
        });
    }
    Ok(Preview {
        revisions: prepared.revisions,
        manifests,
        diffs,
    })
}
