//! The health of one object, and the health of a group of objects (an Application).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Argo CD's health codes. The variant order is the order from best to worst, so `Ord`
/// (and `max`) answers "which is worse": Healthy < Suspended < Progressing < Missing <
/// Degraded < Unknown, as Argo CD ranks them when it rolls children up into an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HealthCode {
    Healthy,
    Suspended,
    Progressing,
    Missing,
    Degraded,
    Unknown,
}

impl HealthCode {
    pub const ALL: [HealthCode; 6] = [
        HealthCode::Healthy,
        HealthCode::Suspended,
        HealthCode::Progressing,
        HealthCode::Missing,
        HealthCode::Degraded,
        HealthCode::Unknown,
    ];

    /// The string Argo CD writes in `status.health.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthCode::Healthy => "Healthy",
            HealthCode::Suspended => "Suspended",
            HealthCode::Progressing => "Progressing",
            HealthCode::Missing => "Missing",
            HealthCode::Degraded => "Degraded",
            HealthCode::Unknown => "Unknown",
        }
    }

    /// 0 for Healthy up to 5 for Unknown: higher is worse.
    pub fn rank(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for HealthCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of Argo CD's health codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "failed to read health status {0:?}: expected Healthy, Suspended, Progressing, Missing, Degraded or Unknown"
)]
pub struct UnknownHealthCode(pub String);

impl FromStr for HealthCode {
    type Err = UnknownHealthCode;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        HealthCode::ALL
            .into_iter()
            .find(|code| code.as_str() == text)
            .ok_or_else(|| UnknownHealthCode(text.to_string()))
    }
}

/// The health of one object: a code and a human-readable reason (may be empty),
/// serialized as Argo CD does (`{status, message}`, message left out when empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HealthStatus {
    pub status: HealthCode,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl HealthStatus {
    pub fn new(status: HealthCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn healthy(message: impl Into<String>) -> Self {
        Self::new(HealthCode::Healthy, message)
    }

    pub fn progressing(message: impl Into<String>) -> Self {
        Self::new(HealthCode::Progressing, message)
    }

    pub fn degraded(message: impl Into<String>) -> Self {
        Self::new(HealthCode::Degraded, message)
    }

    pub fn suspended(message: impl Into<String>) -> Self {
        Self::new(HealthCode::Suspended, message)
    }

    pub fn unknown(message: impl Into<String>) -> Self {
        Self::new(HealthCode::Unknown, message)
    }

    /// For an object that is in git but not in the cluster.
    pub fn missing() -> Self {
        Self::new(HealthCode::Missing, "")
    }
}

/// An app's health: the worst of its children's. No children means nothing is wrong: Healthy.
/// Children without a health check (`health_of` gave `None`) are simply not passed in.
pub fn aggregate<I>(children: I) -> HealthCode
where
    I: IntoIterator,
    I::Item: std::borrow::Borrow<HealthStatus>,
{
    use std::borrow::Borrow;
    children
        .into_iter()
        .map(|child| child.borrow().status)
        .max()
        .unwrap_or(HealthCode::Healthy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_child_wins_in_argo_cd_order() {
        let children = [
            HealthStatus::healthy(""),
            HealthStatus::missing(),
            HealthStatus::progressing("rolling out"),
            HealthStatus::suspended("paused"),
        ];
        assert_eq!(aggregate(&children), HealthCode::Missing);
        assert_eq!(aggregate(&children[..1]), HealthCode::Healthy);
        assert_eq!(
            aggregate([HealthStatus::healthy(""), HealthStatus::suspended("")]),
            HealthCode::Suspended
        );
        assert_eq!(
            aggregate([HealthStatus::degraded("crash"), HealthStatus::missing()]),
            HealthCode::Degraded
        );
        assert_eq!(
            aggregate([
                HealthStatus::unknown("script failed"),
                HealthStatus::degraded("crash")
            ]),
            HealthCode::Unknown
        );
    }

    #[test]
    fn no_children_is_healthy() {
        assert_eq!(aggregate(Vec::<HealthStatus>::new()), HealthCode::Healthy);
    }

    #[test]
    fn ranks_follow_the_documented_order() {
        let ranks: Vec<u8> = HealthCode::ALL.iter().map(|c| c.rank()).collect();
        assert_eq!(ranks, vec![0, 1, 2, 3, 4, 5]);
        assert!(HealthCode::Unknown > HealthCode::Degraded);
        assert!(HealthCode::Degraded > HealthCode::Missing);
        assert!(HealthCode::Missing > HealthCode::Progressing);
        assert!(HealthCode::Progressing > HealthCode::Suspended);
        assert!(HealthCode::Suspended > HealthCode::Healthy);
    }

    #[test]
    fn serializes_like_argo_cd() {
        let status = HealthStatus::progressing("Waiting for rollout to finish");
        assert_eq!(
            serde_json::to_value(&status).ok(),
            Some(
                serde_json::json!({"status": "Progressing", "message": "Waiting for rollout to finish"})
            )
        );
        assert_eq!(
            serde_json::to_value(HealthStatus::healthy("")).ok(),
            Some(serde_json::json!({"status": "Healthy"}))
        );
        let read: Result<HealthStatus, _> =
            serde_json::from_value(serde_json::json!({"status": "Degraded"}));
        assert_eq!(read.ok(), Some(HealthStatus::degraded("")));
        let bad: Result<HealthStatus, _> =
            serde_json::from_value(serde_json::json!({"status": "Fine"}));
        assert!(bad.is_err());
    }

    #[test]
    fn parses_every_code_and_rejects_others() {
        for code in HealthCode::ALL {
            assert_eq!(code.as_str().parse::<HealthCode>(), Ok(code));
        }
        assert_eq!(
            "healthy".parse::<HealthCode>(),
            Err(UnknownHealthCode("healthy".into()))
        );
    }
}
