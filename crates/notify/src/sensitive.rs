//! Values that must never be printed: tokens, passwords, private keys, and URLs that carry
//! credentials (a Slack incoming webhook's URL is itself the credential). `Debug` shows only
//! that a value is there; there is no `Display`.

use serde::Deserialize;
use std::fmt;

/// A configuration value that may come from `argocd-notifications-secret`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Sensitive(String);

impl Sensitive {
    pub fn new(value: impl Into<String>) -> Self {
        Sensitive(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("<redacted>")
        }
    }
}

impl From<&str> for Sensitive {
    fn from(value: &str) -> Self {
        Sensitive(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let token = Sensitive::new("xoxb-very-secret");
        assert_eq!(format!("{token:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Sensitive::default()), "\"\"");
        assert_eq!(token.expose(), "xoxb-very-secret");
    }
}
