//! A VirtualService's http routes are tried in order; a match that an earlier route's match
//! already covers can never be reached (e.g. prefix `/` before `/api`). A route all of whose
//! matches are covered (or a route without matches after a catch-all) takes no request at
//! all: that is an error, one per route. A route only some of whose matches are covered still
//! takes traffic through the others: each covered match is a warning.

use crate::finding::{Finding, Rule, Severity};
use crate::http_match::HttpMatch;
use crate::istio::{ISTIO_GROUP, gateways_of};
use crate::tree::{Context, Obj};
use serde_json::Value;

pub const UNREACHABLE_ROUTE: Rule = Rule {
    id: "virtualservice-unreachable-route",
    severity: Severity::Error,
    description: "no http route of a VirtualService has every one of its matches covered by earlier routes (it could never be reached)",
};
pub const SHADOWED_MATCH: Rule = Rule {
    id: "virtualservice-shadowed-match",
    severity: Severity::Warning,
    description: "no http route match of a VirtualService is covered by a match of an earlier route, while the route's other matches are still reachable (that match could never be reached)",
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
    let has_match_list = |i: usize| {
        routes
            .get(i)
            .and_then(|r| r.get("match"))
            .and_then(Value::as_array)
            .is_some_and(|m| !m.is_empty())
    };
    let matches = http_matches(vs);
    for (j, later) in matches.iter().enumerate().skip(1) {
        // For each match of route j, the first earlier match that covers it.
        let covers: Vec<Option<(usize, usize, &HttpMatch)>> = later
            .iter()
            .map(|b| {
                matches.iter().take(j).enumerate().find_map(|(i, earlier)| {
                    earlier
                        .iter()
                        .position(|a| a.covers(b))
                        .map(|n| (i, n, &earlier[n]))
                })
            })
            .collect();
        let earlier_text = |(i, n, a): (usize, usize, &HttpMatch)| {
            if has_match_list(i) {
                format!("http[{i}].match[{n}] ({})", a.describe())
            } else {
                format!("http[{i}] (no match, so it takes every request)")
            }
        };
        if !covers.is_empty() && covers.iter().all(Option::is_some) {
            let mut by: Vec<String> = Vec::new();
            for text in covers.iter().flatten().map(|&c| earlier_text(c)) {
                if !by.contains(&text) {
                    by.push(text);
                }
            }
            let what = if has_match_list(j) {
                let described: Vec<String> = later.iter().map(HttpMatch::describe).collect();
                format!(
                    "http[{j}] ({}) is never reached: every request it matches is taken first by",
                    described.join("; ")
                )
            } else {
                format!(
                    "http[{j}] (no match: {}) is never reached: every request is taken first by",
                    later.first().map(HttpMatch::describe).unwrap_or_default()
                )
            };
            out.push(UNREACHABLE_ROUTE.finding(
                vs.app,
                &vs.key,
                format!("/spec/http/{j}"),
                format!(
                    "{what} {}; move this route above, or make the earlier one more specific",
                    by.join(", ")
                ),
            ));
            continue;
        }
        for (k, (b, cover)) in later.iter().zip(&covers).enumerate() {
            let Some(cover) = *cover else { continue };
            let earlier = earlier_text(cover);
            out.push(SHADOWED_MATCH.finding(vs.app, &vs.key, format!("/spec/http/{j}/match/{k}"), format!(
                "http[{j}].match[{k}] ({}) is never reached: {earlier} comes first and matches every request it would (the route's other matches still take traffic); move it above, or make it more specific",
                b.describe()
            )));
        }
    }
}
