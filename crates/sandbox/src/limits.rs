//! What bounds an evaluation: a deadline per request kind and an address-space limit per
//! worker. The defaults follow Argo CD where it has one (jq: 1 s,
//! `ignore.normalizer.jq.timeout`); the driftless binary reads overrides from its
//! environment ([`Limits::from_env`]).

use std::collections::BTreeMap;
use std::time::Duration;

/// The request kind that finds the paths of a jq path expression (driftless-diff).
pub const JQ_PATHS_KIND: &str = "jq-paths";
/// The request kind that evaluates a Jsonnet file (driftless-render).
pub const JSONNET_KIND: &str = "jsonnet";

/// Deadline of a Jsonnet evaluation (and of kinds without their own), in seconds.
pub const TIMEOUT_ENV: &str = "DRIFTLESS_EVAL_TIMEOUT_SECONDS";
/// Deadline of a jq path expression, in seconds.
pub const JQ_TIMEOUT_ENV: &str = "DRIFTLESS_JQ_TIMEOUT_SECONDS";
/// Address-space limit of a worker, in MiB; 0 for none.
pub const MEMORY_ENV: &str = "DRIFTLESS_EVAL_MEMORY_MIB";

/// Deadlines by request kind, and the memory every worker may map.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Deadline of each kind; kinds not named get `default_deadline`.
    pub deadlines: BTreeMap<String, Duration>,
    pub default_deadline: Duration,
    /// Address-space limit (`RLIMIT_AS`) of a worker; `None` for no limit.
    pub memory_bytes: Option<u64>,
}

impl Default for Limits {
    /// jq 1 s (Argo CD's jq timeout), Jsonnet 60 s, 1 GiB of address space.
    fn default() -> Self {
        Self {
            deadlines: BTreeMap::from([
                (JQ_PATHS_KIND.to_string(), Duration::from_secs(1)),
                (JSONNET_KIND.to_string(), Duration::from_secs(60)),
            ]),
            default_deadline: Duration::from_secs(60),
            memory_bytes: Some(1024 << 20),
        }
    }
}

impl Limits {
    /// The deadline of one request of `kind`.
    pub fn deadline(&self, kind: &str) -> Duration {
        self.deadlines
            .get(kind)
            .copied()
            .unwrap_or(self.default_deadline)
    }

    pub fn with_deadline(mut self, kind: &str, deadline: Duration) -> Self {
        self.deadlines.insert(kind.to_string(), deadline);
        self
    }

    pub fn with_memory_bytes(mut self, bytes: Option<u64>) -> Self {
        self.memory_bytes = bytes;
        self
    }

    /// The memory limit in MiB, 0 for none (for messages).
    pub fn memory_mib(&self) -> u64 {
        self.memory_bytes.map_or(0, |b| b >> 20)
    }

    /// The defaults, overridden by [`TIMEOUT_ENV`], [`JQ_TIMEOUT_ENV`] and [`MEMORY_ENV`];
    /// with a warning for each value that is not a non-negative number (and is ignored).
    pub fn from_env() -> (Self, Vec<String>) {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Limits::from_env`] with the variables from `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let mut number = |name: &str| {
            let text = var(name)?;
            match text.trim().parse::<f64>() {
                Ok(n) if n.is_finite() && n >= 0.0 => Some(n),
                _ => {
                    warnings.push(format!(
                        "ignoring {name}={text:?}: it is not a non-negative number"
                    ));
                    None
                }
            }
        };
        let seconds = |n: Option<f64>| {
            n.filter(|s| *s > 0.0)
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
        };
        let mut limits = Self::default();
        if let Some(deadline) = seconds(number(TIMEOUT_ENV)) {
            limits = limits.with_deadline(JSONNET_KIND, deadline);
            limits.default_deadline = deadline;
        }
        if let Some(deadline) = seconds(number(JQ_TIMEOUT_ENV)) {
            limits = limits.with_deadline(JQ_PATHS_KIND, deadline);
        }
        if let Some(mib) = number(MEMORY_ENV) {
            limits = limits.with_memory_bytes((mib > 0.0).then_some((mib * 1048576.0) as u64));
        }
        (limits, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> (Limits, Vec<String>) {
        Limits::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn the_environment_overrides_the_defaults() {
        assert_eq!(from(&[]), (Limits::default(), vec![]));
        let (limits, warnings) = from(&[
            (TIMEOUT_ENV, "3"),
            (JQ_TIMEOUT_ENV, "0.5"),
            (MEMORY_ENV, "256"),
        ]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(limits.deadline(JSONNET_KIND), Duration::from_secs(3));
        assert_eq!(limits.deadline("other"), Duration::from_secs(3));
        assert_eq!(limits.deadline(JQ_PATHS_KIND), Duration::from_millis(500));
        assert_eq!(
            (limits.memory_bytes, limits.memory_mib()),
            (Some(256 << 20), 256)
        );
        // Only the Jsonnet deadline moves with DRIFTLESS_EVAL_TIMEOUT_SECONDS.
        let (limits, _) = from(&[(TIMEOUT_ENV, "3")]);
        assert_eq!(limits.deadline(JQ_PATHS_KIND), Duration::from_secs(1));
    }

    #[test]
    fn zero_memory_is_no_limit_and_bad_values_are_warned_about_and_ignored() {
        let (limits, warnings) = from(&[(MEMORY_ENV, "0")]);
        assert_eq!((limits.memory_bytes, warnings), (None, vec![]));
        let (limits, warnings) = from(&[(TIMEOUT_ENV, "soon"), (MEMORY_ENV, "-1")]);
        assert_eq!(limits, Limits::default());
        assert_eq!(
            warnings,
            [
                "ignoring DRIFTLESS_EVAL_TIMEOUT_SECONDS=\"soon\": it is not a non-negative number",
                "ignoring DRIFTLESS_EVAL_MEMORY_MIB=\"-1\": it is not a non-negative number",
            ]
        );
        // A zero deadline would fail every evaluation: it keeps the default.
        let (limits, _) = from(&[(JQ_TIMEOUT_ENV, "0")]);
        assert_eq!(limits.deadline(JQ_PATHS_KIND), Duration::from_secs(1));
    }
}
