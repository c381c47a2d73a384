//! The CustomResourceDefinitions of Application, ApplicationSet and AppProject, generated from
//! the Rust types and made structural so the API server accepts them and keeps the fields
//! these types do not model (every object node says `x-kubernetes-preserve-unknown-fields`).

use crate::application::Application;
use crate::appset::ApplicationSet;
use crate::project::AppProject;
use crate::{GROUP, VERSION};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec, CustomResourceDefinitionVersion, CustomResourceSubresourceStatus,
    CustomResourceSubresources, CustomResourceValidation, JSONSchemaProps,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::CustomResourceExt;
use kube::core::dynamic::ApiResource;
use kube::core::schema::{OptionalEnum, OptionalIntOrString, StructuralSchemaRewriter};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use schemars::transform::AddNullable;
use serde_json::{Map, Value};

const PRESERVE_UNKNOWN: &str = "x-kubernetes-preserve-unknown-fields";
const INT_OR_STRING: &str = "x-kubernetes-int-or-string";

#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    #[error("failed to convert the generated schema of {kind}: {source}")]
    Schema {
        kind: String,
        source: serde_json::Error,
    },
    #[error("failed to write the CRDs: {0}")]
    Yaml(#[from] crate::yaml::YamlError),
}

/// The three CRDs, ready to apply: Application, ApplicationSet, AppProject.
/// Use this rather than the derived `ApplicationSet::crd()` / `AppProject::crd()`, whose
/// schemas have not been through [`make_structural`].
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut project = AppProject::crd();
    // Argo CD's AppProject has no status subresource (its API server writes status with the
    // object); keep that so tools that update it the same way keep working.
    for version in &mut project.spec.versions {
        version.subresources = None;
    }
    [Application::crd(), ApplicationSet::crd(), project]
        .into_iter()
        .map(structural)
        .collect()
}

/// The three CRDs as one multi-document YAML stream (what `driftless crds` prints).
pub fn crds_yaml() -> String {
    // The CRDs are built from static type information: failing here is a bug, not bad input,
    // and the tests render them.
    try_crds_yaml().expect("CRDs built from the model types always render as YAML")
}

/// Like [`crds_yaml`], reporting a failure instead of panicking.
pub fn try_crds_yaml() -> Result<String, CrdError> {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&crate::yaml::to_string(&crd)?);
    }
    Ok(out)
}

/// The schema of `T` as kube's derive generates it, then made structural.
pub fn schema_for<T: JsonSchema>() -> Result<JSONSchemaProps, CrdError> {
    let generator = SchemaSettings::openapi3()
        .with(|settings| {
            settings.inline_subschemas = true;
            settings.meta_schema = None;
        })
        .with_transform(AddNullable::default())
        .with_transform(StructuralSchemaRewriter)
        .with_transform(OptionalEnum)
        .with_transform(OptionalIntOrString)
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    make_structural(&mut schema, true);
    serde_json::from_value(schema).map_err(|source| CrdError::Schema {
        kind: T::schema_name().into_owned(),
        source,
    })
}

/// The CRD with its schema made structural (the derive's own output is not always).
/// A schema that does not convert is left as it was; the structural test then fails on it.
fn structural(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        let Ok(mut value) = serde_json::to_value(&*schema) else {
            continue;
        };
        make_structural(&mut value, true);
        if let Ok(fixed) = serde_json::from_value(value) {
            *schema = fixed;
        }
    }
    crd
}

/// Rewrites a generated schema so the API server accepts it as structural and keeps unknown
/// fields: free-form nodes become `x-kubernetes-preserve-unknown-fields`, objects that keep
/// unknown fields lose `additionalProperties` next to `properties`, every node gets a `type`,
/// and `default`s are dropped (the server would write them into stored objects, so what was
/// applied would no longer read back unchanged). `is_root` marks the top of a CRD schema,
/// where unknown fields are not kept (the API server only knows apiVersion/kind/metadata).
pub fn make_structural(node: &mut Value, is_root: bool) {
    // `true` (or `{}`) means "anything": say so in the form the API server understands.
    if node.as_bool() == Some(true) || node.as_object().is_some_and(Map::is_empty) {
        *node = serde_json::json!({ PRESERVE_UNKNOWN: true });
        return;
    }
    let Some(map) = node.as_object_mut() else {
        return;
    };
    for key in ["default", "$schema", "title", "examples"] {
        map.remove(key);
    }
    let preserves = map.get(PRESERVE_UNKNOWN) == Some(&Value::Bool(true));
    if map.contains_key("properties") {
        if let Some(extra) = map.remove("additionalProperties") {
            // `additionalProperties: false` would mean "no unknown fields"; our types never say that.
            if extra != Value::Bool(false) && !is_root {
                map.insert(PRESERVE_UNKNOWN.into(), Value::Bool(true));
            }
        }
        map.entry("type").or_insert_with(|| "object".into());
    } else if map.contains_key("items") {
        map.entry("type").or_insert_with(|| "array".into());
    } else if map.contains_key("additionalProperties") {
        map.entry("type").or_insert_with(|| "object".into());
    } else if !map.contains_key("type") && !preserves && !map.contains_key(INT_OR_STRING) {
        map.insert(PRESERVE_UNKNOWN.into(), Value::Bool(true));
    }
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for child in properties.values_mut() {
            make_structural(child, false);
        }
    }
    if let Some(items) = map.get_mut("items") {
        make_structural(items, false);
    }
    if let Some(extra @ Value::Object(_)) = map.get_mut("additionalProperties") {
        make_structural(extra, false);
    }
}

/// Application is written by hand (it has a top-level `operation`), so its CRD is too,
/// from the same schema settings the derive uses.
impl CustomResourceExt for Application {
    fn crd() -> CustomResourceDefinition {
        let schema = schema_for::<Application>()
            .expect("the Application schema is generated from static types and converts");
        let column =
            |name: &str, path: &str, priority: Option<i32>| CustomResourceColumnDefinition {
                name: name.into(),
                json_path: path.into(),
                type_: "string".into(),
                priority,
                ..CustomResourceColumnDefinition::default()
            };
        CustomResourceDefinition {
            metadata: ObjectMeta {
                name: Some(Self::crd_name().into()),
                ..ObjectMeta::default()
            },
            spec: CustomResourceDefinitionSpec {
                group: GROUP.into(),
                names: CustomResourceDefinitionNames {
                    kind: Application::KIND.into(),
                    plural: Application::PLURAL.into(),
                    singular: Some("application".into()),
                    short_names: Some(
                        Application::SHORT_NAMES
                            .iter()
                            .map(|s| s.to_string())
                            .collect(),
                    ),
                    ..CustomResourceDefinitionNames::default()
                },
                scope: "Namespaced".into(),
                versions: vec![CustomResourceDefinitionVersion {
                    name: VERSION.into(),
                    served: true,
                    storage: true,
                    schema: Some(CustomResourceValidation {
                        open_api_v3_schema: Some(schema),
                    }),
                    subresources: Some(CustomResourceSubresources {
                        status: Some(CustomResourceSubresourceStatus(serde_json::json!({}))),
                        scale: None,
                    }),
                    // The columns `kubectl get applications` shows with Argo CD's CRD.
                    additional_printer_columns: Some(vec![
                        column("Sync Status", ".status.sync.status", None),
                        column("Health Status", ".status.health.status", None),
                        column("Revision", ".status.sync.revision", Some(10)),
                        column("Project", ".spec.project", Some(10)),
                    ]),
                    ..CustomResourceDefinitionVersion::default()
                }],
                ..CustomResourceDefinitionSpec::default()
            },
            status: None,
        }
    }

    fn crd_name() -> &'static str {
        "applications.argoproj.io"
    }

    fn api_resource() -> ApiResource {
        ApiResource::erase::<Self>(&())
    }

    fn shortnames() -> &'static [&'static str] {
        Application::SHORT_NAMES
    }
}

#[cfg(test)]
mod tests;
