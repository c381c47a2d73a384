//! Rendering a whole Application: each source (`spec.source` or `spec.sources[]`) with
//! Argo CD's defaults resolved, `ref` sources lent to `$ref/…` value files, everything
//! through the render cache, then one namespace-and-identity pass over all objects.

use crate::cache::RenderCache;
use crate::commit::render_at_commit;
use crate::finalize::{self, DesiredObject};
use crate::jsonnet;
use crate::kustomize::deps::KUSTOMIZATION_FILES;
use crate::paths;
use crate::plugin::{self, BuildEnv, PluginOptions};
use crate::render::{RenderError, StepError};
use crate::scope::ScopeLookup;
use crate::spec::{
    DirectoryOptions, HelmFileParameter, HelmOptions, HelmParameter, JsonnetOptions, JsonnetVar,
    KustomizeOptions, Method, RenderParams, Replica,
};
use crate::tools::Toolbox;
use crate::tree::TreeSource;
use driftless_model::source::{HelmSource, JsonnetVar as ModelJsonnetVar, KustomizeSource};
use driftless_model::{Application, ApplicationSource, SourceKind};
use serde_json::Value;
use std::collections::BTreeMap;

/// Opens a repository at a revision (`targetRevision`, `HEAD` by default), or a chart of a
/// Helm repository at a version or constraint.
pub trait RepoResolver {
    fn open(&self, repo_url: &str, revision: &str) -> Result<Box<dyn TreeSource + '_>, String>;

    fn open_chart(
        &self,
        _repo_url: &str,
        _chart: &str,
        _revision: &str,
        _pass_credentials: bool,
    ) -> Result<Box<dyn TreeSource + '_>, String> {
        Err(no_chart_cache())
    }

    /// Fetches chart dependencies for this resolver's renders, if it can.
    fn chart_fetcher(&self) -> Option<&dyn crate::charts::ChartFetcher> {
        None
    }
}

pub(crate) fn no_chart_cache() -> String {
    "failed to fetch the chart: this render has no chart repository cache (charts from Helm repositories need `driftless serve` or a render without --repo-root)".into()
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

impl<'a> Engine<'a> {
    /// An engine with `toolbox` and nothing else: no render cache, no cluster to ask for
    /// kinds or versions (the CLI offline, tests).
    pub fn offline(toolbox: Toolbox<'a>) -> Self {
        Self {
            toolbox,
            cache: None,
            discovery: None,
            kube_version: None,
            api_versions: &[],
        }
    }
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
        let shown_url = driftless_source::redact_url(&source.repo_url);
        let main = match source.chart.as_deref().filter(|c| !c.is_empty()) {
            Some(chart) => {
                let revision = crate::origin::revision_of(source);
                let pass_credentials = source
                    .helm
                    .as_ref()
                    .and_then(|h| h.pass_credentials)
                    .unwrap_or(false);
                resolver
                    .open_chart(&source.repo_url, chart, revision, pass_credentials)
                    .map_err(|e| {
                        let what =
                            format!("failed to open chart {chart} {revision:?} from {shown_url}");
                        fail("read source", format!("{what}: {e}"))
                    })?
            }
            None => resolver
                .open(&source.repo_url, source.revision())
                .map_err(|e| {
                    let what = format!("failed to open {shown_url} at {}", source.revision());
                    fail("read source", format!("{what}: {e}"))
                })?,
        };
        let mut params = params_for(&name, &destination_namespace, source, main.as_ref(), engine)?;
        if let Method::Plugin(plugin) = &mut params.method {
            plugin.build.project = app.spec.project.clone();
        }
        let toolbox = Toolbox {
            charts: engine.toolbox.charts.or(resolver.chart_fetcher()),
            ..engine.toolbox
        };
        let out = render_at_commit(toolbox, engine.cache, &name, &params, main.as_ref(), &refs)?;
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
/// the files when the Application does not say (a plugin's discover rules first, then a
/// kustomization wins over a Chart.yaml),
/// the release name from the app name, the helm namespace from the destination.
pub fn params_for(
    app: &str,
    destination_namespace: &str,
    source: &ApplicationSource,
    tree: &dyn TreeSource,
    engine: Engine<'_>,
) -> Result<RenderParams, RenderError> {
    let fail = |message: String| RenderError::new(app, "read source", StepError::Other(message));
    if let Some(version) = source.helm.as_ref().and_then(|h| h.version.as_deref())
        && !matches!(version.trim(), "" | "v3" | "3")
    {
        return Err(fail(format!(
            "failed to render with helm {version}: only Helm v3 renders charts (as in Argo CD 3)"
        )));
    }
    // A chart from a Helm repository: its tree is the unpacked chart; `path` does not apply.
    if source.chart.as_deref().is_some_and(|c| !c.is_empty()) {
        return Ok(RenderParams {
            path: String::new(),
            method: Method::Helm(helm_options(
                app,
                destination_namespace,
                source.helm.as_deref(),
                engine,
            )),
        });
    }
    let path = source.path.clone().unwrap_or_default();
    let plugin_options = || {
        PluginOptions::from_source(
            source.plugin.as_deref(),
            plugin_build_env(app, destination_namespace, source, tree, engine),
        )
    };
    let kind = match source.kind().map_err(|e| fail(e.to_string()))? {
        // Argo CD asks the plugins' discovery rules before it looks for kustomize/helm files.
        SourceKind::Unknown if plugin::claims(engine.toolbox, tree, &path, &plugin_options()) => {
            SourceKind::Plugin
        }
        SourceKind::Unknown => detect_kind(tree, &path).map_err(fail)?,
        known => known,
    };
    let method = match kind {
        SourceKind::Helm => Method::Helm(helm_options(
            app,
            destination_namespace,
            source.helm.as_deref(),
            engine,
        )),
        SourceKind::Kustomize => {
            Method::Kustomize(kustomize_options(source.kustomize.as_deref()).map_err(fail)?)
        }
        SourceKind::Directory | SourceKind::Unknown => Method::Directory(
            directory_options(app, destination_namespace, source, tree, engine).map_err(fail)?,
        ),
        SourceKind::Plugin => Method::Plugin(plugin_options()),
    };
    Ok(RenderParams { path, method })
}

/// Argo CD's build environment of a plugin, but the project (set by the caller).
fn plugin_build_env(
    app: &str,
    destination_namespace: &str,
    source: &ApplicationSource,
    tree: &dyn TreeSource,
    engine: Engine<'_>,
) -> BuildEnv {
    let target_revision = source.target_revision.clone().unwrap_or_default();
    BuildEnv {
        app_name: app.to_string(),
        app_namespace: destination_namespace.to_string(),
        project: String::new(),
        // A directory on disk has no commit: its target revision stands in.
        revision: tree
            .revision()
            .unwrap_or_else(|| source.revision().to_string()),
        repo_url: source.repo_url.clone(),
        source_path: source.path.clone().unwrap_or_default(),
        target_revision,
        kube_version: engine.kube_version.map(str::to_string),
        api_versions: engine.api_versions.to_vec(),
    }
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

fn directory_options(
    app: &str,
    destination_namespace: &str,
    source: &ApplicationSource,
    tree: &dyn TreeSource,
    engine: Engine<'_>,
) -> Result<DirectoryOptions, String> {
    let Some(d) = source.directory.as_ref() else {
        return Ok(DirectoryOptions::default());
    };
    let jsonnet = match &d.jsonnet {
        Some(j) => {
            let env = build_env(app, destination_namespace, source, tree, engine);
            JsonnetOptions {
                ext_vars: jsonnet_vars(j.ext_vars.as_deref(), "extVar", &env)?,
                tlas: jsonnet_vars(j.tlas.as_deref(), "tla", &env)?,
                libs: j.libs.clone().unwrap_or_default(),
            }
        }
        None => JsonnetOptions::default(),
    };
    Ok(DirectoryOptions {
        recurse: d.recurse.unwrap_or(false),
        include: d.include.clone(),
        exclude: d.exclude.clone(),
        jsonnet,
    })
}

/// The part of Argo CD's build environment known before a render, for `$VAR` in values:
/// not the project (set later), and the revision only when the files come from a commit.
fn build_env(
    app: &str,
    destination_namespace: &str,
    source: &ApplicationSource,
    tree: &dyn TreeSource,
    engine: Engine<'_>,
) -> BTreeMap<String, String> {
    let from_commit = tree.revision().is_some();
    plugin_build_env(app, destination_namespace, source, tree, engine)
        .app_variables()
        .into_iter()
        .filter(|(name, _)| *name != "ARGOCD_APP_PROJECT_NAME")
        .filter(|(name, _)| from_commit || !name.starts_with("ARGOCD_APP_REVISION"))
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

/// Argo CD expands the build environment in every value, code or not.
fn jsonnet_vars(
    vars: Option<&[ModelJsonnetVar]>,
    what: &str,
    env: &BTreeMap<String, String>,
) -> Result<Vec<JsonnetVar>, String> {
    vars.unwrap_or_default()
        .iter()
        .map(|v| {
            let value = jsonnet::expand(&v.value, env).map_err(|var| {
                format!(
                    "failed to expand ${var} in jsonnet {what} {:?}: driftless does not know it when rendering",
                    v.name
                )
            })?;
            Ok(JsonnetVar {
                name: v.name.clone(),
                value,
                code: v.code.unwrap_or(false),
            })
        })
        .collect()
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
        // helm reads values as YAML 1.1.
        Some(object) if !object.is_null() => driftless_model::yaml::to_string(object).ok(),
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
