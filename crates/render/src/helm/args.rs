//! The `helm template` command line Argo CD builds for a source. Pure.

use crate::spec::HelmOptions;

/// Files already resolved on disk for one `helm template` run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedFiles {
    /// `valueFiles` in order, then the temp file holding `values`/`valuesObject`.
    pub values: Vec<String>,
    /// `fileParameters` as `name=path`.
    pub set_files: Vec<(String, String)>,
}

pub fn template_args(options: &HelmOptions, chart: &str, files: &ResolvedFiles) -> Vec<String> {
    let mut args = vec![
        "template".to_string(),
        options.release_name.clone(),
        chart.to_string(),
    ];
    let mut flag = |name: &str, value: String| {
        args.push(name.to_string());
        args.push(value);
    };
    if !options.namespace.is_empty() {
        flag("--namespace", options.namespace.clone());
    }
    if let Some(version) = options.kube_version.as_deref().filter(|v| !v.is_empty()) {
        flag("--kube-version", version.to_string());
    }
    for file in &files.values {
        flag("--values", file.clone());
    }
    for p in &options.parameters {
        let name = if p.force_string {
            "--set-string"
        } else {
            "--set"
        };
        flag(name, format!("{}={}", p.name, clean_set_value(&p.value)));
    }
    for (name, path) in &files.set_files {
        flag("--set-file", format!("{name}={}", clean_set_value(path)));
    }
    for version in &options.api_versions {
        flag("--api-versions", version.clone());
    }
    if !options.skip_crds {
        args.push("--include-crds".into());
    }
    if options.skip_schema_validation {
        args.push("--skip-schema-validation".into());
    }
    if options.skip_tests {
        args.push("--skip-tests".into());
    }
    args
}

/// Argo CD escapes commas in `--set` values (helm would split on them), except in a
/// `{a,b}` list and where a comma is already escaped.
pub fn clean_set_value(value: &str) -> String {
    if value.starts_with('{') && value.ends_with('}') {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut previous = None;
    for c in value.chars() {
        if c == ',' && previous != Some('\\') {
            out.push('\\');
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::HelmParameter;
    use pretty_assertions::assert_eq;

    #[test]
    fn builds_argo_cd_command_line() {
        let options = HelmOptions {
            release_name: "web".into(),
            namespace: "shop".into(),
            kube_version: Some("1.30.0".into()),
            api_versions: vec!["monitoring.coreos.com/v1".into()],
            parameters: vec![
                HelmParameter {
                    name: "image.tag".into(),
                    value: "1.2".into(),
                    force_string: true,
                },
                HelmParameter {
                    name: "hosts".into(),
                    value: "a,b".into(),
                    force_string: false,
                },
            ],
            skip_crds: true,
            ..HelmOptions::default()
        };
        let files = ResolvedFiles {
            values: vec!["/w/values-prod.yaml".into(), "/tmp/values.yaml".into()],
            set_files: vec![("config".into(), "/w/config.txt".into())],
        };
        assert_eq!(
            template_args(&options, ".", &files),
            [
                "template",
                "web",
                ".",
                "--namespace",
                "shop",
                "--kube-version",
                "1.30.0",
                "--values",
                "/w/values-prod.yaml",
                "--values",
                "/tmp/values.yaml",
                "--set-string",
                "image.tag=1.2",
                "--set",
                "hosts=a\\,b",
                "--set-file",
                "config=/w/config.txt",
                "--api-versions",
                "monitoring.coreos.com/v1",
            ]
        );
    }

    #[test]
    fn includes_crds_unless_skipped_and_keeps_lists() {
        let options = HelmOptions {
            release_name: "r".into(),
            ..HelmOptions::default()
        };
        let args = template_args(&options, "c", &ResolvedFiles::default());
        assert_eq!(args, ["template", "r", "c", "--include-crds"]);
        assert_eq!(clean_set_value("{a,b}"), "{a,b}");
        assert_eq!(clean_set_value("a\\,b,c"), "a\\,b\\,c");
    }
}
