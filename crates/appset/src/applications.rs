//! From an ApplicationSet to the Applications it wants: run every generator, render the
//! template (merged with the generator's own `template`) with each parameter set, apply
//! `templatePatch`, and check the names. Any failure fails the whole ApplicationSet, so the
//! caller changes no Application on a generator error.

use driftless_model::annotations::RESOURCES_FINALIZER;
use driftless_model::{API_VERSION, ApplicationSet};
use serde_json::{Map, Value, json};

use crate::generators::{self, Context, GeneratorError, Inputs, generator_template};
use crate::gotemplate::{GoTemplateError, GoTemplateOptions};
use crate::merge_json::{fill_empty, merge_patch};
use crate::params::Params;
use crate::render::{Mode, RenderError};

/// Generating the Applications failed: nothing may change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppSetError {
    #[error("failed to read the ApplicationSet: {0}")]
    Spec(String),
    #[error("failed to generate parameters (generator {index}): {source}")]
    Generator {
        index: usize,
        #[source]
        source: GeneratorError,
    },
    #[error("failed to render the template (generator {index}): {source}")]
    Render {
        index: usize,
        #[source]
        source: RenderError,
    },
    #[error("failed to apply templatePatch (generator {index}): {message}")]
    TemplatePatch { index: usize, message: String },
    #[error(
        "ApplicationSet {appset} contains an application with no name; a name must be set in the template's metadata.name or via a templatePatch"
    )]
    EmptyName { appset: String },
    #[error("ApplicationSet {appset} contains applications with duplicate name: {name}")]
    DuplicateName { appset: String, name: String },
    #[error("failed to read generated Application {name}: {message}")]
    InvalidApplication { name: String, message: String },
}

impl AppSetError {
    /// Argo CD's condition reason for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            AppSetError::Spec(_) | AppSetError::Generator { .. } => {
                "ApplicationGenerationFromParamsError"
            }
            AppSetError::Render { .. } | AppSetError::TemplatePatch { .. } => {
                "RenderTemplateParamsError"
            }
            AppSetError::EmptyName { .. }
            | AppSetError::DuplicateName { .. }
            | AppSetError::InvalidApplication { .. } => "ApplicationValidationError",
        }
    }

    /// Whether the parameters were generated before this failed.
    pub fn parameters_generated(&self) -> bool {
        !matches!(self, AppSetError::Spec(_) | AppSetError::Generator { .. })
    }
}

/// The template mode of an ApplicationSet.
pub fn mode_of(appset: &ApplicationSet) -> Result<Mode, AppSetError> {
    if appset.spec.go_template.unwrap_or(false) {
        let options = appset.spec.go_template_options.clone().unwrap_or_default();
        let options = GoTemplateOptions::parse(&options)
            .map_err(|e: GoTemplateError| AppSetError::Spec(e.to_string()))?;
        Ok(Mode::Go(options))
    } else {
        Ok(Mode::Default)
    }
}

/// The Applications `appset` generates, in generator order, as `argoproj.io/v1alpha1`
/// Application objects (metadata: name, the ApplicationSet's namespace, labels,
/// annotations, finalizers, and a controller owner reference when the ApplicationSet has a
/// uid; spec). No status.
pub fn generate(appset: &ApplicationSet, inputs: Inputs<'_>) -> Result<Vec<Value>, AppSetError> {
    let mode = mode_of(appset)?;
    let spec = &appset.spec;
    let base = serde_json::to_value(&spec.template)
        .map_err(|e| AppSetError::Spec(format!("template: {e}")))?;
    let base = base.as_object().cloned().unwrap_or_default();
    let preserve = spec
        .sync_policy
        .as_ref()
        .and_then(|p| p.preserve_resources_on_deletion)
        .unwrap_or(false);
    let ctx = Context { mode, inputs };
    let mut apps = Vec::new();
    for (index, generator) in spec.generators.iter().enumerate() {
        let generator = serde_json::to_value(generator)
            .map_err(|e| AppSetError::Spec(format!("generator {index}: {e}")))?;
        let param_sets = generators::generate(&generator, ctx)
            .map_err(|source| AppSetError::Generator { index, source })?;
        let template = match generator_template(&generator).and_then(Value::as_object) {
            Some(own) => {
                let mut own = own.clone();
                fill_empty(&mut own, &base);
                own
            }
            None => base.clone(),
        };
        for params in &param_sets {
            let mut app = render_application(&template, params, mode, preserve)
                .map_err(|source| AppSetError::Render { index, source })?;
            if let Some(patch) = spec.template_patch.as_deref() {
                apply_template_patch(&mut app, patch, params, mode)
                    .map_err(|message| AppSetError::TemplatePatch { index, message })?;
            }
            apps.push(finish(app, appset));
        }
    }
    validate(&apps, appset)?;
    Ok(apps)
}

/// The template rendered into an Application (name, labels, annotations, finalizers, spec).
fn render_application(
    template: &Map<String, Value>,
    params: &Params,
    mode: Mode,
    preserve_resources: bool,
) -> Result<Value, RenderError> {
    // Argo CD leaves the template as written for an empty parameter set.
    if params.is_empty() {
        return Ok(application_shape(template));
    }
    let rendered = mode.render_value(&Value::Object(template.clone()), params)?;
    let mut app = application_shape(rendered.as_object().unwrap_or(&Map::new()));
    let has_finalizers = app["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    if !preserve_resources && !has_finalizers {
        app["metadata"]["finalizers"] = json!([RESOURCES_FINALIZER]);
    }
    Ok(app)
}

/// Only the parts of the template metadata an Application takes from it.
fn application_shape(template: &Map<String, Value>) -> Value {
    let meta = template.get("metadata").cloned().unwrap_or(json!({}));
    let mut metadata = Map::new();
    for key in ["name", "labels", "annotations", "finalizers"] {
        if let Some(v) = meta.get(key).filter(|v| !v.is_null()) {
            metadata.insert(key.into(), v.clone());
        }
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or(json!({})),
    })
}

/// Renders `templatePatch` and merges the YAML it produces into the Application; the
/// patch may not change the project.
fn apply_template_patch(
    app: &mut Value,
    patch: &str,
    params: &Params,
    mode: Mode,
) -> Result<(), String> {
    let rendered = mode.replace(patch, params).map_err(|e| e.to_string())?;
    let patch: Value = serde_norway::from_str(&rendered)
        .map_err(|e| format!("invalid templatePatch {rendered:?}: {e}"))?;
    match &patch {
        Value::Null => return Ok(()),
        Value::Object(_) => {}
        _ => return Err(format!("invalid templatePatch {rendered:?}: not a mapping")),
    }
    let project = app["spec"]["project"].clone();
    merge_patch(app, &patch);
    if let Some(spec) = app.get_mut("spec").and_then(Value::as_object_mut) {
        if project.is_null() {
            spec.remove("project");
        } else {
            spec.insert("project".into(), project);
        }
    }
    Ok(())
}

/// Namespace and owner: the ApplicationSet's, whatever the template says.
fn finish(mut app: Value, appset: &ApplicationSet) -> Value {
    // A templatePatch may have replaced metadata with something else; then it has no name.
    if !app["metadata"].is_object() {
        app["metadata"] = json!({});
    }
    let metadata = &mut app["metadata"];
    match &appset.metadata.namespace {
        Some(ns) => metadata["namespace"] = json!(ns),
        None => {
            if let Some(m) = metadata.as_object_mut() {
                m.remove("namespace");
            }
        }
    }
    if let (Some(uid), Some(name)) = (&appset.metadata.uid, &appset.metadata.name) {
        metadata["ownerReferences"] = json!([{
            "apiVersion": API_VERSION,
            "kind": "ApplicationSet",
            "name": name,
            "uid": uid,
            "controller": true,
            "blockOwnerDeletion": true,
        }]);
    }
    app
}

/// Every Application has a name, no name twice, and each reads as an Application.
fn validate(apps: &[Value], appset: &ApplicationSet) -> Result<(), AppSetError> {
    let appset_name = appset.metadata.name.clone().unwrap_or_default();
    let mut seen = std::collections::BTreeSet::new();
    for app in apps {
        let name = app["metadata"]["name"].as_str().unwrap_or("");
        if name.is_empty() {
            return Err(AppSetError::EmptyName {
                appset: appset_name,
            });
        }
        if !seen.insert(name.to_string()) {
            return Err(AppSetError::DuplicateName {
                appset: appset_name,
                name: name.to_string(),
            });
        }
        serde_json::from_value::<driftless_model::Application>(app.clone()).map_err(|e| {
            AppSetError::InvalidApplication {
                name: name.to_string(),
                message: e.to_string(),
            }
        })?;
    }
    Ok(())
}
