//! What a caller may tune about `check`: today, which Linux capabilities a container may add
//! back after dropping ALL. `Options::default()` is what `check` uses.

/// Capabilities a container may add back by default: binding ports below 1024 is the one
/// the restricted Pod Security Standard allows.
pub const DEFAULT_ALLOWED_CAPABILITIES: &[&str] = &["NET_BIND_SERVICE"];

/// Settings of one `check_with` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Capabilities `capabilities.add` may name without a `drop-all-capabilities` finding,
    /// matched exactly (as Kubernetes spells them, without the `CAP_` prefix).
    pub allowed_capabilities: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            allowed_capabilities: DEFAULT_ALLOWED_CAPABILITIES
                .iter()
                .map(|c| (*c).to_string())
                .collect(),
        }
    }
}

impl Options {
    /// The default options with `extra` capabilities allowed as well.
    pub fn allowing_capabilities<I, S>(extra: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut options = Self::default();
        for cap in extra {
            let cap = cap.into();
            if !options.allowed_capabilities.contains(&cap) {
                options.allowed_capabilities.push(cap);
            }
        }
        options
    }

    pub(crate) fn allows_capability(&self, cap: &str) -> bool {
        self.allowed_capabilities.iter().any(|c| c == cap)
    }
}
