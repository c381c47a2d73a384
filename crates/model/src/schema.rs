//! Schemas for fields whose content Argo CD leaves free-form. Used with
//! `#[schemars(schema_with = "…")]` so the CRD says what the API server must keep.

use schemars::{Schema, SchemaGenerator, json_schema};

/// Any JSON value, kept as written (Argo CD's `apiextensionsv1.JSON` fields).
pub fn any_value(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// A JSON object with any content (Argo CD's `runtime.RawExtension` fields, e.g. `valuesObject`).
pub fn any_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}

/// A list of any JSON values (e.g. the list generator's `elements`).
pub fn any_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "x-kubernetes-preserve-unknown-fields": true }
    })
}
