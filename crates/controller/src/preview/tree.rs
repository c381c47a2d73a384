//! The whole App-of-Apps tree at another revision, against the live cluster: the root is
//! rendered at the revision asked for, then every child Application it renders (children of
//! the same repository and target follow it to that revision, see
//! [`tree_rules::follows_root`]), down the tree; children it no longer renders are listed as
//! removed with what would go with them; the guard checks every rendered object together.
//! A child that fails to render is reported on its own entry and does not hide the others.
//! Nothing is written.

use super::tree_rules::{self, Change};
use super::{ObjectPreview, PreviewError, preview};
use crate::runtime::context::Context;
use driftless_guard::{Finding, Tree};
use driftless_model::annotations::RESOURCES_FINALIZER;
use driftless_model::{Application, GROUP};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

/// Deeper than this, the tree is taken to be a cycle.
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TreePreview {
    pub root: String,
    /// The revision asked for (the root's own targets when None).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The root first, then its children, level by level.
    pub apps: Vec<TreeApp>,
    /// The guard's findings over every object the tree renders at the revision.
    pub findings: Vec<Finding>,
}

impl TreePreview {
    /// Whether anything in the tree differs, or some part of it could not be rendered.
    pub fn differs(&self) -> bool {
        self.apps.iter().any(|a| {
            a.change != Change::Unchanged
                || a.error.is_some()
                || a.diffs.iter().any(|d| d.status != "Synced")
        })
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeApp {
    pub name: String,
    pub project: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub change: Change,
    /// The commits (or chart versions) rendered, one per source.
    pub revisions: Vec<String>,
    pub diffs: Vec<ObjectPreview>,
    /// Why this app could not be rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For a removed app with the resources finalizer: its objects, deleted with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pruned: Vec<String>,
}

struct Visit {
    app: Application,
    parent: Option<String>,
    change: Change,
    revision: Option<String>,
    depth: usize,
}

pub async fn preview_tree(
    ctx: &Arc<Context>,
    root: &Application,
    revision: Option<&str>,
) -> Result<TreePreview, PreviewError> {
    let revision = revision.filter(|r| !r.is_empty()).map(str::to_string);
    let mut tree = Tree::new();
    let mut apps = Vec::new();
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([Visit {
        app: root.clone(),
        parent: None,
        change: Change::Unchanged,
        revision: revision.clone(),
        depth: 0,
    }]);
    while let Some(visit) = queue.pop_front() {
        let name = visit.app.metadata.name.clone().unwrap_or_default();
        if !seen.insert(name.clone()) || visit.depth > MAX_DEPTH {
            continue;
        }
        let mut entry = TreeApp {
            name: name.clone(),
            project: driftless_decisions::validate::project_name(&visit.app).to_string(),
            parent: visit.parent.clone(),
            change: visit.change,
            revisions: Vec::new(),
            diffs: Vec::new(),
            error: None,
            pruned: Vec::new(),
        };
        let rendered = match preview(ctx, &visit.app, visit.revision.as_deref()).await {
            Ok(rendered) => rendered,
            // The root failing is the answer; a child failing is part of it.
            Err(error) if visit.depth == 0 => return Err(error),
            Err(error) => {
                entry.error = Some(error.to_string());
                apps.push(entry);
                continue;
            }
        };
        for object in &rendered.manifests {
            tree.push(name.clone(), object.clone());
        }
        for child in rendered
            .manifests
            .iter()
            .filter(|o| tree_rules::is_application(o))
        {
            let child_name = tree_rules::name_of(child).to_string();
            let status = status_of(&rendered.diffs, &child_name);
            match read_child(ctx, child) {
                Ok(app) => {
                    let follows = visit.revision.is_some()
                        && tree_rules::follows_root(&app, visit.app.sources());
                    queue.push_back(Visit {
                        revision: if follows {
                            visit.revision.clone()
                        } else {
                            None
                        },
                        app,
                        parent: Some(name.clone()),
                        change: Change::of_status(status),
                        depth: visit.depth + 1,
                    });
                }
                Err(message) => apps.push(TreeApp {
                    name: child_name,
                    project: String::new(),
                    parent: Some(name.clone()),
                    change: Change::of_status(status),
                    revisions: Vec::new(),
                    diffs: Vec::new(),
                    error: Some(message),
                    pruned: Vec::new(),
                }),
            }
        }
        let removed: Vec<String> = rendered
            .diffs
            .iter()
            .filter(|d| d.group == GROUP && d.kind == "Application" && d.status == "Extraneous")
            .map(|d| d.name.clone())
            .collect();
        entry.revisions = rendered.revisions;
        entry.diffs = rendered.diffs;
        apps.push(entry);
        for child_name in removed {
            apps.push(removed_child(ctx, &name, &child_name).await);
        }
    }
    Ok(TreePreview {
        root: root.metadata.name.clone().unwrap_or_default(),
        revision,
        apps,
        findings: driftless_guard::check(&tree),
    })
}

fn status_of<'a>(diffs: &'a [ObjectPreview], child: &str) -> &'a str {
    diffs
        .iter()
        .find(|d| d.group == GROUP && d.kind == "Application" && d.name == child)
        .map(|d| d.status)
        .unwrap_or("Synced")
}

/// A rendered child Application, in the control namespace unless it names another.
fn read_child(ctx: &Context, object: &Value) -> Result<Application, String> {
    let mut app: Application = serde_json::from_value(object.clone()).map_err(|e| {
        format!(
            "failed to read the child Application {}: {e}",
            tree_rules::name_of(object)
        )
    })?;
    if app.metadata.namespace.as_deref().is_none_or(str::is_empty) {
        app.metadata.namespace = Some(ctx.config.app_namespace.clone());
    }
    Ok(app)
}

/// A child no longer rendered: pruned with its objects when it has the resources finalizer.
async fn removed_child(ctx: &Context, parent: &str, name: &str) -> TreeApp {
    let live = ctx.apps().get_opt(name).await.ok().flatten();
    let value = live
        .map(|o| serde_json::to_value(o).unwrap_or_default())
        .unwrap_or_default();
    let cascades = value["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|f| f.starts_with(RESOURCES_FINALIZER));
    let pruned = if cascades {
        value["status"]["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                format!(
                    "{}/{}/{}/{}",
                    text("group"),
                    text("kind"),
                    text("namespace"),
                    text("name")
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    TreeApp {
        name: name.to_string(),
        project: value["spec"]["project"]
            .as_str()
            .unwrap_or("default")
            .to_string(),
        parent: Some(parent.to_string()),
        change: Change::Removed,
        revisions: Vec::new(),
        diffs: Vec::new(),
        error: None,
        pruned,
    }
}
