//! The destination clusters: a connection and live cache per cluster, which
//! namespaces exist, namespace inventories.

pub mod destinations;
pub mod inventory;
pub mod live_cache;
pub mod namespaces;
pub mod target;
