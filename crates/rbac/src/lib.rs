//! Argo CD's RBAC, evaluated as Argo CD 3.x does: the argocd-rbac-cm ConfigMap (policy CSV,
//! `policy.default`, `policy.matchMode`, `scopes`), the built-in roles, and AppProject roles.
//! Pure: no I/O, no clock; callers hand in the ConfigMap data, the projects and the claims.
//!
//! ```
//! use driftless_rbac::{Policy, Subjects};
//! use std::collections::BTreeMap;
//!
//! let data = BTreeMap::from([(
//!     "policy.csv".to_string(),
//!     "p, role:dev, applications, sync, dev/*, allow\ng, my-org:dev, role:dev".to_string(),
//! )]);
//! let policy = Policy::from_config_map(&data)?;
//! let alice = Subjects::new("alice", ["my-org:dev"]);
//! assert!(policy.enforce(&alice, "applications", "sync", "dev/web").is_allowed());
//! let denial = policy.enforce(&alice, "applications", "sync", "prod/web");
//! assert_eq!(
//!     denial.into_result().unwrap_err().to_string(),
//!     "permission denied: applications, sync, prod/web, sub: alice"
//! );
//! # Ok::<(), driftless_rbac::PolicyError>(())
//! ```
//!
//! # Requests
//!
//! A request is (resource, action, object) as Argo CD's API server asks it: resources
//! `applications`, `applicationsets`, `clusters`, `projects`, `repositories`,
//! `write-repositories`, `accounts`, `certificates`, `gpgkeys`, `logs`, `exec`, `extensions`;
//! actions `get`, `create`, `update`, `delete`, `sync`, `rollback`, `override`,
//! `action/<group>/<kind>/<name>`, `invoke`, and for an application's managed resources
//! `update/<group>/<kind>/<namespace>/<name>` and `delete/…` (Argo CD 3 asks only these for
//! them, unless `server.rbac.disableApplicationFineGrainedRBACInheritance` is `false`; that
//! choice is the caller's). Objects of project-scoped resources are `<project>/<app>`, or
//! `<project>/<namespace>/<app>` for an Application outside the control namespace; a policy
//! object `proj/*` matches both, since `*` crosses `/`.
//!
//! # Rules
//!
//! See [`Policy::from_config_map`] for the ConfigMap, [`Policy::enforce`] for how a request
//! is decided, and [`MatchMode`] for patterns. Where this crate departs from Argo CD it is to
//! refuse what Argo CD would load but never honour (unknown effects, patterns that do not
//! compile, empty fields), to drop trailing blanks of fields, and to match the built-in
//! policy as globs in regex mode too.

// Tests may unwrap: a panic there is a failed test, not a crash on user input.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod builtin;
mod enforce;
mod parse;
mod pattern;
mod policy;
mod project;
mod subjects;

pub use enforce::{Decision, Denial};
pub use parse::{LineProblem, PolicyError, RuleOrigin};
pub use pattern::MatchMode;
pub use policy::Policy;
pub use project::{
    ProjectPolicyError, ProjectProblem, ProjectRole, ProjectRoles, ProjectToken, RolePolicyProblem,
};
pub use subjects::Subjects;
