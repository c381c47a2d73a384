//! What the loops run on: configuration, the shared context, queue, backoff, the leader lease,
//! the shard Leases and which apps they give this replica, stores, metrics, traces and the clock.

pub mod app_store;
pub mod backoff;
pub mod clock;
pub mod config;
pub mod context;
pub mod kube_requests;
pub mod lease;
pub mod metrics;
pub mod mutex;
pub mod ownership;
pub mod queue;
pub mod shard_leases;
pub mod shutdown;
pub mod stores;
pub mod telemetry;
