//! Which app owns an object: Argo CD's tracking annotation
//! `<app>:<group>/<Kind>:<namespace>/<name>`, and the `app.kubernetes.io/instance` label.

use driftless_model::ResourceKey;
use driftless_model::annotations::{INSTANCE_LABEL, TRACKING_ID};
use serde_json::{Map, Value};

/// How applied objects are marked as belonging to an app (Argo CD's
/// `application.resourceTrackingMethod`). The annotation is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrackingMethod {
    #[default]
    Annotation,
    Label,
    AnnotationAndLabel,
}

impl std::str::FromStr for TrackingMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "annotation" => Ok(Self::Annotation),
            "label" => Ok(Self::Label),
            "annotation+label" => Ok(Self::AnnotationAndLabel),
            other => Err(format!(
                "unknown tracking method {other:?}: use annotation, label or annotation+label"
            )),
        }
    }
}

/// The tracking id of `key` owned by `app`.
pub fn tracking_id(app: &str, key: &ResourceKey) -> String {
    format!(
        "{app}:{}/{}:{}/{}",
        key.group, key.kind, key.namespace, key.name
    )
}

/// Marks `object` as owned by `app`.
pub fn stamp(object: &mut Value, app: &str, method: TrackingMethod) {
    let Ok(key) = ResourceKey::of(object) else {
        return;
    };
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if matches!(
        method,
        TrackingMethod::Annotation | TrackingMethod::AnnotationAndLabel
    ) {
        entry_map(meta, "annotations")
            .insert(TRACKING_ID.into(), Value::String(tracking_id(app, &key)));
    }
    if matches!(
        method,
        TrackingMethod::Label | TrackingMethod::AnnotationAndLabel
    ) {
        entry_map(meta, "labels").insert(INSTANCE_LABEL.into(), Value::String(app.into()));
    }
}

fn entry_map<'a>(meta: &'a mut Map<String, Value>, field: &str) -> &'a mut Map<String, Value> {
    let slot = meta
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(map) => map,
        _ => unreachable!("just made an object"),
    }
}

/// The app that owns `object`, if any. An annotation whose key part does not match the object
/// it sits on (copied by a controller onto another object) is ignored, as Argo CD does.
pub fn owner(object: &Value, method: TrackingMethod) -> Option<String> {
    let meta = object.get("metadata")?;
    if matches!(
        method,
        TrackingMethod::Annotation | TrackingMethod::AnnotationAndLabel
    ) {
        if let Some(id) = meta
            .get("annotations")
            .and_then(|a| a.get(TRACKING_ID))
            .and_then(Value::as_str)
        {
            let key = ResourceKey::of(object).ok()?;
            let (app, rest) = id.split_once(':')?;
            let expected = tracking_id(app, &key);
            // Cluster-scoped objects carry an empty namespace part; tolerate either form.
            return (id == expected || rest == &expected[app.len() + 1..]).then(|| app.to_string());
        }
        if method == TrackingMethod::Annotation {
            return None;
        }
    }
    meta.get("labels")
        .and_then(|l| l.get(INSTANCE_LABEL))
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}})
    }

    #[test]
    fn stamped_object_is_owned_by_its_app() {
        let mut obj = deployment();
        stamp(&mut obj, "shop", TrackingMethod::Annotation);
        assert_eq!(
            obj["metadata"]["annotations"][TRACKING_ID],
            "shop:apps/Deployment:shop/web"
        );
        assert_eq!(
            owner(&obj, TrackingMethod::Annotation).as_deref(),
            Some("shop")
        );
        assert!(obj["metadata"].get("labels").is_none());
    }

    #[test]
    fn annotation_copied_to_another_object_is_ignored() {
        let mut obj = deployment();
        stamp(&mut obj, "shop", TrackingMethod::Annotation);
        obj["metadata"]["name"] = json!("web-copy");
        assert_eq!(owner(&obj, TrackingMethod::Annotation), None);
    }

    #[test]
    fn label_methods_set_and_read_the_instance_label() {
        let mut obj = deployment();
        stamp(&mut obj, "shop", TrackingMethod::AnnotationAndLabel);
        assert_eq!(obj["metadata"]["labels"][INSTANCE_LABEL], "shop");
        let mut label_only = deployment();
        stamp(&mut label_only, "shop", TrackingMethod::Label);
        assert!(label_only["metadata"].get("annotations").is_none());
        assert_eq!(
            owner(&label_only, TrackingMethod::Label).as_deref(),
            Some("shop")
        );
        assert_eq!(owner(&label_only, TrackingMethod::Annotation), None);
    }
}
