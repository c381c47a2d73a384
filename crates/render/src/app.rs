//! Rendering a whole Application: each source (`spec.source` or `spec.sources[]`) with
//! Argo CD's defaults resolved, `ref` sources lent to `$ref/…` value files, everything
//! through the render cache, then one namespace-and-identity pass over all objects.

use crate::cache::RenderCache;
use crate::commit::render_at_commit;
use crate::finalize::{self, DesiredObject};
use crate::kustomize::deps::KUSTOMIZATION_FILES;
use crate::paths;
use crate::render::{RenderError, StepError};
use crate::scope::ScopeLookup;
use crate::spec::{
    DirectoryOptions, HelmFileParameter, HelmOptions, HelmParameter, KustomizeOptions, Method,
    RenderParams, Replica,
};
use crate::tools::Toolbox;
use crate::tree::TreeSource;
use driftless_model::source::{DirectorySource, HelmSource, KustomizeSource};
use driftless_model::{Application, ApplicationSource, SourceKind};
use serde_json::Value;
use std::collections::BTreeMap;

/// Opens a repository at a revision (`targetRevision`, `HEAD` by default).
pub trait RepoResolver {
    fn open(&self, repo_url: &str, revision: &str) -> Result<Box<dyn TreeSource + '_>, String>;
}

/// Opens every repository URL as one directory on disk (`driftless render --repo-root`).
pub struct DirResolver {
    pub root: std::path::PathBuf,
}

impl RepoResolver for DirResolver {
    fn open(&self, _repo_url: &str, _revision: &str) -> Result<Box<dyn TreeSource + '_>, String> {
        Ok(Box::new(crate::tree::DirTree::new(self.root.clone())))
    }
}

/// What a render may use besides the Application.
#[derive(Clone, Copy)]
pub struct Engine<'a> {
    pub toolbox: Toolbox<'a>,
    pub cache: Option<&'a RenderCache>,
    /// Scope of kinds the built-in table does not know (API discovery when a cluster is given).
    pub discovery: Option<&'a dyn ScopeLookup>,
    /// The destination cluster's version and API versions, passed to helm when the source
    /// does not set them (as Argo CD does); `None`/empty offline.
    pub kube_version: Option<&'a str>,
    pub api_versions: &'a [String],
}

/// The desired objects of an Application, sorted, and how each source was rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRender {
    pub objects: Vec<DesiredObject>,
    /// One entry per rendered source: its index in the sources and whether the cache had it.
    pub sources: Vec<SourceRender>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRender {
    pub index: usize,
    pub cache_hit: bool,
    pub params: String,
}

pub fn render_application(
    app: &Application,
    resolver: &dyn RepoResolver,
    engine: Engine<'_>,
) -> Result<AppRender, RenderError> {
    let name = app.metadata.name.clone().unwrap_or_default();
    let fail =
        |step: &str, message: String| RenderError::new(&name, step, StepError::Other(message));
    let destination_namespace = app.spec.destination.namespace.clone().unwrap_or_default();
    let sources = app.sources();
    if sources.is_empty() {
        return Err(fail(
            "read source",
            "failed to find a source: spec.source and spec.sources are empty".into(),
        ));
    }

    let mut ref_trees = BTreeMap::new();
    for source in sources {
        if let Some(reference) = source.reference.as_deref().filter(|r| !r.is_empty()) {
            let tree = resolver
                .open(&source.repo_url, source.revision())
                .map_err(|e| {
                    fail(
                        "read source",
                        format!("failed to open ${reference} ({}): {e}", source.repo_url),
                    )
                })?;
            ref_trees.insert(reference.to_string(), tree);
        }
    }
    let refs: BTreeMap<String, &dyn TreeSource> = ref_trees
        .iter()
        .map(|(k, v)| (k.clone(), v.as_ref()))
        .collect();

    let mut manifests = Vec::new();
    let mut rendered = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        if source.is_ref_only() {
            continue;
        }
        let main = resolver
            .open(&source.repo_url, source.revision())
            .map_err(|e| {
                fail(
                    "read source",
                    format!(
                        "failed to open {} at {}: {e}",
                        source.repo_url,
                        source.revision()
                    ),
                )
            })?;
        let params = params_for(&name, &destination_namespace, source, main.as_ref(), engine)?;
        let out = render_at_commit(
            engine.toolbox,
            engine.cache,
            &name,
            &params,
            main.as_ref(),
            &refs,
        )?;
        rendered.push(SourceRender {
            index,
            cache_hit: out.cache_hit,
            params: serde_json::to_string(&params).unwrap_or_default(),
        });
        manifests.extend(out.rendered.manifests);
    }
    let objects = finalize::finalize(manifests, &destination_namespace, engine.discovery)
        .map_err(|e| RenderError::new(&name, "check objects", e))?;
    Ok(AppRender {
        objects,
        sources: rendered,
    })
}

/// The render parameters of one source, with Argo CD's defaults: the source type from
/// the files when the Application does not say (a kustomization wins over a Chart.yaml),
/// the release name from the app name, the helm namespace from the destination.
pub fn params_for(
    app: &str,
    destination_namespace: &str,
    source: &ApplicationSource,
    tree: &dyn TreeSource,
    engine: Engine<'_>,
) -> Result<RenderParams, RenderError> {
    let fail = |message: String| RenderError::new(app, "read source", StepError::Other(message));
    if let Some(chart) = source.chart.as_deref().filter(|c| !c.is_empty()) {
        return Err(fail(format!(
            "failed to render chart {chart:?} from {}: charts from Helm repositories are not supported yet, use a chart in git",
            source.repo_url
        )));
    }
    let path = source.path.clone().unwrap_or_default();
    let kind = match source.kind().map_err(|e| fail(e.to_string()))? {
        SourceKind::Unknown => detect_kind(tree, &path).map_err(fail)?,
        known => known,
    };
    let method = match kind {
        SourceKind::Helm => Method::Helm(helm_options(
            app,
            destination_namespace,
            source.helm.as_ref(),
            engine,
        )),
        SourceKind::Kustomize => {
            Method::Kustomize(kustomize_options(source.kustomize.as_ref()).map_err(fail)?)
        }
        SourceKind::Directory | SourceKind::Unknown => {
            Method::Directory(directory_options(source.directory.as_ref()))
        }
        SourceKind::Plugin => {
            return Err(fail(
                "failed to render: config management plugins are not supported".into(),
            ));
        }
    };
    Ok(RenderParams { path, method })
}

fn detect_kind(tree: &dyn TreeSource, path: &str) -> Result<SourceKind, String> {
    let exists = |file: &str| -> Result<bool, String> {
        let joined =
            paths::join(path, file).ok_or_else(|| format!("failed to resolve path {path:?}"))?;
        tree.tree_id(&joined)
            .map(|id| id.is_some())
            .map_err(|e| e.to_string())
    };
    for file in KUSTOMIZATION_FILES {
        if exists(file)? {
            return Ok(SourceKind::Kustomize);
        }
    }
    if exists("Chart.yaml")? {
        return Ok(SourceKind::Helm);
    }
    Ok(SourceKind::Directory)
}

fn directory_options(directory: Option<&DirectorySource>) -> DirectoryOptions {
    let Some(d) = directory else {
        return DirectoryOptions::default();
    };
    DirectoryOptions {
        recurse: d.recurse.unwrap_or(false),
        include: d.include.clone(),
        exclude: d.exclude.clone(),
    }
}

fn helm_options(
    app: &str,
    destination_namespace: &str,
    helm: Option<&HelmSource>,
    engine: Engine<'_>,
) -> HelmOptions {
    let default = HelmSource::default();
    let h = helm.unwrap_or(&default);
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let values = match &h.values_object {
        Some(object) if !object.is_null() => serde_norway::to_string(object).ok(),
        _ => non_empty(&h.values),
    };
    let api_versions = h
        .api_versions
        .clone()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| engine.api_versions.to_vec());
    HelmOptions {
        release_name: non_empty(&h.release_name).unwrap_or_else(|| app.to_string()),
        namespace: non_empty(&h.namespace).unwrap_or_else(|| destination_namespace.to_string()),
        values,
        value_files: h.value_files.clone().unwrap_or_default(),
        parameters: h
            .parameters
            .iter()
            .flatten()
            .map(|p| HelmParameter {
                name: p.name.clone().unwrap_or_default(),
                value: p.value.clone().unwrap_or_default(),
                force_string: p.force_string.unwrap_or(false),
            })
            .collect(),
        file_parameters: h
            .file_parameters
            .iter()
            .flatten()
            .map(|p| HelmFileParameter {
                name: p.name.clone().unwrap_or_default(),
                path: p.path.clone().unwrap_or_default(),
            })
            .collect(),
        skip_crds: h.skip_crds.unwrap_or(false),
        skip_tests: h.skip_tests.unwrap_or(false),
        skip_schema_validation: h.skip_schema_validation.unwrap_or(false),
        kube_version: non_empty(&h.kube_version)
            .or_else(|| engine.kube_version.map(str::to_string)),
        api_versions,
        ignore_missing_value_files: h.ignore_missing_value_files.unwrap_or(false),
    }
}

fn kustomize_options(kustomize: Option<&KustomizeSource>) -> Result<KustomizeOptions, String> {
    let Some(k) = kustomize else {
        return Ok(KustomizeOptions::default());
    };
    let extra_flag = |key: &str| k.extra.get(key).and_then(Value::as_bool).unwrap_or(false);
    let replicas = k
        .replicas
        .iter()
        .flatten()
        .map(|r| {
            // `count` is an int-or-string; kustomize needs a number.
            let count = match serde_json::to_value(&r.count) {
                Ok(Value::Number(n)) => n.as_i64(),
                Ok(Value::String(s)) => s.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| {
                format!(
                    "failed to read kustomize replicas count of {}: not a number",
                    r.name
                )
            })?;
            Ok(Replica {
                name: r.name.clone(),
                count,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let patches = k
        .patches
        .iter()
        .flatten()
        .map(|p| {
            serde_json::to_value(p).map_err(|e| format!("failed to read a kustomize patch: {e}"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(KustomizeOptions {
        name_prefix: k.name_prefix.clone(),
        name_suffix: k.name_suffix.clone(),
        images: k.images.clone().unwrap_or_default(),
        common_labels: k.common_labels.clone().unwrap_or_default(),
        common_annotations: k.common_annotations.clone().unwrap_or_default(),
        force_common_labels: k.force_common_labels.unwrap_or(false),
        force_common_annotations: k.force_common_annotations.unwrap_or(false),
        label_without_selector: extra_flag("labelWithoutSelector"),
        label_include_templates: extra_flag("labelIncludeTemplates"),
        namespace: k.namespace.clone(),
        replicas,
        patches,
        components: k.components.clone().unwrap_or_default(),
        ignore_missing_components: extra_flag("ignoreMissingComponents"),
    })
}
