//! Secret masking: every value of a Secret's `data` and `stringData` (and its
//! last-applied annotation) is replaced by `++++++++` and 8 hex digits of a salted
//! SHA-256 of the value. The same value gets the same mask, so a changed value still shows
//! as a changed line, but nothing of the plaintext (or its base64) leaves the process.
//! The salt is a parameter: random per process in production, fixed in tests.

use crate::normalize::{LAST_APPLIED, is_core_secret};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Masks Secret values with a keyed hash; see the module docs.
#[derive(Clone)]
pub struct SecretMasker {
    salt: Vec<u8>,
}

impl std::fmt::Debug for SecretMasker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretMasker { salt: <hidden> }")
    }
}

impl SecretMasker {
    pub fn new(salt: impl Into<Vec<u8>>) -> Self {
        Self { salt: salt.into() }
    }

    /// The mask of one value: `++++++++` followed by 8 hex digits.
    pub fn mask(&self, value: &str) -> String {
        let mut hasher = Sha256::new();
        // The salt's length first, so that (salt, value) pairs cannot run into each other.
        hasher.update((self.salt.len() as u64).to_be_bytes());
        hasher.update(&self.salt);
        hasher.update(value.as_bytes());
        let digest = hasher.finalize();
        format!("++++++++{}", hex::encode(&digest[..4]))
    }

    /// Masks `object` in place if it is a core Secret; anything else is left alone.
    pub fn mask_if_secret(&self, object: &mut Value) {
        if object.as_object().is_some_and(is_core_secret) {
            self.mask_secret(object);
        }
    }

    /// Masks `object` in place as a Secret, whatever it says its kind is (for views that
    /// may have lost `kind`): values of `data` and `stringData`, and the last-applied annotation.
    pub fn mask_secret(&self, object: &mut Value) {
        let Value::Object(map) = object else { return };
        for field in ["data", "stringData"] {
            if let Some(Value::Object(values)) = map.get_mut(field) {
                for value in values.values_mut() {
                    *value = Value::String(self.mask_value(value));
                }
            }
        }
        if let Some(annotation) = object.pointer_mut(&format!(
            "/metadata/annotations/{}",
            LAST_APPLIED.replace('/', "~1")
        )) {
            *annotation = Value::String(self.mask_value(annotation));
        }
    }

    fn mask_value(&self, value: &Value) -> String {
        match value {
            Value::String(s) => self.mask(s),
            other => self.mask(&other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn same_value_same_mask_and_different_value_different_mask() {
        let masker = SecretMasker::new(b"salt".to_vec());
        assert_eq!(masker.mask("hunter2"), masker.mask("hunter2"));
        assert_ne!(masker.mask("hunter2"), masker.mask("hunter3"));
        assert_ne!(
            masker.mask("hunter2"),
            SecretMasker::new(b"other".to_vec()).mask("hunter2")
        );
        let mask = masker.mask("hunter2");
        assert!(
            mask.starts_with("++++++++") && mask.len() == 16 && !mask.contains("hunter2"),
            "{mask}"
        );
    }

    #[test]
    fn only_core_secrets_are_masked() {
        let masker = SecretMasker::new(b"s".to_vec());
        let mut secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"annotations": {LAST_APPLIED: "{\"data\":{\"p\":\"cGFzcw==\"}}"}},
            "data": {"p": "cGFzcw=="}, "stringData": {"q": "pass"}});
        masker.mask_if_secret(&mut secret);
        let text = secret.to_string();
        assert!(
            !text.contains("cGFzcw==") && !text.contains("pass"),
            "{text}"
        );
        assert_eq!(secret["data"]["p"], json!(masker.mask("cGFzcw==")));

        let mut config_map =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"p": "visible"}});
        masker.mask_if_secret(&mut config_map);
        assert_eq!(config_map["data"]["p"], "visible");
    }
}
