//! `spec.syncPolicy`: when and how an Application is synced, and how failed syncs are retried.

use crate::Extra;
use crate::duration::{DurationError, parse_duration};
use crate::sync_options::SyncOptions;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Argo CD's retry defaults, used when `retry.backoff` leaves a field out.
pub const DEFAULT_RETRY_DURATION: Duration = Duration::from_secs(5);
pub const DEFAULT_RETRY_MAX_DURATION: Duration = Duration::from_secs(180);
pub const DEFAULT_RETRY_FACTOR: i64 = 2;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Present means automated sync (unless `enabled: false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<SyncPolicyAutomated>,
    /// Whole-app sync options such as `CreateNamespace=true`; see [`SyncOptions`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_options: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
    /// Labels and annotations for the namespace made by `CreateNamespace=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl SyncPolicy {
    /// Automated sync is on when `automated` is present and not `enabled: false`.
    pub fn is_automated(&self) -> bool {
        self.automated
            .as_ref()
            .is_some_and(|automated| automated.enabled != Some(false))
    }

    /// The parsed `syncOptions`.
    pub fn options(&self) -> SyncOptions {
        SyncOptions::parse(self.sync_options.iter().flatten().map(String::as_str))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicyAutomated {
    /// Delete live objects no longer in the source (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    /// Revert changes made in the cluster (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_heal: Option<bool>,
    /// Allow a sync that leaves the app with no resources (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_empty: Option<bool>,
    /// `false` turns automated sync off while keeping the block (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryStrategy {
    /// Retries after a failed sync: 0 none, negative unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// Retry with the latest revision instead of the one that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl RetryStrategy {
    /// Whether another attempt is allowed after `retry_count` retries.
    pub fn allows_retry(&self, retry_count: i64) -> bool {
        let limit = self.limit.unwrap_or(0);
        limit < 0 || retry_count < limit
    }

    /// The wait before retry number `retry_count` (0 for the first retry), as Argo CD computes
    /// it: `duration * factor^retry_count`, capped at `maxDuration` when that is positive.
    pub fn delay(&self, retry_count: u32) -> Result<Duration, DurationError> {
        let backoff = self.backoff.clone().unwrap_or_default();
        let base = backoff.duration()?;
        let max = backoff.max_duration()?;
        let factor = backoff.factor.unwrap_or(DEFAULT_RETRY_FACTOR) as f64;
        let exponent = i32::try_from(retry_count).unwrap_or(i32::MAX);
        let mut seconds = base.as_secs_f64() * factor.powi(exponent);
        if !max.is_zero() {
            seconds = seconds.min(max.as_secs_f64());
        }
        // A negative factor can make the product negative; waiting less than nothing is nothing.
        Ok(Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// Seconds ("30") or a Go duration ("5s", "2m"); default 5s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Multiplier applied after each failed retry; default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<i64>,
    /// Longest wait; default 3m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Backoff {
    /// `duration`, or Argo CD's default when empty.
    pub fn duration(&self) -> Result<Duration, DurationError> {
        parse_or(self.duration.as_deref(), DEFAULT_RETRY_DURATION)
    }

    /// `maxDuration`, or Argo CD's default when empty.
    pub fn max_duration(&self) -> Result<Duration, DurationError> {
        parse_or(self.max_duration.as_deref(), DEFAULT_RETRY_MAX_DURATION)
    }
}

fn parse_or(text: Option<&str>, default: Duration) -> Result<Duration, DurationError> {
    match text {
        Some(text) if !text.is_empty() => parse_duration(text),
        _ => Ok(default),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedNamespaceMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn retry(value: serde_json::Value) -> RetryStrategy {
        serde_json::from_value(value).expect("valid retry")
    }

    #[test]
    fn backoff_grows_by_factor_and_stops_at_max_duration() {
        let strategy = retry(
            json!({"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "1m"}}),
        );
        let delays: Vec<u64> = (0..6)
            .map(|n| strategy.delay(n).unwrap().as_secs())
            .collect();
        assert_eq!(delays, [5, 10, 20, 40, 60, 60]);
    }

    #[test]
    fn backoff_defaults_are_argo_cds() {
        let strategy = retry(json!({"limit": 2}));
        assert_eq!(strategy.delay(0), Ok(Duration::from_secs(5)));
        assert_eq!(strategy.delay(10), Ok(Duration::from_secs(180)));
        let seconds = retry(json!({"backoff": {"duration": "30", "maxDuration": "0"}}));
        // maxDuration 0 means no cap
        assert_eq!(seconds.delay(3), Ok(Duration::from_secs(240)));
    }

    #[test]
    fn bad_backoff_duration_is_an_error() {
        let strategy = retry(json!({"backoff": {"duration": "soon"}}));
        assert!(strategy.delay(0).is_err());
    }

    #[test]
    fn retry_limit_zero_none_negative_unlimited() {
        assert!(!retry(json!({})).allows_retry(0));
        assert!(retry(json!({"limit": 2})).allows_retry(1));
        assert!(!retry(json!({"limit": 2})).allows_retry(2));
        assert!(retry(json!({"limit": -1})).allows_retry(1000));
    }

    #[test]
    fn automated_unless_disabled() {
        let policy = |v| serde_json::from_value::<SyncPolicy>(v).unwrap();
        assert!(!policy(json!({})).is_automated());
        assert!(policy(json!({"automated": {}})).is_automated());
        assert!(!policy(json!({"automated": {"enabled": false}})).is_automated());
    }
}
