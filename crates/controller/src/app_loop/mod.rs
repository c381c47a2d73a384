//! The loop over Applications: watch them, reconcile one at a time per app, sync, delete.

pub mod comparison;
pub mod delete;
pub mod event_sink;
pub mod reconcile;
pub mod render;
pub mod run;
pub mod status_writer;
pub mod sync;
pub mod volatile_found;
