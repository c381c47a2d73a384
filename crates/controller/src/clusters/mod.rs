//! The destination clusters: a connection and live cache per cluster, namespace inventories.

pub mod destinations;
pub mod inventory;
pub mod live_cache;
pub mod target;
