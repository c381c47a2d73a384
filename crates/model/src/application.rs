//! The Application resource. Argo CD keeps a top-level `operation` next to `spec` and
//! `status` (a sync request that the controller picks up), which kube's `CustomResource`
//! derive cannot express (it makes only spec and status). So the root is written by hand
//! with its own `kube::Resource` impl; the CRD is built from the same schema settings in `crd`.

use crate::operation::Operation;
use crate::source::ApplicationSource;
use crate::status::ApplicationStatus;
use crate::sync_policy::SyncPolicy;
use crate::{API_VERSION, Extra, GROUP, VERSION};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::object::{HasSpec, HasStatus};
use kube::core::{NamespaceResourceScope, Resource};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;

/// An Argo CD Application (`argoproj.io/v1alpha1`, namespaced, short names `app`, `apps`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(
    description = "An Argo CD Application: its sources rendered and kept in sync with one destination."
)]
pub struct Application {
    // The API server owns the schema of metadata; it must not be in the CRD.
    #[schemars(skip)]
    pub metadata: ObjectMeta,
    pub spec: ApplicationSpec,
    /// A requested or running operation (a sync), set by a user or the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Box<Operation>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ApplicationStatus>,
}

impl Application {
    pub const KIND: &'static str = "Application";
    pub const PLURAL: &'static str = "applications";
    pub const SHORT_NAMES: &'static [&'static str] = &["app", "apps"];

    pub fn new(name: &str, spec: ApplicationSpec) -> Self {
        Self {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                ..ObjectMeta::default()
            },
            spec,
            operation: None,
            status: None,
        }
    }

    /// The sources in effect: `spec.sources` when non-empty, else `spec.source`, else none.
    pub fn sources(&self) -> &[ApplicationSource] {
        self.spec.sources()
    }
}

/// Writes `apiVersion` and `kind` first, as the derived roots do; reading ignores them.
impl Serialize for Application {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            api_version: &'static str,
            kind: &'static str,
            metadata: &'a ObjectMeta,
            spec: &'a ApplicationSpec,
            #[serde(skip_serializing_if = "Option::is_none")]
            operation: Option<&'a Operation>,
            #[serde(skip_serializing_if = "Option::is_none")]
            status: Option<&'a ApplicationStatus>,
        }
        Wire {
            api_version: API_VERSION,
            kind: Application::KIND,
            metadata: &self.metadata,
            spec: &self.spec,
            operation: self.operation.as_deref(),
            status: self.status.as_ref(),
        }
        .serialize(serializer)
    }
}

impl Resource for Application {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        Self::KIND.into()
    }

    fn group(_: &()) -> Cow<'_, str> {
        GROUP.into()
    }

    fn version(_: &()) -> Cow<'_, str> {
        VERSION.into()
    }

    fn api_version(_: &()) -> Cow<'_, str> {
        API_VERSION.into()
    }

    fn plural(_: &()) -> Cow<'_, str> {
        Self::PLURAL.into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl HasSpec for Application {
    type Spec = ApplicationSpec;

    fn spec(&self) -> &ApplicationSpec {
        &self.spec
    }

    fn spec_mut(&mut self) -> &mut ApplicationSpec {
        &mut self.spec
    }
}

impl HasStatus for Application {
    type Status = ApplicationStatus;

    fn status(&self) -> Option<&ApplicationStatus> {
        self.status.as_ref()
    }

    fn status_mut(&mut self) -> &mut Option<ApplicationStatus> {
        &mut self.status
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// The AppProject this Application belongs to (`default` if unsure).
    pub project: String,
    /// A single source; ignored when `sources` is non-empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Several sources, whose manifests are combined; may refer to each other with `ref`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<ApplicationSource>>,
    pub destination: ApplicationDestination,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_differences: Option<Vec<ResourceIgnoreDifferences>>,
    /// Number of `status.history` entries kept (Argo CD's default is 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i64>,
    /// Free-form name/value pairs shown with the Application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Vec<Info>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ApplicationSpec {
    /// The sources in effect: `sources` when non-empty, else `source`, else none.
    pub fn sources(&self) -> &[ApplicationSource] {
        match (&self.sources, &self.source) {
            (Some(sources), _) if !sources.is_empty() => sources,
            (_, Some(source)) => std::slice::from_ref(source),
            _ => &[],
        }
    }

    /// True when the Application uses `sources` (the multi-source form).
    pub fn has_multiple_sources(&self) -> bool {
        self.sources
            .as_ref()
            .is_some_and(|sources| !sources.is_empty())
    }
}

/// Where the manifests go: a cluster by API URL (`server`) or by name (`name`), and the
/// default namespace for namespaced objects that do not set one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDestination {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.ignoreDifferences[]`: parts of matching objects left out of the comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceIgnoreDifferences {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// RFC 6901 JSON pointers, e.g. `/spec/replicas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_pointers: Option<Vec<String>>,
    /// jq path expressions, e.g. `.spec.template.spec.containers[] | select(.name == "x").image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jq_path_expressions: Option<Vec<String>>,
    /// Fields owned by these field managers are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_fields_managers: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A name/value pair (`spec.info[]`, `operation.info[]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    pub name: String,
    pub value: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: serde_json::Value) -> ApplicationSpec {
        serde_json::from_value(value).expect("valid spec")
    }

    #[test]
    fn sources_prefers_the_list_then_the_single_source() {
        let single = spec(json!({"project": "default", "destination": {},
            "source": {"repoURL": "a"}}));
        assert_eq!(
            single
                .sources()
                .iter()
                .map(|s| s.repo_url.as_str())
                .collect::<Vec<_>>(),
            ["a"]
        );
        assert!(!single.has_multiple_sources());

        let multi = spec(json!({"project": "default", "destination": {},
            "source": {"repoURL": "ignored"}, "sources": [{"repoURL": "b"}, {"repoURL": "c"}]}));
        assert_eq!(
            multi
                .sources()
                .iter()
                .map(|s| s.repo_url.as_str())
                .collect::<Vec<_>>(),
            ["b", "c"]
        );

        let empty_list = spec(json!({"project": "default", "destination": {},
            "source": {"repoURL": "a"}, "sources": []}));
        assert_eq!(empty_list.sources().len(), 1);

        let none = spec(json!({"project": "default", "destination": {}}));
        assert!(none.sources().is_empty());
    }

    #[test]
    fn serializes_api_version_and_kind() {
        let app = Application::new(
            "guestbook",
            spec(json!({"project": "default", "destination": {}})),
        );
        let value = serde_json::to_value(&app).unwrap();
        assert_eq!(value["apiVersion"], "argoproj.io/v1alpha1");
        assert_eq!(value["kind"], "Application");
        assert_eq!(value["metadata"]["name"], "guestbook");
        assert!(value.get("operation").is_none());
        assert!(value.get("status").is_none());
    }

    #[test]
    fn missing_project_is_an_error_not_a_panic() {
        let err =
            serde_json::from_value::<ApplicationSpec>(json!({"destination": {}})).unwrap_err();
        assert!(err.to_string().contains("project"), "{err}");
    }

    #[test]
    fn kube_resource_identity() {
        assert_eq!(Application::api_version(&()), "argoproj.io/v1alpha1");
        assert_eq!(Application::plural(&()), "applications");
        assert_eq!(<Application as Resource>::kind(&()), "Application");
    }
}
