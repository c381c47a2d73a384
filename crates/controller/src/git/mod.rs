//! Where desired state comes from: git repositories polled (or woken by a webhook) and Helm
//! repositories' chart versions.

pub mod chart_versions;
pub mod touched;
pub mod watcher;
