//! Rules that catch volatile fields, insecure workloads and broken routing before sync (pure).
//!
//! `check` runs every rule of [`rules::RULES`] over a rendered [`Tree`] and returns
//! [`Finding`]s; `volatile_fields` compares two renders of one revision; `route` tells which
//! destination a request would reach. No I/O: values in, values out.

mod http_match;
mod istio;
mod pod;
mod pointer;
mod string_match;

pub mod finding;
pub mod options;
pub mod route;
pub mod rules;
pub mod tree;
pub mod volatile;
pub mod waiver;

pub use finding::{Finding, Rule, Severity};
pub use options::Options;
pub use route::{Request, RouteAction, RouteDestination, RouteResult, route, route_request};
pub use rules::{ALL_RULES, RULES, is_rule};
pub use tree::{AppObject, Tree};
pub use volatile::{ignore_entry, volatile_fields};
pub use waiver::{Waiver, parse_waiver};

/// Runs every rule over the whole tree with the default [`Options`]. Findings waived by
/// their object's `driftless.dev/waive` annotation are left out; the rest are sorted by app,
/// object, rule and path.
pub fn check(tree: &Tree) -> Vec<Finding> {
    check_with(tree, &Options::default())
}

/// `check` with the given options (e.g. more capabilities a container may add back).
pub fn check_with(tree: &Tree, options: &Options) -> Vec<Finding> {
    let ctx = tree::Context::new(tree);
    let findings = rules::run_all(&ctx, options);
    let objects = ctx.objects.iter().map(|o| (o.key.to_string(), o.value));
    let mut findings = waiver::drop_waived(objects, findings);
    findings.sort_by(|a, b| {
        (&a.app, &a.object, &a.rule, &a.path).cmp(&(&b.app, &b.object, &b.rule, &b.path))
    });
    once_per_object_and_rule(findings)
}

/// One finding per app, object and rule: several places of one object breaking one rule (three
/// wildcards in one RBAC rule, two containers running as root) read as one finding at the
/// first place whose message goes on with each further place as `; <path>: <message>`.
/// `findings` is sorted.
fn once_per_object_and_rule(findings: Vec<Finding>) -> Vec<Finding> {
    let mut merged: Vec<Finding> = Vec::with_capacity(findings.len());
    for finding in findings {
        match merged.last_mut() {
            Some(last)
                if (&last.app, &last.object, &last.rule)
                    == (&finding.app, &finding.object, &finding.rule) =>
            {
                last.message
                    .push_str(&format!("; {}: {}", finding.path, finding.message));
            }
            _ => merged.push(finding),
        }
    }
    merged
}
