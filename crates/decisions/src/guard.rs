//! Guard checks at sync time (pure): the AppProject picks the mode with the annotation
//! `driftless.dev/guard: warn|enforce` (default `warn`). In `warn` mode findings are one
//! `GuardWarning` condition; in `enforce` mode error findings are a `GuardError` condition and
//! block every sync of the app (automated and manual), warnings are reported as in `warn`.

use crate::conditions::{self, Found};
use driftless_guard::{Finding, Severity, Tree, check};
use driftless_model::AppProject;
use driftless_model::annotations::GUARD_MODE;
use serde_json::Value;

/// Findings listed in one condition message, at most; the rest are counted.
const LISTED: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardMode {
    Warn,
    Enforce,
}

/// The project's mode; anything but `enforce` (or no project) warns.
pub fn mode_of(project: Option<&AppProject>) -> GuardMode {
    let value = project
        .and_then(|p| p.metadata.annotations.as_ref())
        .and_then(|a| a.get(GUARD_MODE));
    match value.map(|v| v.trim()) {
        Some("enforce") => GuardMode::Enforce,
        _ => GuardMode::Warn,
    }
}

/// What the guard says about one app's rendered objects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    pub found: Vec<Found>,
    /// Why no sync may start, if one may not.
    pub blocked: Option<String>,
    /// How many findings of each severity (for the metrics).
    pub errors: usize,
    pub warnings: usize,
}

/// Checks the rendered objects of `app` under `mode`.
pub fn judge(app: &str, mode: GuardMode, desired: &[Value]) -> Verdict {
    let findings = check(&Tree::of_app(app, desired.iter().cloned()));
    let (errors, warnings): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| f.severity == Severity::Error);
    let mut verdict = Verdict {
        errors: errors.len(),
        warnings: warnings.len(),
        ..Verdict::default()
    };
    match mode {
        GuardMode::Warn => {
            let all: Vec<&Finding> = findings.iter().collect();
            if !all.is_empty() {
                verdict
                    .found
                    .push(Found::new(conditions::GUARD_WARNING, summary(&all)));
            }
        }
        GuardMode::Enforce => {
            if !errors.is_empty() {
                let message = format!(
                    "sync blocked by the project's guard (enforce): {}",
                    summary(&errors)
                );
                verdict
                    .found
                    .push(Found::new(conditions::GUARD_ERROR, message.clone()));
                verdict.blocked = Some(message);
            }
            if !warnings.is_empty() {
                verdict
                    .found
                    .push(Found::new(conditions::GUARD_WARNING, summary(&warnings)));
            }
        }
    }
    verdict
}

/// `N finding(s):`, then one line per finding (at most [`LISTED`]) saying what is wrong and what
/// to set (the rule's own message), and last what to do about them.
fn summary(findings: &[&Finding]) -> String {
    let listed: Vec<String> = findings
        .iter()
        .take(LISTED)
        .map(|f| {
            let at = if f.path.is_empty() {
                String::new()
            } else {
                format!(" at {}", f.path)
            };
            format!(
                "- {} ({}) on {}{at}: {}",
                f.rule, f.severity, f.object, f.message
            )
        })
        .collect();
    let rest = findings.len().saturating_sub(LISTED);
    let more = if rest > 0 {
        format!("\n- and {rest} more (driftless check lists them all)")
    } else {
        String::new()
    };
    format!(
        "{} finding(s):\n{}{more}\n{FIX}",
        findings.len(),
        listed.join("\n")
    )
}

/// What to do about the findings, the last line of the condition.
pub const FIX: &str = "Fix each finding as it says, or waive its rule on that object with the annotation \
driftless.dev/waive: \"<rule> # <reason>\".";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn root_deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "securityContext": {"runAsUser": 0}}]}}}})
    }

    fn project(annotation: Option<&str>) -> AppProject {
        let mut v = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": "p"}, "spec": {}});
        if let Some(mode) = annotation {
            v["metadata"]["annotations"] = json!({GUARD_MODE: mode});
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_project_annotation_picks_the_mode_and_warn_is_the_default() {
        assert_eq!(mode_of(None), GuardMode::Warn);
        assert_eq!(mode_of(Some(&project(None))), GuardMode::Warn);
        assert_eq!(mode_of(Some(&project(Some("warn")))), GuardMode::Warn);
        assert_eq!(mode_of(Some(&project(Some("enforce")))), GuardMode::Enforce);
    }

    #[test]
    fn enforce_blocks_on_errors_and_warn_only_reports() {
        let objects = [root_deployment()];
        let warned = judge("shop", GuardMode::Warn, &objects);
        assert!(warned.blocked.is_none());
        assert_eq!(warned.found.len(), 1);
        assert_eq!(warned.found[0].kind, conditions::GUARD_WARNING);
        // Each finding with where and what to set, and what to do about them all.
        let message = &warned.found[0].message;
        let line = message
            .lines()
            .find(|l| l.starts_with("- run-as-non-root (error) on apps/Deployment/shop/web at "))
            .unwrap_or_else(|| panic!("no line for the root container: {message}"));
        assert!(
            line.contains("runAsUser") && line.contains("set a non-zero runAsUser"),
            "{line}"
        );
        assert!(message.ends_with(FIX), "{message}");

        let enforced = judge("shop", GuardMode::Enforce, &objects);
        let blocked = enforced.blocked.expect("a root container blocks the sync");
        assert!(
            blocked.contains("run-as-non-root") && blocked.contains("apps/Deployment/shop/web"),
            "{blocked}"
        );
        assert!(
            enforced
                .found
                .iter()
                .any(|f| f.kind == conditions::GUARD_ERROR)
        );
    }

    #[test]
    fn a_clean_app_has_no_findings() {
        let clean = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}, "data": {"a": "b"}});
        assert_eq!(
            judge("shop", GuardMode::Enforce, &[clean]),
            Verdict::default()
        );
    }
}
