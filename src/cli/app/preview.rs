//! `driftless app manifests` and `driftless app diff`: the app rendered by the API server at
//! its target or at `--revision`, and how the live cluster differs from it (Secret values
//! masked). `diff` exits 0 when nothing differs and 1 when something does, like `diff(1)`.

use super::output::{Output, print_data};
use super::view::short_revision;
use crate::cli::app_source::CommandError;
use crate::cli::client::{AppBackend, PreviewKind};
use clap::Args;
use serde_json::Value;

#[derive(Debug, Args)]
pub struct PreviewArgs {
    pub name: String,
    /// A branch, tag or commit (or chart version) instead of the app's targetRevision.
    #[arg(long)]
    pub revision: Option<String>,
    /// `yaml` (default for manifests: one document per object) or `json`.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub preview: PreviewArgs,
    /// The whole App-of-Apps tree under the app: every child rendered (children of the same
    /// repository and target at --revision too), children added and removed, guard findings.
    #[arg(long)]
    pub tree: bool,
}

pub async fn manifests(backend: &impl AppBackend, args: PreviewArgs) -> Result<(), CommandError> {
    let answer = backend
        .app_preview(&args.name, PreviewKind::Manifests, args.revision.as_deref())
        .await?;
    let manifests = answer["manifests"].clone();
    if print_data(args.output, &manifests)? {
        return Ok(());
    }
    for object in manifests.as_array().into_iter().flatten() {
        let text = driftless_model::yaml::to_string(object)
            .map_err(|e| CommandError::Failed(format!("failed to write YAML: {e}")))?;
        print!("---\n{text}");
    }
    Ok(())
}

/// Returns whether nothing differs.
pub async fn diff(backend: &impl AppBackend, args: DiffArgs) -> Result<bool, CommandError> {
    let DiffArgs {
        preview: args,
        tree,
    } = args;
    let kind = if tree {
        PreviewKind::TreeDiff
    } else {
        PreviewKind::Diff
    };
    let answer = backend
        .app_preview(&args.name, kind, args.revision.as_deref())
        .await?;
    if print_data(args.output, &answer)? {
        return Ok(answer["differs"] != Value::Bool(true));
    }
    if tree {
        print!("{}", tree_text(&answer));
    } else {
        print!("{}", items_text(&answer["items"]));
    }
    Ok(answer["differs"] != Value::Bool(true))
}

/// One section per app of the tree, then the guard's findings (pure).
fn tree_text(answer: &Value) -> String {
    let mut out = String::new();
    for app in answer["apps"].as_array().into_iter().flatten() {
        let name = app["name"].as_str().unwrap_or_default();
        let change = app["change"].as_str().unwrap_or_default();
        let parent = app["parent"]
            .as_str()
            .map(|p| format!(" (child of {p})"))
            .unwrap_or_default();
        let at = app["revisions"]
            .as_array()
            .filter(|r| !r.is_empty())
            .map(|r| {
                let short: Vec<&str> = r
                    .iter()
                    .filter_map(Value::as_str)
                    .map(short_revision)
                    .collect();
                format!(" at {}", short.join(", "))
            })
            .unwrap_or_default();
        out.push_str(&format!("== {name}: {change}{parent}{at}\n"));
        if app["hidden"] == Value::Bool(true) {
            out.push_str("   (not shown: you may not get this application)\n");
            continue;
        }
        if let Some(error) = app["error"].as_str() {
            out.push_str(&format!("   error: {error}\n"));
        }
        if change == "Removed" {
            let pruned: Vec<&str> = app["pruned"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if pruned.is_empty() {
                out.push_str("   the Application would be deleted; its objects stay (no resources finalizer)\n");
            } else {
                out.push_str(&format!(
                    "   would be deleted with its {} objects:\n",
                    pruned.len()
                ));
                for key in pruned {
                    out.push_str(&format!("     {key}\n"));
                }
            }
        }
        out.push_str(&items_text(&app["diffs"]));
    }
    let findings: Vec<&Value> = answer["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    if !findings.is_empty() {
        out.push_str(&format!(
            "== guard: {} finding(s) at this revision\n",
            findings.len()
        ));
        for finding in findings {
            let text = |k: &str| finding[k].as_str().unwrap_or_default();
            out.push_str(&format!(
                "   {} {} {} {} {}: {}\n",
                text("severity"),
                text("rule"),
                text("app"),
                text("object"),
                text("path"),
                text("message")
            ));
        }
    }
    out
}

/// The diff of every object that is not Synced (pure).
fn items_text(items: &Value) -> String {
    let mut out = String::new();
    for item in items.as_array().into_iter().flatten() {
        let status = item["status"].as_str().unwrap_or("");
        if status == "Synced" {
            continue;
        }
        match item["diff"].as_str() {
            Some(text) => out.push_str(text),
            None => out.push_str(&format!(
                "{}/{} {}/{}: {status}\n",
                item["group"].as_str().unwrap_or(""),
                item["kind"].as_str().unwrap_or(""),
                item["namespace"].as_str().unwrap_or(""),
                item["name"].as_str().unwrap_or("")
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn the_tree_shows_each_app_its_change_and_the_findings() {
        let answer = json!({
            "apps": [
                {"name": "root", "change": "Unchanged", "revisions": ["0123456789abcdef0123456789abcdef01234567"],
                 "diffs": [{"group": "argoproj.io", "kind": "Application", "namespace": "argocd", "name": "new", "status": "Missing"}]},
                {"name": "new", "parent": "root", "change": "Added", "revisions": ["0123456789abcdef0123456789abcdef01234567"],
                 "diffs": [{"group": "", "kind": "ConfigMap", "namespace": "shop", "name": "web", "status": "Missing"}]},
                {"name": "old", "parent": "root", "change": "Removed", "pruned": ["/ConfigMap/shop/legacy"], "diffs": []},
                {"name": "broken", "parent": "root", "change": "Changed", "error": "failed to render application broken: bad YAML", "diffs": []},
                {"name": "secret-team", "parent": "root", "change": "Changed", "hidden": true},
            ],
            "findings": [{"severity": "error", "rule": "run-as-non-root", "app": "new", "object": "apps/Deployment/shop/web", "path": "/spec", "message": "runs as root"}],
        });
        assert_eq!(
            tree_text(&answer),
            "== root: Unchanged at 0123456\n\
             argoproj.io/Application argocd/new: Missing\n\
             == new: Added (child of root) at 0123456\n\
             /ConfigMap shop/web: Missing\n\
             == old: Removed (child of root)\n\
             \x20  would be deleted with its 1 objects:\n\
             \x20    /ConfigMap/shop/legacy\n\
             == broken: Changed (child of root)\n\
             \x20  error: failed to render application broken: bad YAML\n\
             == secret-team: Changed (child of root)\n\
             \x20  (not shown: you may not get this application)\n\
             == guard: 1 finding(s) at this revision\n\
             \x20  error run-as-non-root new apps/Deployment/shop/web /spec: runs as root\n"
        );
    }
}
