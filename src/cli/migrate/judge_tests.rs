use super::*;
use crate::cli::migrate::finding::CredentialSecret;
use crate::cli::migrate::output;
use serde_json::Value;
use std::collections::BTreeMap;

fn fixture(text: &str) -> Value {
    serde_norway::from_str(text).expect("fixture is YAML")
}

fn data(text: &str) -> BTreeMap<String, String> {
    serde_json::from_value(fixture(text)["data"].clone()).expect("data is a string map")
}

fn install() -> Install {
    Install {
        argocd_cm: Some(data(include_str!("testdata/argocd-cm.yaml"))),
        rbac_cm: Some(data(include_str!("testdata/argocd-rbac-cm.yaml"))),
        cmd_params_cm: Some(data(include_str!("testdata/argocd-cmd-params-cm.yaml"))),
        notifications_cm_present: true,
        argocd_secret_keys: Some(
            [
                "admin.password",
                "admin.passwordMtime",
                "server.secretkey",
                "webhook.github.secret",
                "oidc.okta.clientSecret",
                "dex.github.clientSecret",
                "tls.crt",
            ]
            .map(String::from)
            .to_vec(),
        ),
        credential_secrets: vec![
            CredentialSecret {
                name: "repo-team-alpha".into(),
                secret_type: "repository".into(),
                keys: ["type", "url", "username", "password", "githubAppID"]
                    .map(String::from)
                    .to_vec(),
                config_fields: Vec::new(),
            },
            CredentialSecret {
                name: "cluster-prod".into(),
                secret_type: "cluster".into(),
                keys: ["name", "server", "config"].map(String::from).to_vec(),
                config_fields: vec!["awsAuthConfig".into(), "tlsClientConfig".into()],
            },
        ],
        projects: vec![fixture(include_str!("testdata/project.yaml"))],
        applications: vec![fixture(include_str!("testdata/application.yaml"))],
        application_sets: vec![fixture(include_str!("testdata/applicationset.yaml"))],
    }
}

fn verdict_of(findings: &[Finding], item: &str) -> Verdict {
    let found: Vec<&Finding> = findings.iter().filter(|f| f.item == item).collect();
    assert_eq!(found.len(), 1, "{item} once in {findings:#?}");
    found[0].verdict
}

#[test]
fn every_argocd_cm_key_gets_one_finding() {
    let install = install();
    let findings = judge(&install);
    for key in install.argocd_cm.iter().flat_map(|d| d.keys()) {
        verdict_of(&findings, &format!("argocd-cm: {key}"));
    }
}

#[test]
fn argocd_cm_keys_are_judged_by_what_driftless_reads() {
    let findings = judge(&install());
    for (key, verdict) in [
        (
            "resource.customizations.health.argoproj.io_Rollout",
            Verdict::Honoured,
        ),
        (
            "resource.customizations.ignoreDifferences.admissionregistration.k8s.io_MutatingWebhookConfiguration",
            Verdict::Honoured,
        ),
        (
            "resource.customizations.actions.apps_Deployment",
            Verdict::Ignored,
        ),
        ("installationID", Verdict::Honoured),
        ("application.resourceTrackingMethod", Verdict::Differently),
        ("oidc.config", Verdict::Honoured),
        ("dex.config", Verdict::Ignored),
        ("accounts.ci", Verdict::Honoured),
        ("ui.bannercontent", Verdict::Ignored),
        ("exec.enabled", Verdict::Ignored),
        ("resource.exclusions", Verdict::Ignored),
        ("timeout.reconciliation", Verdict::Differently),
    ] {
        assert_eq!(
            verdict_of(&findings, &format!("argocd-cm: {key}")),
            verdict,
            "{key}"
        );
    }
    let tracking = findings
        .iter()
        .find(|f| f.item == "argocd-cm: application.resourceTrackingMethod")
        .map(|f| f.note.as_str());
    assert!(
        tracking.is_some_and(|n| n.contains("--tracking annotation+label")),
        "{tracking:?}"
    );
}

#[test]
fn other_config_maps_and_the_secret_keys_are_judged() {
    let findings = judge(&install());
    for (item, verdict) in [
        ("argocd-rbac-cm: policy.csv", Verdict::Honoured),
        ("argocd-rbac-cm: policy.overlay.csv", Verdict::Honoured),
        ("argocd-rbac-cm: scopes", Verdict::Honoured),
        (
            "argocd-cmd-params-cm: application.namespaces",
            Verdict::Differently,
        ),
        (
            "argocd-cmd-params-cm: controller.status.processors",
            Verdict::Ignored,
        ),
        ("argocd-notifications-cm: (present)", Verdict::Honoured),
        ("argocd-secret: server.secretkey", Verdict::Honoured),
        ("argocd-secret: webhook.github.secret", Verdict::Honoured),
        // oidc.config names it as $oidc.okta.clientSecret; only dex.config names the other.
        ("argocd-secret: oidc.okta.clientSecret", Verdict::Honoured),
        ("argocd-secret: dex.github.clientSecret", Verdict::Ignored),
        ("argocd-secret: tls.crt", Verdict::Differently),
        (
            "Secret repo-team-alpha (repository): password",
            Verdict::Honoured,
        ),
        (
            "Secret repo-team-alpha (repository): githubAppID",
            Verdict::Ignored,
        ),
        (
            "Secret cluster-prod (cluster): config",
            Verdict::Differently,
        ),
    ] {
        assert_eq!(verdict_of(&findings, item), verdict, "{item}");
    }
}

#[test]
fn field_groups_of_projects_apps_and_appsets_are_judged() {
    let findings = judge(&install());
    for (item, verdict) in [
        ("AppProjects: roles", Verdict::Honoured),
        ("AppProjects: syncWindows", Verdict::Differently),
        ("AppProjects: destinationServiceAccounts", Verdict::Honoured),
        ("Applications: syncPolicy.automated", Verdict::Honoured),
        (
            "Applications: syncOption CreateNamespace=true",
            Verdict::Honoured,
        ),
        (
            "Applications: syncOption ClientSideApplyMigration=false",
            Verdict::Ignored,
        ),
        ("Applications: source type kustomize", Verdict::Differently),
        ("Applications: ignoreDifferences", Verdict::Honoured),
        ("ApplicationSets: generator matrix", Verdict::Honoured),
        ("ApplicationSets: generator git", Verdict::Honoured),
        ("ApplicationSets: generator list", Verdict::Honoured),
        ("ApplicationSets: generator pullRequest", Verdict::Ignored),
        ("ApplicationSets: goTemplate", Verdict::Honoured),
    ] {
        assert_eq!(verdict_of(&findings, item), verdict, "{item}");
    }
    let dsa = findings
        .iter()
        .find(|f| f.item == "AppProjects: destinationServiceAccounts")
        .map(|f| f.note.clone())
        .unwrap_or_default();
    assert!(dsa.contains("team-alpha"), "names the project: {dsa}");
}

#[test]
fn a_namespace_without_config_maps_says_so() {
    let findings = judge(&Install::default());
    assert_eq!(
        verdict_of(&findings, "argocd-cm: (absent)"),
        Verdict::Honoured
    );
    assert_eq!(
        verdict_of(&findings, "argocd-rbac-cm: (absent)"),
        Verdict::Honoured
    );
    assert_eq!(findings.len(), 2);
}

#[test]
fn the_text_report_groups_by_source_and_ends_with_the_steps() {
    let text = output::text(&judge(&install()), "argocd");
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with("ITEM") && first.contains("VERDICT") && first.contains("NOTE"));
    let cm = text.find("argocd-cm: url").expect("argocd-cm rows");
    let rbac = text.find("argocd-rbac-cm: policy.csv").expect("rbac rows");
    let steps = text.find("Switch-over steps").expect("steps");
    assert!(cm < rbac && rbac < steps);
    assert!(text.contains(
        "kubectl -n argocd scale statefulset argocd-application-controller --replicas 0"
    ));
    assert!(text.contains("driftless serve --app-namespace argocd"));
}

#[test]
fn the_json_report_lists_item_verdict_and_note() {
    let json = output::json(&judge(&install()), "argocd");
    let first = &json["findings"][0];
    assert_eq!(first["source"], "argocd-cm");
    assert!(
        first["item"]
            .as_str()
            .is_some_and(|i| i.starts_with("argocd-cm: "))
    );
    assert!(matches!(
        first["verdict"].as_str(),
        Some("Honoured" | "Differently" | "Ignored")
    ));
    assert!(json["steps"].as_array().is_some_and(|s| s.len() == 5));
}

#[test]
fn least_privilege_settings_say_what_driftless_does_with_them() {
    let mut install = install();
    install.credential_secrets.push(CredentialSecret {
        name: "cluster-tenant".into(),
        secret_type: "cluster".into(),
        keys: ["name", "server", "config", "namespaces", "clusterResources"]
            .map(String::from)
            .to_vec(),
        config_fields: Vec::new(),
    });
    install.argocd_cm.get_or_insert_default().insert(
        "application.sync.impersonation.enabled".into(),
        "true".into(),
    );
    let findings = judge(&install);
    for (item, verdict) in [
        (
            "Secret cluster-tenant (cluster): namespaces",
            Verdict::Honoured,
        ),
        (
            "Secret cluster-tenant (cluster): clusterResources",
            Verdict::Honoured,
        ),
        (
            "argocd-cm: application.sync.impersonation.enabled",
            Verdict::Differently,
        ),
        ("AppProjects: destinationServiceAccounts", Verdict::Honoured),
    ] {
        assert_eq!(verdict_of(&findings, item), verdict, "{item}");
    }
    let note = |item: &str| {
        findings
            .iter()
            .find(|f| f.item == item)
            .map(|f| f.note.clone())
            .unwrap_or_default()
    };
    assert!(
        note("argocd-cm: application.sync.impersonation.enabled").contains("--sync-impersonation")
    );
    assert!(note("Secret cluster-tenant (cluster): namespaces").contains("per namespace"));
}
