//! Normalize, ignoreDifferences, Secret masking and diffs of desired vs live objects. Pure:
//! values in, values out.
//!
//! # When an object is Synced
//!
//! Both sides are first normalized ([`normalize`]): `status` and the server's bookkeeping
//! in `metadata` (`managedFields`, `resourceVersion`, `uid`, `generation`,
//! `creationTimestamp`, `selfLink`, deletion fields, the `kubectl.kubernetes.io/
//! last-applied-configuration` annotation) are dropped, and a core Secret's `stringData`
//! is base64-encoded into `data` as the API server does. Then the matching ignoreDifferences
//! rules ([`IgnoreRule`]: JSON pointers, jq path expressions, fields owned by named field
//! managers) take their fields out of *both* sides.
//!
//! The offline comparison ([`Differ::diff`]) then asks: **does every field the desired
//! manifest sets have the same value live?** Fields only live (server defaults such as
//! `imagePullPolicy`, `terminationMessagePath`, `dnsPolicy`, `revisionHistoryLimit`,
//! `strategy`; fields controllers set) do not count, so a freshly applied object is Synced.
//! In detail:
//!
//! - maps: each key the desired map has is compared, recursively; live-only keys are skipped;
//! - lists: compared item by item, by position; a list whose length differs from the
//!   desired one is one difference (the list's path). Items that are maps (containers,
//!   env, ports) follow the map rule, so defaulted fields inside them do not count;
//! - a desired `null`, `false`, `0`, `""`, `{}` or `[]` (or a map of only such values)
//!   equals a missing live field, because the API server omits those on write;
//! - numbers compare by value (`1` = `1.0`), and a number written as a string equals that
//!   number (`port: "80"` = `80`);
//! - where the Kubernetes API types a field as a resource quantity (requests/limits,
//!   quota `hard`, capacity, LimitRange bounds, `sizeLimit`, HPA targets) quantities
//!   compare by value: `cpu: 1000m` = `1`, `memory: 1073741824` = `1Gi`;
//! - the top-level `apiVersion` is not compared: objects are paired by group and kind,
//!   and live may have been read at another version.
//!
//! A field removed from git is found through live `managedFields`: a field that
//! driftless' field manager applied last time (operation `Apply`), that live still has,
//! that no other manager also owns and that git no longer sets is a difference too, since
//! the next server-side apply removes it (the counterpart of Argo CD's three-way diff; see
//! [`Differ::with_field_manager`]). The tracking annotation and label are exempt, since
//! driftless adds them at apply time.
//!
//! What this cannot see: defaulting or mutation by webhooks that changes a field git sets,
//! and removals from objects driftless has not applied yet. For those,
//! [`Differ::diff_server_side`] compares a dry-run apply result with live, every field on
//! either side counting, after the same normalization.
//!
//! # ignoreDifferences
//!
//! [`IgnoreRule`] has the fields of Argo CD's `ResourceIgnoreDifferences`; `group` and
//! `kind` are globs, `name` and `namespace` exact or empty for any. App rules and the
//! system-wide ones from the `argocd-cm` ConfigMap ([`rules_from_config_map`]) are passed
//! to [`Differ::new`] together. A bad pointer or jq expression fails there; a jq
//! expression that fails on one object (a missing list) removes nothing from it, as in
//! Argo CD. `managedFieldsManagers` removes what the named managers own in live
//! `metadata.managedFields` (see the `managed_fields` module for how `.` is read).
//!
//! # IgnoreExtraneous and compare options
//!
//! [`ignore_when_extraneous`] and [`CompareOptions`] read the
//! `argocd.argoproj.io/compare-options` annotation; an Extraneous object that asks for it
//! is still reported as Extraneous here, and the caller leaves it out of the app's status.
//!
//! # Printing
//!
//! [`ObjectDiff::text`] is a unified diff (YAML) of the live view → desired view, under a
//! header naming `group/Kind/namespace/name`. The live view holds only the live fields the
//! desired manifest speaks about (plus fields removed from git); values equal up to
//! spelling print in the live spelling. Every text a [`Differ`] produces has Secrets
//! masked ([`SecretMasker`]): same value, same mask within one salt.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod base64;
mod compare;
mod compare_options;
mod ignore;
mod ignore_config;
pub mod jq;
mod managed_fields;
mod mask;
mod normalize;
mod object_diff;
pub mod pointer;
mod quantity;
pub use quantity::whole_quantity;
mod removed;
pub mod respect;
mod text;

pub use compare_options::{CompareOptions, ignore_when_extraneous};
pub use ignore::{IgnoreError, IgnoreRule, IgnoreRules};
pub use ignore_config::{IgnoreConfigError, rules_from_config_map};
pub use managed_fields::ManagedFieldsError;
pub use mask::SecretMasker;
pub use normalize::{LAST_APPLIED, normalize};
pub use object_diff::{DiffError, Differ, ObjectDiff, SyncStatus};
pub use respect::{respect_ignored, respect_ignored_all};
