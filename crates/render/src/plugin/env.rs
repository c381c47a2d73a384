//! The environment of a plugin command. Argo CD's sidecar passes its own environment; driftless
//! passes none of its own (it may hold credentials) but `PATH` and a private `HOME`, then
//! Argo CD's build variables, `ARGOCD_ENV_<name>` for `plugin.env` (values expanded against the
//! build variables, `$$` for a literal `$`) and the parameters, as JSON in
//! `ARGOCD_APP_PARAMETERS` and one by one as `PARAM_<NAME>`, `PARAM_<NAME>_<i>`, `PARAM_<NAME>_<KEY>`.

use super::PluginError;
use super::options::{Parameter, PluginOptions};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// `PATH` when driftless itself has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Every variable of a plugin command; a later variable of the same name wins, as in Go's exec.
pub fn environment(
    options: &PluginOptions,
    home: &Path,
    path: Option<&str>,
) -> Result<Vec<(String, String)>, PluginError> {
    let build = build_variables(options)?;
    let mut vars: Vec<(String, String)> = vec![
        (
            "PATH".into(),
            path.filter(|p| !p.is_empty())
                .unwrap_or(DEFAULT_PATH)
                .to_string(),
        ),
        ("HOME".into(), home.display().to_string()),
    ];
    vars.extend(build.iter().cloned());
    if options.declared {
        let lookup: BTreeMap<&str, &str> = build
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for entry in &options.env {
            let value = expand(&entry.value, |name| {
                lookup.get(name).copied().unwrap_or_default().to_string()
            });
            vars.push((format!("ARGOCD_ENV_{}", entry.name), value));
        }
        vars.extend(parameter_variables(options.parameters.as_deref()));
    }
    // A name the OS cannot carry would make the spawn fail or mean something else.
    vars.retain(|(name, value)| {
        let ok = !name.is_empty() && !name.contains(['=', '\0']) && !value.contains('\0');
        if !ok {
            tracing::warn!(variable = %name, "skipping a plugin variable the OS cannot pass");
        }
        ok
    });
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in vars {
        last.insert(name, value);
    }
    Ok(last.into_iter().collect())
}

/// `ARGOCD_APP_*`, `KUBE_VERSION` and `KUBE_API_VERSIONS`, as Argo CD's repo server sets them.
fn build_variables(options: &PluginOptions) -> Result<Vec<(String, String)>, PluginError> {
    let b = &options.build;
    let kube_version = match b.kube_version.as_deref().filter(|v| !v.is_empty()) {
        Some(version) => generic_version(version).ok_or_else(|| PluginError::KubeVersion {
            version: version.to_string(),
        })?,
        None => String::new(),
    };
    Ok(b.app_variables()
        .into_iter()
        .chain([
            ("KUBE_VERSION", kube_version),
            ("KUBE_API_VERSIONS", b.api_versions.join(",")),
        ])
        .map(|(k, v)| (k.to_string(), v))
        .collect())
}

/// `v1.29.3+k3s1` → `1.29.3`: the leading numeric components, at least two (Kubernetes'
/// "generic" version parsing, which Argo CD applies to `KUBE_VERSION`).
pub fn generic_version(version: &str) -> Option<String> {
    let rest = version.trim_start();
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    let mut components = Vec::new();
    for part in rest.split('.') {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            break;
        }
        components.push(digits.parse::<u64>().ok()?.to_string());
        if digits.len() != part.len() {
            break;
        }
    }
    (components.len() >= 2).then(|| components.join("."))
}

/// `ARGOCD_APP_PARAMETERS` and the `PARAM_*` variables.
fn parameter_variables(parameters: Option<&[Parameter]>) -> Vec<(String, String)> {
    let mut vars = vec![(
        "ARGOCD_APP_PARAMETERS".to_string(),
        parameters_json(parameters),
    )];
    for p in parameters.into_iter().flatten() {
        let base = format!("PARAM_{}", escape(&p.name));
        if let Some(string) = &p.string {
            vars.push((base.clone(), string.clone()));
        }
        for (key, value) in p.map.iter().flatten() {
            vars.push((format!("{base}_{}", escape(key)), value.clone()));
        }
        for (i, value) in p.array.iter().flatten().enumerate() {
            vars.push((format!("{base}_{i}"), value.clone()));
        }
    }
    vars
}

/// The JSON Argo CD sends: `name` always, `string`/`array`/`map` when set, keys sorted,
/// `null` when the source sets no parameters.
pub fn parameters_json(parameters: Option<&[Parameter]>) -> String {
    let Some(parameters) = parameters else {
        return "null".into();
    };
    let list: Vec<Value> = parameters
        .iter()
        .map(|p| {
            // Inserted in sorted order: Go marshals map keys sorted.
            let mut object = Map::new();
            if let Some(array) = &p.array {
                object.insert("array".into(), Value::from(array.clone()));
            }
            if let Some(map) = &p.map {
                let map: Map<String, Value> = map
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                    .collect();
                object.insert("map".into(), Value::Object(map));
            }
            object.insert("name".into(), Value::from(p.name.clone()));
            if let Some(string) = &p.string {
                object.insert("string".into(), Value::from(string.clone()));
            }
            Value::Object(object)
        })
        .collect();
    // Go's encoder escapes these; they can only occur inside strings, so replacing is exact.
    Value::Array(list)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Upper-cased, every character but `A-Z`, `0-9` and `_` replaced by `_`.
pub fn escape(name: &str) -> String {
    name.chars()
        .map(|c| {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(u), None) if u.is_ascii_uppercase() || u.is_ascii_digit() || u == '_' => u,
                _ => '_',
            }
        })
        .collect()
}

/// Go's `os.Expand` ([`crate::envsubst`]): `$NAME` and `${NAME}` replaced by `lookup`.
pub fn expand(s: &str, lookup: impl Fn(&str) -> String) -> String {
    match crate::envsubst::expand_with(s, |name| Ok::<_, std::convert::Infallible>(lookup(name))) {
        Ok(expanded) => expanded,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::super::options::{BuildEnv, EnvVar};
    use super::*;

    fn vars(options: &PluginOptions) -> BTreeMap<String, String> {
        environment(options, Path::new("/tmp/home"), Some("/bin"))
            .expect("environment")
            .into_iter()
            .collect()
    }

    fn declared() -> PluginOptions {
        PluginOptions {
            declared: true,
            build: BuildEnv {
                app_name: "guestbook".into(),
                app_namespace: "web".into(),
                project: "default".into(),
                revision: "f913b6cbf58aa5ae5ca1f8a2b149477aebcbd9d8".into(),
                repo_url: "https://git.example/repo.git".into(),
                source_path: "apps/guestbook".into(),
                target_revision: "main".into(),
                kube_version: Some("v1.29.3+k3s1".into()),
                api_versions: vec!["v1".into(), "apps/v1".into()],
            },
            ..PluginOptions::default()
        }
    }

    #[test]
    fn build_variables_are_argo_cds() {
        let env = vars(&declared());
        let get = |k: &str| env.get(k).map(String::as_str);
        assert_eq!(get("ARGOCD_APP_NAME"), Some("guestbook"));
        assert_eq!(get("ARGOCD_APP_NAMESPACE"), Some("web"));
        assert_eq!(get("ARGOCD_APP_PROJECT_NAME"), Some("default"));
        assert_eq!(get("ARGOCD_APP_REVISION_SHORT"), Some("f913b6c"));
        assert_eq!(get("ARGOCD_APP_REVISION_SHORT_8"), Some("f913b6cb"));
        assert_eq!(get("ARGOCD_APP_SOURCE_PATH"), Some("apps/guestbook"));
        assert_eq!(get("ARGOCD_APP_SOURCE_TARGET_REVISION"), Some("main"));
        assert_eq!(get("KUBE_VERSION"), Some("1.29.3"));
        assert_eq!(get("KUBE_API_VERSIONS"), Some("v1,apps/v1"));
        assert_eq!(get("PATH"), Some("/bin"));
        assert_eq!(get("HOME"), Some("/tmp/home"));
        // A declared plugin block without parameters: Go marshals the nil list as null.
        assert_eq!(get("ARGOCD_APP_PARAMETERS"), Some("null"));
    }

    #[test]
    fn env_entries_are_prefixed_and_expanded_against_the_build_variables() {
        let mut options = declared();
        options.env = vec![
            EnvVar {
                name: "REV".into(),
                value: "test-$ARGOCD_APP_REVISION_SHORT-${ARGOCD_APP_NAME}".into(),
            },
            EnvVar {
                name: "LITERAL".into(),
                value: "$$HOME costs $5, $UNKNOWN is empty, ${} is dropped, $ stays".into(),
            },
            // Not a build variable: another env entry is not visible to expansion.
            EnvVar {
                name: "SELF".into(),
                value: "${ARGOCD_ENV_REV}".into(),
            },
        ];
        let env = vars(&options);
        assert_eq!(env["ARGOCD_ENV_REV"], "test-f913b6c-guestbook");
        assert_eq!(
            env["ARGOCD_ENV_LITERAL"],
            "$HOME costs ,  is empty,  is dropped, $ stays"
        );
        assert_eq!(env["ARGOCD_ENV_SELF"], "");
        assert!(!env.contains_key("REV"), "never unprefixed");
    }

    #[test]
    fn parameters_become_json_and_param_variables() {
        let mut options = declared();
        options.parameters = Some(vec![
            Parameter {
                name: "some-string-param".into(),
                string: Some("some-string-value".into()),
                ..Parameter::default()
            },
            Parameter {
                name: "values-files".into(),
                array: Some(vec!["values-dev.yaml".into(), "b.yaml".into()]),
                ..Parameter::default()
            },
            Parameter {
                name: "helm-parameters".into(),
                map: Some(BTreeMap::from([("image.tag".into(), "v1.2.3".into())])),
                ..Parameter::default()
            },
            Parameter {
                name: "empty".into(),
                array: Some(vec![]),
                ..Parameter::default()
            },
        ]);
        let env = vars(&options);
        assert_eq!(
            env["ARGOCD_APP_PARAMETERS"],
            r#"[{"name":"some-string-param","string":"some-string-value"},{"array":["values-dev.yaml","b.yaml"],"name":"values-files"},{"map":{"image.tag":"v1.2.3"},"name":"helm-parameters"},{"array":[],"name":"empty"}]"#
        );
        assert_eq!(env["PARAM_SOME_STRING_PARAM"], "some-string-value");
        assert_eq!(env["PARAM_VALUES_FILES_0"], "values-dev.yaml");
        assert_eq!(env["PARAM_VALUES_FILES_1"], "b.yaml");
        assert_eq!(env["PARAM_HELM_PARAMETERS_IMAGE_TAG"], "v1.2.3");
        assert!(!env.keys().any(|k| k.starts_with("PARAM_EMPTY")));
    }

    #[test]
    fn a_discovered_plugin_gets_no_env_or_parameter_variables() {
        let mut options = declared();
        options.declared = false;
        let env = vars(&options);
        assert!(!env.contains_key("ARGOCD_APP_PARAMETERS"));
        assert_eq!(env["ARGOCD_APP_NAME"], "guestbook");
    }

    #[test]
    fn escaping_and_json_follow_go() {
        assert_eq!(escape("image.tag"), "IMAGE_TAG");
        assert_eq!(escape("a-b c_9é"), "A_B_C_9_");
        assert_eq!(escape("ıd"), "ID", "Go upper-cases dotless i to I");
        let json = parameters_json(Some(&[Parameter {
            name: "x".into(),
            string: Some("<a&b>".into()),
            ..Parameter::default()
        }]));
        assert_eq!(json, r#"[{"name":"x","string":"\u003ca\u0026b\u003e"}]"#);
        assert_eq!(
            serde_json::from_str::<Value>(&json).expect("valid JSON")[0]["string"],
            "<a&b>"
        );
    }

    #[test]
    fn kube_versions_are_parsed_generically() {
        assert_eq!(generic_version("v1.29.3+k3s1").as_deref(), Some("1.29.3"));
        assert_eq!(generic_version("1.30").as_deref(), Some("1.30"));
        assert_eq!(generic_version("v1.28.0-eks-1").as_deref(), Some("1.28.0"));
        assert_eq!(generic_version("v1"), None);
        let mut options = declared();
        options.build.kube_version = Some("banana".into());
        let error = environment(&options, Path::new("/h"), None).expect_err("bad version");
        assert!(error.to_string().contains("banana"), "{error}");
    }
}
