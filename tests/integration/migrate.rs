//! `driftless migrate report` against an Argo CD-style namespace, run as a user runs it: the
//! built binary, reading through KUBECONFIG. Checks verdicts, that every argocd-cm key is
//! reported, and that no Secret value reaches the output.

use crate::gitops::Gitops;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, PostParams};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Command, Output};

const ADMIN_PASSWORD: &str = "$2a$10$rRyBsGSHK6.uc8fntPwVIuLVHgsAhAX7TcdrqW/RADU0uh7CaChLa";
const SIGNING_KEY: &str = "s3cr3t-signing-key-e7d1f0";
const REPO_PASSWORD: &str = "ghp_migrate-repo-token-9c41";

const ARGOCD_CM: &str = r#"
url: https://argocd.example.com
installationID: migrate-test
application.resourceTrackingMethod: annotation
accounts.ci: apiKey
resource.customizations.health.argoproj.io_Rollout: |
  hs = {}
  hs.status = "Healthy"
  return hs
ui.bannercontent: "Argo CD moves to driftless on Saturday"
exec.enabled: "true"
dex.config: |
  connectors: []
"#;

fn string_map(yaml: &str) -> BTreeMap<String, String> {
    serde_norway::from_str(yaml).expect("the fixture is a string map")
}

fn config_map(name: &str, data: BTreeMap<String, String>) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            labels: Some([("app.kubernetes.io/part-of".into(), "argocd".into())].into()),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    }
}

fn secret(name: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> Secret {
    Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        string_data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..Default::default()
    }
}

fn report(ns: &str, format: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args(["migrate", "report", "--namespace", ns, "-o", format])
        .output()
        .expect("driftless starts")
}

fn verdict<'a>(findings: &'a [Value], item: &str) -> Option<&'a str> {
    findings
        .iter()
        .find(|f| f["item"] == item)
        .and_then(|f| f["verdict"].as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_judges_an_argo_cd_namespace_and_shows_no_secret_value() -> anyhow::Result<()> {
    let env = Gitops::new("migrate").await?;
    let ns = env.ns.name.clone();
    let maps: Api<ConfigMap> = env.ns.api();
    let create = PostParams::default();
    maps.create(&create, &config_map("argocd-cm", string_map(ARGOCD_CM)))
        .await?;
    let rbac = string_map(
        "policy.default: role:readonly\npolicy.csv: |\n  g, my-org:platform, role:admin\n",
    );
    maps.create(&create, &config_map("argocd-rbac-cm", rbac))
        .await?;
    let secrets: Api<Secret> = env.ns.api();
    let part_of = [("app.kubernetes.io/part-of", "argocd")];
    let argocd_secret = [
        ("admin.password", ADMIN_PASSWORD),
        ("server.secretkey", SIGNING_KEY),
    ];
    secrets
        .create(&create, &secret("argocd-secret", &part_of, &argocd_secret))
        .await?;
    let repo = [
        ("type", "git"),
        ("url", "https://git.example.com/platform/apps.git"),
        ("username", "platform-bot"),
        ("password", REPO_PASSWORD),
    ];
    let repo_labels = [("argocd.argoproj.io/secret-type", "repository")];
    secrets
        .create(&create, &secret("repo-platform", &repo_labels, &repo))
        .await?;
    env.apply(&format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {{name: platform, namespace: {ns}}}\n\
         spec:\n  sourceRepos: ['*']\n  destinations: [{{server: '*', namespace: '*'}}]\n\
         \x20 roles: [{{name: ci, policies: ['p, proj:platform:ci, applications, sync, platform/*, allow']}}]\n\
         \x20 destinationServiceAccounts: [{{server: https://kubernetes.default.svc, namespace: '*', defaultServiceAccount: deployer}}]\n"
    ))
    .await?;
    env.apply(&format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web, namespace: {ns}}}\n\
         spec:\n  project: platform\n  source: {{repoURL: 'https://git.example.com/platform/apps.git', targetRevision: HEAD, path: web}}\n\
         \x20 destination: {{server: 'https://kubernetes.default.svc', namespace: {ns}}}\n\
         \x20 syncPolicy: {{automated: {{prune: true, selfHeal: true}}, syncOptions: [CreateNamespace=true]}}\n"
    ))
    .await?;
    env.apply(&format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {{name: envs, namespace: {ns}}}\n\
         spec:\n  generators: [{{list: {{elements: [{{env: dev}}]}}}}, {{scmProvider: {{github: {{organization: example-org}}}}}}]\n\
         \x20 template:\n    metadata: {{name: 'web-{{{{env}}}}'}}\n\
         \x20   spec: {{project: platform, source: {{repoURL: 'https://git.example.com/platform/apps.git', path: web}}, destination: {{server: 'https://kubernetes.default.svc', namespace: '{{{{env}}}}'}}}}\n"
    ))
    .await?;

    let json = report(&ns, "json");
    let text = report(&ns, "text");
    for out in [&json, &text] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "migrate report failed: {stderr}");
        let all = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
        for value in [ADMIN_PASSWORD, SIGNING_KEY, REPO_PASSWORD] {
            assert!(!all.contains(value), "a Secret value is in the output");
        }
    }
    let parsed: Value = serde_json::from_slice(&json.stdout)?;
    let findings = parsed["findings"].as_array().cloned().unwrap_or_default();
    for key in string_map(ARGOCD_CM).keys() {
        let item = format!("argocd-cm: {key}");
        assert!(
            verdict(&findings, &item).is_some(),
            "{item} is missing from {findings:#?}"
        );
    }
    for (item, expected) in [
        (
            "argocd-cm: resource.customizations.health.argoproj.io_Rollout",
            "Honoured",
        ),
        ("argocd-cm: installationID", "Honoured"),
        ("argocd-cm: accounts.ci", "Honoured"),
        ("argocd-cm: ui.bannercontent", "Ignored"),
        ("argocd-cm: exec.enabled", "Ignored"),
        ("argocd-cm: dex.config", "Ignored"),
        ("argocd-rbac-cm: policy.csv", "Honoured"),
        ("argocd-secret: admin.password", "Honoured"),
        ("argocd-secret: server.secretkey", "Honoured"),
        ("Secret repo-platform (repository): password", "Honoured"),
        ("AppProjects: roles", "Honoured"),
        ("AppProjects: destinationServiceAccounts", "Honoured"),
        ("Applications: syncPolicy.automated", "Honoured"),
        ("Applications: syncOption CreateNamespace=true", "Honoured"),
        ("ApplicationSets: generator list", "Honoured"),
        ("ApplicationSets: generator scmProvider", "Ignored"),
    ] {
        assert_eq!(verdict(&findings, item), Some(expected), "{item}");
    }
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("ui.bannercontent") && text.contains("Ignored"));
    assert!(text.contains(&format!(
        "kubectl -n {ns} scale statefulset argocd-application-controller --replicas 0"
    )));
    assert!(text.contains(&format!("driftless serve --app-namespace {ns}")));
    Ok(())
}
