//! Waivers themselves: one that names no known rule, or gives no reason, is reported so a
//! typo does not silently keep a finding (or hide why it was waived).

use crate::finding::{Finding, Rule, Severity};
use crate::pointer;
use crate::tree::Context;
use crate::waiver::waiver_of;
use driftless_model::annotations::WAIVE;

pub const INVALID_WAIVER: Rule = Rule {
    id: "invalid-waiver",
    severity: Severity::Warning,
    description: "a driftless.dev/waive annotation names only known rule ids and gives a reason after #",
};

pub(crate) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let path = pointer::key("/metadata/annotations", WAIVE);
    for obj in &ctx.objects {
        let Some((waiver, _)) = waiver_of(obj.value) else {
            continue;
        };
        let unknown: Vec<&str> = waiver
            .rules
            .iter()
            .map(String::as_str)
            .filter(|r| !super::is_rule(r))
            .collect();
        if !unknown.is_empty() {
            out.push(INVALID_WAIVER.finding(
                obj.app,
                &obj.key,
                path.clone(),
                format!(
                    "waiver names unknown rule(s) {}; see `driftless check --list-rules`",
                    unknown.join(", ")
                ),
            ));
        }
        if waiver.rules.is_empty() {
            out.push(INVALID_WAIVER.finding(
                obj.app,
                &obj.key,
                path.clone(),
                "waiver names no rule; write `<rule>[,<rule>] # reason`",
            ));
        }
        if waiver.reason.is_none() {
            out.push(INVALID_WAIVER.finding(
                obj.app,
                &obj.key,
                path.clone(),
                "waiver gives no reason; write `<rule>[,<rule>] # reason`",
            ));
        }
    }
}
