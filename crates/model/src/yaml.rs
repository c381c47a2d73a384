//! YAML written for readers that follow Kubernetes' YAML 1.1 (kubectl, helm, Argo CD): a
//! string such readers would take for something else (`n`, `yes`, `on`, `0644`) is quoted.

#[derive(Debug, thiserror::Error)]
#[error("failed to write YAML: {0}")]
pub struct YamlError(#[from] serde_saphyr::SerializeError);

pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String, YamlError> {
    Ok(serde_saphyr::to_string(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_yaml_1_1_reads_otherwise_are_quoted() {
        let text = to_string(&serde_json::json!({"n": "n", "mode": "0644", "flag": "on", "plain": "text", "count": 3}))
            .unwrap();
        for quoted in [
            "\"n\": \"n\"",
            "mode: \"0644\"",
            "flag: \"on\"",
            "plain: text",
            "count: 3",
        ] {
            assert!(text.contains(quoted), "{quoted} in\n{text}");
        }
    }
}
