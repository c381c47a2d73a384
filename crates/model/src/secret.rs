//! Reading the Secrets Argo CD keeps its settings in (clusters, repositories), and the cluster
//! that needs no Secret.

use crate::annotations::SECRET_TYPE;
use k8s_openapi::api::core::v1::Secret;

/// The API address and the name Argo CD gives the cluster it runs in.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";
pub const IN_CLUSTER_NAME: &str = "in-cluster";

/// A `data` field of `secret` as text; `stringData` too, for manifests not yet applied.
pub fn secret_field(secret: &Secret, key: &str) -> String {
    if let Some(bytes) = secret.data.as_ref().and_then(|d| d.get(key)) {
        return String::from_utf8_lossy(&bytes.0).into_owned();
    }
    secret
        .string_data
        .as_ref()
        .and_then(|d| d.get(key))
        .cloned()
        .unwrap_or_default()
}

/// Whether `secret` carries `argocd.argoproj.io/secret-type: <kind>`.
pub fn is_secret_type(secret: &Secret, kind: &str) -> bool {
    secret
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(SECRET_TYPE))
        .is_some_and(|t| t == kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    #[test]
    fn data_wins_over_string_data_and_missing_keys_are_empty() {
        let mut secret = Secret {
            data: Some([("name".to_string(), ByteString(b"prod".to_vec()))].into()),
            string_data: Some(
                [
                    ("name".to_string(), "ignored".to_string()),
                    ("server".to_string(), "https://10.0.0.1".to_string()),
                ]
                .into(),
            ),
            ..Secret::default()
        };
        assert_eq!(secret_field(&secret, "name"), "prod");
        assert_eq!(secret_field(&secret, "server"), "https://10.0.0.1");
        assert_eq!(secret_field(&secret, "config"), "");
        secret.metadata.labels = Some([(SECRET_TYPE.to_string(), "cluster".to_string())].into());
        assert!(is_secret_type(&secret, "cluster"));
        assert!(!is_secret_type(&secret, "repository"));
    }
}
