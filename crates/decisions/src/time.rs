//! Timestamps: whole seconds since the epoch in the decisions, Kubernetes `Time` in the status;
//! the clock itself is the controller's (`runtime::clock`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// `secs` as a `Time`; out-of-range values clamp to the epoch rather than fail.
pub fn time_of(secs: i64) -> Time {
    Time(Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// The seconds since the epoch of a `Time`.
pub fn secs_of(time: &Time) -> i64 {
    time.0.as_second()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_trip_through_time() {
        assert_eq!(secs_of(&time_of(1_700_000_000)), 1_700_000_000);
        assert_eq!(
            serde_json::to_value(time_of(0)).unwrap(),
            "1970-01-01T00:00:00Z"
        );
    }
}
