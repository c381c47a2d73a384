//! The one integration-test binary. Tests here need a cluster: `make test` starts the local
//! control plane and exports KUBECONFIG; each test works in its own temporary namespace.

mod api;
mod appset;
mod appset_rolling;
mod bounded_eval;
mod charts;
mod check;
mod cli;
mod control_plane;
mod controller;
mod crds;
mod delete_hooks;
mod faults;
mod gitops;
mod guard_controller;
mod in_cluster;
mod install;
mod migrate;
mod multicluster;
mod notifications;
mod orphans;
mod outage;
mod platform;
mod pod;
mod privilege;
mod projects;
mod render_cli;
mod secrets;
mod self_managed;
mod sync;
mod sync_windows;
mod traces;
mod ui;
mod volatile;
