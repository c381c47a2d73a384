//! The report as text (a table per source, then the switch-over steps) or JSON.

use super::finding::Finding;
use serde_json::json;

/// The table `ITEM VERDICT NOTE`, a blank line between sources, then the switch-over steps.
pub fn text(findings: &[Finding], namespace: &str) -> String {
    let width = findings
        .iter()
        .map(|f| f.item.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!("{:<width$}  {:<11}  NOTE\n", "ITEM", "VERDICT");
    let mut last_source: Option<&str> = None;
    for finding in findings {
        if last_source.is_some_and(|s| s != finding.source) {
            out.push('\n');
        }
        last_source = Some(&finding.source);
        let verdict = finding.verdict.to_string();
        out.push_str(&format!(
            "{:<width$}  {verdict:<11}  {}\n",
            finding.item, finding.note
        ));
    }
    out.push_str("\nSwitch-over steps (never let both engines write at once):\n");
    for (i, step) in steps(namespace).iter().enumerate() {
        out.push_str(&format!("  {}. {step}\n", i + 1));
    }
    out
}

/// `{"namespace", "findings": [{source, item, verdict, note}], "steps": [...]}`.
pub fn json(findings: &[Finding], namespace: &str) -> serde_json::Value {
    json!({"namespace": namespace, "findings": findings, "steps": steps(namespace)})
}

fn steps(ns: &str) -> Vec<String> {
    vec![
        format!("Stop Argo CD writing: kubectl -n {ns} scale statefulset argocd-application-controller --replicas 0 && kubectl -n {ns} scale deployment argocd-applicationset-controller --replicas 0"),
        "Keep ownership: keep argocd-cm's application.resourceTrackingMethod (pass driftless serve --tracking with the same value) and installationID (read from argocd-cm, or --installation-id), so live objects stay the apps' own and nothing is pruned or adopted twice.".to_string(),
        format!("Start driftless: driftless serve --app-namespace {ns} (add --application-namespaces if Argo CD served apps in other namespaces)"),
        "Check: driftless app list --core shows every Application Synced and Healthy as before.".to_string(),
        format!("Remove Argo CD's controllers (kubectl -n {ns} delete statefulset argocd-application-controller; kubectl -n {ns} delete deployment argocd-applicationset-controller); keep the CRDs, ConfigMaps and Secrets driftless reads."),
    ]
}
