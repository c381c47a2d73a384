//! A VirtualService's http routes are tried in order; a match that an earlier route's match
//! already covers can never be reached (e.g. prefix `/` before `/api`).

use crate::finding::{Finding, Rule, Severity};
use crate::http_match::HttpMatch;
use crate::istio::{ISTIO_GROUP, gateways_of};
use crate::tree::{Context, Obj};
use serde_json::Value;

pub const SHADOWED_MATCH: Rule = Rule {
    id: "virtualservice-shadowed-match",
    severity: Severity::Warning,
    description: "no http route match of a VirtualService is covered by a match of an earlier route (it could never be reached)",
};

/// The matches of each http route, in order; a route without matches is one catch-all.
pub(crate) fn http_matches(vs: &Obj) -> Vec<Vec<HttpMatch>> {
    let vs_gateways = gateways_of(vs.at("/spec/gateways"), vs.ns());
    let routes = vs
        .at("/spec/http")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    routes
        .iter()
        .map(|route| {
            let matches = route
                .get("match")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            if matches.is_empty() {
                vec![HttpMatch::catch_all(&vs_gateways)]
            } else {
                matches
                    .iter()
                    .map(|m| HttpMatch::parse(m, vs.ns(), &vs_gateways))
                    .collect()
            }
        })
        .collect()
}

pub(crate) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for vs in ctx.of_kind(ISTIO_GROUP, "VirtualService") {
        check_one(vs, out);
    }
}

fn check_one(vs: &Obj, out: &mut Vec<Finding>) {
    let routes = vs
        .at("/spec/http")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let matches = http_matches(vs);
    for (j, later) in matches.iter().enumerate().skip(1) {
        let has_match_list = routes
            .get(j)
            .and_then(|r| r.get("match"))
            .and_then(Value::as_array)
            .is_some_and(|m| !m.is_empty());
        for (k, b) in later.iter().enumerate() {
            let cover = matches.iter().take(j).enumerate().find_map(|(i, earlier)| {
                earlier
                    .iter()
                    .position(|a| a.covers(b))
                    .map(|n| (i, n, &earlier[n]))
            });
            let Some((i, n, a)) = cover else { continue };
            let (path, what) = if has_match_list {
                (
                    format!("/spec/http/{j}/match/{k}"),
                    format!("http[{j}].match[{k}] ({})", b.describe()),
                )
            } else {
                (
                    format!("/spec/http/{j}"),
                    format!("http[{j}] (no match: {})", b.describe()),
                )
            };
            let earlier = if routes
                .get(i)
                .and_then(|r| r.get("match"))
                .is_some_and(|m| m.as_array().is_some_and(|a| !a.is_empty()))
            {
                format!("http[{i}].match[{n}] ({})", a.describe())
            } else {
                format!("http[{i}] (no match, so it takes every request)")
            };
            out.push(SHADOWED_MATCH.finding(vs.app, &vs.key, path, format!(
                "{what} is never reached: {earlier} comes first and matches every request it would; move it above, or make it more specific"
            )));
        }
    }
}
