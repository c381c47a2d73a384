//! Rendering a whole App-of-Apps tree offline, from a local checkout: the root Application(s),
//! then every Application a render produces, recursively. Shared by `check` and `route`.
//!
//! The root is `--root FILE`, else `DIR/bootstrap/root.yaml`, else `DIR/root.yaml`; every
//! Application in that file (a YAML stream may hold several) starts the walk. Each repoURL is
//! read from `--repo-map` when it maps it, else from `--repo-root`, else from DIR. Revisions
//! are ignored: the checkout as it is on disk is what gets rendered.

use clap::Args;
use driftless_guard::{Finding, Tree};
use driftless_model::{Application, GROUP};
use driftless_render::{
    AppRender, DirTree, Engine, ProcessRunner, RepoResolver, Toolbox, Tools, TreeSource,
    render_application,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};

/// Deeper than this, the tree is taken to be a cycle that changes names on the way.
const MAX_DEPTH: usize = 16;

/// Where the tree is read from.
#[derive(Debug, Clone, Args)]
pub struct TreeArgs {
    /// The checkout holding the tree.
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// The root Application manifest [default: DIR/bootstrap/root.yaml, else DIR/root.yaml].
    #[arg(long, value_name = "FILE")]
    pub root: Option<PathBuf>,
    /// Read every repoURL from this directory instead of DIR.
    #[arg(long, value_name = "DIR")]
    pub repo_root: Option<PathBuf>,
    /// A YAML map of `repoURL: directory` (relative to the file) for trees spanning several
    /// repositories; URLs it does not name are read from --repo-root or DIR.
    #[arg(long, value_name = "FILE")]
    pub repo_map: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("failed to find the root Application: pass --root FILE, or put it at {0}")]
    NoRoot(String),
    #[error("failed to read {path}: {message}")]
    Read { path: String, message: String },
    #[error("failed to find an Application or ApplicationSet in {0}")]
    EmptyRoot(String),
    #[error("failed to render app {app}{parent}: {message}")]
    Render {
        app: String,
        parent: String,
        message: String,
    },
    #[error("failed to read Application {name} rendered by app {parent}: {message}")]
    Child {
        name: String,
        parent: String,
        message: String,
    },
    #[error(
        "failed to walk the tree: app {0} is more than {MAX_DEPTH} levels deep (a cycle through changing names?)"
    )]
    TooDeep(String),
}

/// What rendering the whole tree gave.
#[derive(Debug, Default)]
pub struct RenderedTree {
    /// Every rendered object, under the app that renders it (child Applications under their parent).
    pub tree: Tree,
    /// Rendered apps, in the order they were rendered.
    pub apps: Vec<String>,
    /// `volatile-field` findings, when every app was rendered twice.
    pub volatile: Vec<Finding>,
    /// Things the user should know that are not findings (printed on stderr).
    pub notes: Vec<String>,
}

/// Whether each app is rendered a second time to find volatile fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renders {
    Once,
    Twice,
}

/// Renders the tree rooted at the root file. Renders run the real tools with no render
/// cache, so that rendering twice runs helm and kustomize twice.
pub fn render_tree(args: &TreeArgs, renders: Renders) -> Result<RenderedTree, TreeError> {
    let root_file = root_file(args)?;
    let resolver = MapResolver::new(args)?;
    let tools = Tools::discover();
    let runner = ProcessRunner::default();
    let engine = Engine {
        toolbox: Toolbox {
            tools: &tools,
            runner: &runner,
        },
        cache: None,
        discovery: None,
        kube_version: None,
        api_versions: &[],
    };
    let (roots, root_sets) = read_root(&root_file)?;
    let mut out = RenderedTree::default();
    note_application_sets(&mut out, "the root file", &root_sets);

    let mut queue: VecDeque<Pending> = roots
        .into_iter()
        .map(|app| Pending {
            app,
            parent: None,
            depth: 0,
        })
        .collect();
    // Which render (parent) first produced each app: a second parent is reported, a cycle is not followed.
    let mut seen: HashMap<String, Option<String>> = HashMap::new();
    for pending in &queue {
        seen.insert(app_id(&pending.app), None);
    }
    while let Some(Pending { app, parent, depth }) = queue.pop_front() {
        let name = app.metadata.name.clone().unwrap_or_default();
        if depth > MAX_DEPTH {
            return Err(TreeError::TooDeep(name));
        }
        let rendered = render_once(&app, &resolver, engine, parent.as_deref())?;
        if renders == Renders::Twice {
            let again = render_once(&app, &resolver, engine, parent.as_deref())?;
            out.volatile.extend(driftless_guard::volatile_fields(
                &name,
                &values(&rendered),
                &values(&again),
            ));
        }
        let mut sets = Vec::new();
        for desired in &rendered.objects {
            if is_argo(&desired.object, "Application") {
                let child = read_child(&desired.object, &name)?;
                let id = app_id(&child);
                match seen.get(&id) {
                    None => {
                        seen.insert(id, Some(name.clone()));
                        queue.push_back(Pending { app: child, parent: Some(name.clone()), depth: depth + 1 });
                    }
                    Some(Some(first)) if first != &name => out.notes.push(format!(
                        "Application {id} is rendered by both app {first} and app {name}: they will fight over it"
                    )),
                    Some(_) => {}
                }
            } else if is_argo(&desired.object, "ApplicationSet") {
                sets.push(desired.key.name.clone());
            }
            out.tree.push(name.clone(), desired.object.clone());
        }
        note_application_sets(&mut out, &format!("app {name}"), &sets);
        out.apps.push(name);
    }
    Ok(out)
}

struct Pending {
    app: Application,
    parent: Option<String>,
    depth: usize,
}

fn render_once(
    app: &Application,
    resolver: &MapResolver,
    engine: Engine<'_>,
    parent: Option<&str>,
) -> Result<AppRender, TreeError> {
    render_application(app, resolver, engine).map_err(|e| TreeError::Render {
        app: app.metadata.name.clone().unwrap_or_default(),
        parent: parent
            .map(|p| format!(" (child of app {p})"))
            .unwrap_or_default(),
        // The render error names the app already; keep only what failed.
        message: format!("{}: {}", e.step, e.source),
    })
}

fn values(render: &AppRender) -> Vec<Value> {
    render.objects.iter().map(|d| d.object.clone()).collect()
}

/// ApplicationSets are not expanded offline yet: say so, since their apps go unchecked.
fn note_application_sets(out: &mut RenderedTree, owner: &str, names: &[String]) {
    for name in names {
        out.notes.push(format!(
            "ApplicationSet {name} in {owner} is not expanded: the Applications it generates are not checked"
        ));
    }
}

fn is_argo(object: &Value, kind: &str) -> bool {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    driftless_model::GroupKind::group_of_api_version(api_version) == GROUP
        && object.get("kind").and_then(Value::as_str) == Some(kind)
}

/// Apps are known by name: Argo CD keeps them in one namespace, and a root file often leaves
/// the namespace out where the rendered copy of the same app has it filled in.
fn app_id(app: &Application) -> String {
    app.metadata.name.clone().unwrap_or_default()
}

fn read_child(object: &Value, parent: &str) -> Result<Application, TreeError> {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    serde_json::from_value(object.clone()).map_err(|e| TreeError::Child {
        name,
        parent: parent.to_string(),
        message: e.to_string(),
    })
}

fn root_file(args: &TreeArgs) -> Result<PathBuf, TreeError> {
    if let Some(root) = &args.root {
        return Ok(root.clone());
    }
    let candidates = [
        args.dir.join("bootstrap/root.yaml"),
        args.dir.join("root.yaml"),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            TreeError::NoRoot(
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            )
        })
}

/// The Applications of the root file, and the names of its ApplicationSets.
fn read_root(path: &Path) -> Result<(Vec<Application>, Vec<String>), TreeError> {
    let shown = path.display().to_string();
    let read_err = |message: String| TreeError::Read {
        path: shown.clone(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
    let manifests = driftless_render::manifest::parse_yaml_stream(&shown, &text)
        .map_err(|e| read_err(e.to_string()))?;
    let mut apps = Vec::new();
    let mut sets = Vec::new();
    for manifest in manifests {
        if is_argo(&manifest.object, "Application") {
            let app: Application = serde_json::from_value(manifest.object)
                .map_err(|e| read_err(format!("the Application at {}: {e}", manifest.origin)))?;
            if app.metadata.name.as_deref().unwrap_or("").is_empty() {
                return Err(read_err(format!(
                    "the Application at {} has no metadata.name",
                    manifest.origin
                )));
            }
            apps.push(app);
        } else if is_argo(&manifest.object, "ApplicationSet") {
            let name = manifest
                .object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            sets.push(name.to_string());
        }
    }
    if apps.is_empty() && sets.is_empty() {
        return Err(TreeError::EmptyRoot(shown));
    }
    Ok((apps, sets))
}

