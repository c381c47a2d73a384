//! The pure core of `driftless migrate report`: an Argo CD install in, findings out.

use super::config_keys;
use super::finding::{Finding, Install, Verdict};
use super::resources;

/// Every finding for `install`, grouped by source in the order the report prints them.
pub fn judge(install: &Install) -> Vec<Finding> {
    let mut out = Vec::new();
    match &install.argocd_cm {
        Some(data) => out.extend(config_keys::argocd_cm(data)),
        None => out.push(absent("argocd-cm", "driftless uses Argo CD's defaults")),
    }
    match &install.rbac_cm {
        Some(data) => out.extend(config_keys::rbac_cm(data)),
        None => out.push(absent("argocd-rbac-cm", "only the built-in roles apply")),
    }
    if let Some(data) = &install.cmd_params_cm {
        out.extend(config_keys::cmd_params_cm(data));
    }
    if install.notifications_cm_present {
        out.push(Finding::new(
            "argocd-notifications-cm",
            "(present)",
            Verdict::Honoured,
            "read by driftless serve: services webhook, slack, github and email; templates, triggers, subscriptions",
        ));
    }
    if let Some(keys) = &install.argocd_secret_keys {
        let referenced = install
            .argocd_cm
            .as_ref()
            .map(config_keys::referenced_secret_keys)
            .unwrap_or_default();
        out.extend(config_keys::argocd_secret(keys, &referenced));
    }
    out.extend(resources::credential_secrets(&install.credential_secrets));
    out.extend(resources::projects(&install.projects));
    out.extend(resources::applications(&install.applications));
    out.extend(resources::application_sets(&install.application_sets));
    out
}

fn absent(source: &str, note: &str) -> Finding {
    Finding::new(source, "(absent)", Verdict::Honoured, note)
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
