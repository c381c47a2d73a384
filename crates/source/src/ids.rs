//! Object ids handed to other crates: a commit and a tree, each printed as 40 hex digits.
//! Other crates key caches by them without depending on gix.

use std::fmt;
use std::str::FromStr;

/// Parsing an object id failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("failed to parse object id {input:?}: expected 40 hexadecimal digits")]
    NotAnObjectId { input: String },
}

fn parse_full_hex(input: &str) -> Result<gix::ObjectId, IdError> {
    if input.len() != 40 || !input.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(IdError::NotAnObjectId {
            input: input.to_string(),
        });
    }
    gix::ObjectId::from_hex(input.as_bytes()).map_err(|_| IdError::NotAnObjectId {
        input: input.to_string(),
    })
}

macro_rules! object_id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub(crate) gix::ObjectId);

        impl $name {
            /// The id as 40 lower-case hex digits.
            pub fn to_hex(&self) -> String {
                self.0.to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                parse_full_hex(s).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

object_id_type!(
    /// The id of a commit, e.g. the commit a `targetRevision` resolved to.
    CommitId
);
object_id_type!(
    /// The id of a tree (a directory at some commit); equal ids mean equal contents, so render
    /// results can be cached by it.
    TreeId
);

/// True for a string of exactly 40 hex digits, i.e. a full SHA-1 commit id.
pub fn is_full_sha(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// True for 4 to 39 hex digits, i.e. something that may be an abbreviated commit id.
pub fn is_short_sha(text: &str) -> bool {
    (4..40).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn parses_and_prints_40_hex_digits() {
        let hex = "0123456789abcdef0123456789abcdef01234567";
        let id: CommitId = hex.parse().expect("valid id");
        assert_eq!(id.to_string(), hex);
        assert_eq!(
            serde_json::to_string(&id).expect("serialises"),
            format!("\"{hex}\"")
        );
        let back: CommitId = serde_json::from_str(&format!("\"{hex}\"")).expect("deserialises");
        assert_eq!(back, id);
        // Upper case input is accepted and printed in lower case, like git does.
        let upper: TreeId = hex.to_uppercase().parse().expect("valid id");
        assert_eq!(upper.to_hex(), hex);
    }

    #[test]
    fn rejects_anything_else() {
        for bad in [
            "",
            "abc",
            "0123456789abcdef0123456789abcdef0123456",
            "g123456789abcdef0123456789abcdef01234567",
        ] {
            let err = bad.parse::<CommitId>().expect_err("must fail");
            assert!(
                err.to_string().starts_with("failed to parse object id"),
                "{err}"
            );
        }
    }

    #[test]
    fn sha_shapes() {
        assert!(is_full_sha("0123456789abcdef0123456789abcdef01234567"));
        assert!(!is_full_sha("0123456"));
        assert!(is_short_sha("0123456"));
        assert!(is_short_sha("abcd"));
        assert!(!is_short_sha("abc"));
        assert!(!is_short_sha("main"));
    }
}
