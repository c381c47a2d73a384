//! The wall clock: read by the edges only, handed to the decisions as whole seconds.

/// Seconds since the epoch, now.
pub fn now_secs() -> i64 {
    k8s_openapi::jiff::Timestamp::now().as_second()
}
