//! Signed statements about the chain: a checkpoint names the head at a time, an anchor names
//! where the kept chain starts after retention. Pure: key bytes in, signatures out.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::entry::Head;

/// A signed statement that entry `seq` of the log had hash `hash` at `time`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: String,
    pub time: String,
    /// Base64 of the ed25519 public key.
    pub public_key: String,
    /// Base64 of the ed25519 signature over [`checkpoint_message`].
    pub signature: String,
}

/// A signed statement that, after retention deleted older entries, the log starts at entry
/// `seq`, whose `prev_hash` is `prev_hash`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Anchor {
    /// The first kept entry.
    pub seq: u64,
    pub prev_hash: String,
    pub time: String,
    pub public_key: String,
    pub signature: String,
}

/// The text a checkpoint signs; the first line keeps it from ever reading as an anchor.
pub fn checkpoint_message(seq: u64, hash: &str, time: &str) -> String {
    format!("driftless audit checkpoint\n{seq}\n{hash}\n{time}")
}

/// The text an anchor signs.
pub fn anchor_message(seq: u64, prev_hash: &str, time: &str) -> String {
    format!("driftless audit anchor\n{seq}\n{prev_hash}\n{time}")
}

impl Checkpoint {
    pub fn message(&self) -> String {
        checkpoint_message(self.seq, &self.hash, &self.time)
    }

    /// Whether the signature is `public_key`'s over this checkpoint.
    pub fn signature_valid(&self) -> bool {
        signature_valid(&self.public_key, &self.signature, &self.message())
    }
}

impl Anchor {
    pub fn message(&self) -> String {
        anchor_message(self.seq, &self.prev_hash, &self.time)
    }

    pub fn signature_valid(&self) -> bool {
        signature_valid(&self.public_key, &self.signature, &self.message())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("failed to read the audit signing key: it is not base64")]
    NotBase64(#[source] base64::DecodeError),
    #[error("failed to read the audit signing key: it has {0} bytes, an ed25519 seed has 32")]
    Length(usize),
}

/// An ed25519 signing key. Its `Debug` shows the public key only.
pub struct Signer {
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("public_key", &self.public_key())
            .finish()
    }
}

impl Signer {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Signer {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// A new random key.
    pub fn generate() -> Self {
        Self::from_seed(&rand::random::<[u8; 32]>())
    }

    /// A key from the base64 of its seed, as [`Signer::seed_base64`] writes it (for a Secret).
    pub fn from_seed_base64(text: &str) -> Result<Self, SignerError> {
        let bytes = BASE64.decode(text.trim()).map_err(SignerError::NotBase64)?;
        let seed: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| SignerError::Length(bytes.len()))?;
        Ok(Self::from_seed(&seed))
    }

    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn seed_base64(&self) -> String {
        BASE64.encode(self.seed())
    }

    /// Base64 of the 32-byte public key.
    pub fn public_key(&self) -> String {
        BASE64.encode(self.key.verifying_key().to_bytes())
    }

    pub fn sign_head(&self, head: &Head, time: &str) -> Checkpoint {
        Checkpoint {
            seq: head.seq,
            hash: head.hash.clone(),
            time: time.to_string(),
            public_key: self.public_key(),
            signature: self.sign(&checkpoint_message(head.seq, &head.hash, time)),
        }
    }

    pub fn sign_anchor(&self, anchor_seq: u64, prev_hash: &str, time: &str) -> Anchor {
        Anchor {
            seq: anchor_seq,
            prev_hash: prev_hash.to_string(),
            time: time.to_string(),
            public_key: self.public_key(),
            signature: self.sign(&anchor_message(anchor_seq, prev_hash, time)),
        }
    }

    fn sign(&self, message: &str) -> String {
        BASE64.encode(self.key.sign(message.as_bytes()).to_bytes())
    }
}

/// Whether `signature` (base64) is `public_key`'s (base64) over `message`; anything that does
/// not decode is simply not valid.
pub fn signature_valid(public_key: &str, signature: &str, message: &str) -> bool {
    let Some(key) = BASE64
        .decode(public_key)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
    else {
        return false;
    };
    let Some(signature) = BASE64
        .decode(signature)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
    else {
        return false;
    };
    key.verify_strict(message.as_bytes(), &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> Head {
        Head {
            seq: 7,
            hash: "ab".repeat(32),
        }
    }

    #[test]
    fn a_checkpoint_verifies_under_its_key_and_not_once_changed() {
        let signer = Signer::from_seed(&[7; 32]);
        let cp = signer.sign_head(&head(), "2026-12-04T18:00:00.000Z");
        assert!(cp.signature_valid());
        assert!(
            !Checkpoint {
                seq: 8,
                ..cp.clone()
            }
            .signature_valid()
        );
        assert!(
            !Checkpoint {
                hash: "cd".repeat(32),
                ..cp.clone()
            }
            .signature_valid()
        );
        assert!(
            !Checkpoint {
                time: "2026-12-04T18:00:00.001Z".into(),
                ..cp.clone()
            }
            .signature_valid()
        );
        let other = Signer::from_seed(&[8; 32]);
        assert!(
            !Checkpoint {
                public_key: other.public_key(),
                ..cp
            }
            .signature_valid()
        );
    }

    #[test]
    fn a_checkpoint_signature_does_not_pass_as_an_anchor() {
        let signer = Signer::from_seed(&[7; 32]);
        let cp = signer.sign_head(&head(), "t");
        let anchor = Anchor {
            seq: cp.seq,
            prev_hash: cp.hash.clone(),
            time: cp.time.clone(),
            public_key: cp.public_key.clone(),
            signature: cp.signature.clone(),
        };
        assert!(!anchor.signature_valid());
        assert!(signer.sign_anchor(7, &cp.hash, "t").signature_valid());
    }

    #[test]
    fn the_seed_round_trips_and_generated_keys_differ() {
        let signer = Signer::generate();
        assert_eq!(
            Signer::from_seed(&signer.seed()).public_key(),
            signer.public_key()
        );
        let again = Signer::from_seed_base64(&signer.seed_base64()).unwrap();
        assert_eq!(again.public_key(), signer.public_key());
        assert_ne!(Signer::generate().public_key(), signer.public_key());
        assert!(matches!(
            Signer::from_seed_base64("AAAA"),
            Err(SignerError::Length(3))
        ));
        assert!(!format!("{signer:?}").contains(&signer.seed_base64()));
    }

    #[test]
    fn garbage_keys_and_signatures_are_just_invalid() {
        assert!(!signature_valid("not base64!", "AAAA", "m"));
        assert!(!signature_valid(
            &Signer::generate().public_key(),
            "AAAA",
            "m"
        ));
    }
}
