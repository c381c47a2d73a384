//! Generators: each turns its part of `spec.generators` into parameter sets, with Argo CD's
//! parameter names. A generator is read as JSON so that matrix children (JSON in the CRD)
//! and the second child's interpolation with the first child's parameters work the same way
//! for every kind.

mod clusters;
mod git;
mod list;
mod matrix;
mod merge;
pub mod selector;

use k8s_openapi::api::core::v1::Secret;
use serde_json::Value;

use crate::git_input::{GitError, GitFiles};
use crate::params::{Params, as_labels};
use crate::render::{Mode, RenderError};

pub use selector::{LabelSelector, SelectorError};

/// What the generators read from outside the ApplicationSet.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    /// Repositories for the git generator.
    pub git: &'a dyn GitFiles,
    /// Argo CD cluster Secrets (`argocd.argoproj.io/secret-type: cluster`) from the
    /// controller's namespace, for the clusters generator.
    pub cluster_secrets: &'a [Secret],
}

/// A generator failed; the ApplicationSet must then change nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeneratorError {
    #[error("failed to read the git repository: {0}")]
    Git(#[from] GitError),
    #[error("failed to render parameters: {0}")]
    Render(#[from] RenderError),
    #[error("failed to read the {generator} generator: {message}")]
    Invalid {
        generator: &'static str,
        message: String,
    },
    #[error("failed to generate: the {0} generator is not supported yet")]
    Unsupported(String),
    #[error("failed to generate: a generator entry names no generator")]
    Empty,
    #[error("failed to apply the selector: {0}")]
    Selector(#[from] SelectorError),
    #[error("failed to process file {path:?} from {repo_url}: {message}")]
    File {
        path: String,
        repo_url: String,
        message: String,
    },
}

impl GeneratorError {
    fn invalid(generator: &'static str, message: impl std::fmt::Display) -> Self {
        GeneratorError::Invalid {
            generator,
            message: message.to_string(),
        }
    }
}

/// Everything a generator needs besides its own spec.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub mode: Mode,
    pub inputs: Inputs<'a>,
}

/// The generator kinds Argo CD has, in the order its struct lists them.
const KINDS: &[&str] = &[
    "list",
    "clusters",
    "git",
    "scmProvider",
    "clusterDecisionResource",
    "pullRequest",
    "matrix",
    "merge",
    "plugin",
];

/// The parameter sets of one `spec.generators` entry (or matrix/merge child), after its
/// `selector`.
pub fn generate(generator: &Value, ctx: Context<'_>) -> Result<Vec<Params>, GeneratorError> {
    let kinds: Vec<&str> = KINDS
        .iter()
        .copied()
        .filter(|k| generator.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    // Argo CD runs every generator set in one entry; one per entry is the norm.
    let mut out = Vec::new();
    if kinds.is_empty() {
        return Err(GeneratorError::Empty);
    }
    for kind in kinds {
        let spec = &generator[kind];
        let params = match kind {
            "list" => list::generate(spec, ctx)?,
            "git" => git::generate(spec, ctx)?,
            "clusters" => clusters::generate(spec, ctx)?,
            "matrix" => matrix::generate(spec, ctx)?,
            "merge" => merge::generate(spec, ctx)?,
            other => return Err(GeneratorError::Unsupported(other.to_string())),
        };
        out.extend(params);
    }
    apply_selector(generator.get("selector"), out)
}

/// The `selector` post-filter: keeps the parameter sets whose flattened parameters match.
fn apply_selector(
    selector: Option<&Value>,
    params: Vec<Params>,
) -> Result<Vec<Params>, GeneratorError> {
    let Some(selector) = selector.filter(|s| !s.is_null()) else {
        return Ok(params);
    };
    let selector = LabelSelector::from_json(selector)?;
    Ok(params
        .into_iter()
        .filter(|p| selector.matches(&as_labels(p)))
        .collect())
}

/// The generator's own `template` (partial Application template), if any.
pub fn generator_template(generator: &Value) -> Option<&Value> {
    KINDS
        .iter()
        .filter_map(|k| generator.get(*k))
        .find_map(|spec| spec.get("template"))
        .filter(|t| !t.is_null())
}

/// Adds a generator's `values` to a parameter set: each value is itself a template over the
/// parameters so far; they land under `values.<key>` (default mode) or `.values.<key>`.
pub(crate) fn append_values(
    values: Option<&Value>,
    params: &mut Params,
    mode: Mode,
) -> Result<(), GeneratorError> {
    let Some(values) = values.and_then(Value::as_object) else {
        return Ok(());
    };
    // Rendered against the parameters before any value is added, as Argo CD does.
    let mut rendered = serde_json::Map::new();
    for (key, value) in values {
        let template = match value {
            Value::String(s) => s.clone(),
            other => crate::params::go_string(other),
        };
        rendered.insert(key.clone(), Value::String(mode.replace(&template, params)?));
    }
    if mode.is_go() {
        params.insert("values".into(), Value::Object(rendered));
    } else {
        for (key, value) in rendered {
            params.insert(format!("values.{key}"), value);
        }
    }
    Ok(())
}
