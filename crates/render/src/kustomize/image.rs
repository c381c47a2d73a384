//! Argo CD's `kustomize.images` strings, read the way `kustomize edit set image` (v5)
//! reads them: `[<name>=]<image>[:<tag>][@<digest>]`, with `*` keeping an existing value.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageOverride {
    pub name: String,
    pub new_name: String,
    pub new_tag: String,
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "failed to read image override {0:?}: use <image>=<newimage>:<newtag>, <image>=<newimage>@<digest>, <image>=<newimage>, <image>:<newtag> or <image>@<digest>"
)]
pub struct ImageError(pub String);

const KEEP: &str = "*";

pub fn parse(arg: &str) -> Result<ImageOverride, ImageError> {
    let (key, value) = match arg.split_once('=') {
        Some((key, value)) => (Some(key), value),
        None => (None, arg),
    };
    let (name, tag, digest) = split_image(value);
    if name == arg {
        return Err(ImageError(arg.to_string()));
    }
    let (name, new_name) = match key {
        Some(key) => (key.to_string(), name.to_string()),
        None => (name.to_string(), String::new()),
    };
    Ok(ImageOverride {
        name,
        new_name,
        new_tag: tag.to_string(),
        digest: digest.to_string(),
    })
}

/// Splits `registry:5000/app:tag@sha256:…` into name, tag and digest; a `:` before the
/// first `/` belongs to the registry host, not to a tag.
fn split_image(image: &str) -> (&str, &str, &str) {
    let offset = match image.find('/') {
        Some(slash) if slash > 0 => slash,
        _ => 0,
    };
    let search = &image[offset..];
    let at = search.find('@').map(|i| i + offset);
    let colon = search.find(':').map(|i| i + offset);
    match (colon, at) {
        (None, None) => (image, "", ""),
        (None, Some(at)) => (&image[..at], "", &image[at + 1..]),
        (Some(colon), Some(at)) if at < colon => (&image[..at], "", &image[at + 1..]),
        (Some(colon), Some(at)) => (&image[..colon], &image[colon + 1..at], &image[at + 1..]),
        (Some(colon), None) => (&image[..colon], &image[colon + 1..], ""),
    }
}

/// Sets the overrides in a kustomization's `images` list like `kustomize edit set image`:
/// an override replaces the entry of the same name (keeping fields given as `*`), other
/// entries stay, and the list is sorted by name.
pub fn set_images(existing: Option<&Value>, overrides: &[ImageOverride]) -> Value {
    let mut by_name: std::collections::BTreeMap<String, Map<String, Value>> = Default::default();
    let mut given: std::collections::BTreeMap<String, ImageOverride> = Default::default();
    for o in overrides {
        given.insert(o.name.clone(), o.clone());
    }
    for entry in existing.and_then(Value::as_array).into_iter().flatten() {
        let Some(map) = entry.as_object() else {
            continue;
        };
        let name = map
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let field = |key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        if let Some(o) = given.get_mut(&name) {
            if o.new_name == KEEP {
                o.new_name = field("newName");
            }
            if o.new_tag == KEEP {
                o.new_tag = field("newTag");
            }
            if o.digest == KEEP {
                o.digest = field("digest");
            }
        } else {
            by_name.insert(name, map.clone());
        }
    }
    for (name, o) in given {
        let mut map = Map::new();
        map.insert("name".into(), Value::String(name.clone()));
        for (key, value) in [
            ("newName", &o.new_name),
            ("newTag", &o.new_tag),
            ("digest", &o.digest),
        ] {
            if !value.is_empty() && value != KEEP {
                map.insert(key.into(), Value::String(value.clone()));
            }
        }
        by_name.insert(name, map);
    }
    Value::Array(by_name.into_values().map(Value::Object).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(name: &str, new_name: &str, new_tag: &str, digest: &str) -> ImageOverride {
        ImageOverride {
            name: name.into(),
            new_name: new_name.into(),
            new_tag: new_tag.into(),
            digest: digest.into(),
        }
    }

    /// Cases checked against `kustomize edit set image` v5.5.0.
    #[test]
    fn parses_like_kustomize_edit_set_image() {
        let cases = [
            ("nginx:1.25", o("nginx", "", "1.25", "")),
            (
                "nginx=registry:5000/nginx:2.0",
                o("nginx", "registry:5000/nginx", "2.0", ""),
            ),
            ("app@sha256:abc", o("app", "", "", "sha256:abc")),
            ("n=m:t@sha256:x", o("n", "m", "t", "sha256:x")),
            ("img:tag@sha256:ddd", o("img", "", "tag", "sha256:ddd")),
            ("a/b:c:d", o("a/b", "", "c:d", "")),
            ("a=b=c", o("a", "b=c", "", "")),
            ("img@sha256:a@b", o("img", "", "", "sha256:a@b")),
            ("x=*:2", o("x", "*", "2", "")),
            ("z=", o("z", "", "", "")),
            ("app:v1.2+meta", o("app", "", "v1.2+meta", "")),
        ];
        for (arg, expected) in cases {
            assert_eq!(parse(arg), Ok(expected), "{arg}");
        }
        for bad in ["", "reg:5000/app", "plain"] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
