//! Default (non-Go) templates: `{{ param }}` replaced by the parameter's value, as Argo CD
//! does with fasttemplate. An unknown parameter, or one that is not a string, stays as it is
//! written (`{{ unknown }}`).

use serde_json::Value;

use crate::params::Params;

/// A `{{` without its `}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to parse template {template:?}: cannot find end tag \"}}}}\"")]
pub struct UnclosedTag {
    pub template: String,
}

/// Replaces every `{{ name }}` whose trimmed name is a string parameter.
pub fn replace(template: &str, params: &Params) -> Result<String, UnclosedTag> {
    // Argo CD leaves a string alone unless one line holds `{{` … `}}`.
    if !template.lines().any(line_has_tag) {
        return Ok(template.to_string());
    }
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(UnclosedTag {
                template: template.to_string(),
            });
        };
        let tag = &after[..end];
        match params.get(tag.trim()) {
            Some(Value::String(value)) if !tag.trim().is_empty() => out.push_str(value),
            _ => {
                out.push_str("{{");
                out.push_str(tag);
                out.push_str("}}");
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn line_has_tag(line: &str) -> bool {
    line.find("{{")
        .is_some_and(|start| line[start + 2..].contains("}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(value: Value) -> Params {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn replaces_known_string_parameters_and_keeps_the_rest() {
        let p = params(json!({"path.basename": "web", "n": 3}));
        assert_eq!(
            replace("app-{{path.basename}}-{{ path.basename }}", &p).unwrap(),
            "app-web-web"
        );
        assert_eq!(
            replace("{{unknown}} {{ n }} {{}}", &p).unwrap(),
            "{{unknown}} {{ n }} {{}}"
        );
        assert_eq!(replace("no tags", &p).unwrap(), "no tags");
    }

    #[test]
    fn an_unclosed_tag_is_an_error() {
        let p = params(json!({"a": "x"}));
        assert!(replace("{{a}} {{ b", &p).is_err());
        // Tags must open and close on one line for Argo CD to look at the string at all.
        assert_eq!(replace("{{\na}}", &p).unwrap(), "{{\na}}");
    }
}
