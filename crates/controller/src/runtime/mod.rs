//! What the loops run on: configuration, the shared context, queue, backoff, the leader lease,
//! stores, metrics, traces and the clock.

pub mod app_store;
pub mod backoff;
pub mod clock;
pub mod config;
pub mod context;
pub mod lease;
pub mod metrics;
pub mod mutex;
pub mod queue;
pub mod shutdown;
pub mod stores;
pub mod telemetry;
