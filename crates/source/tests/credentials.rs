//! Choosing credentials from Argo CD repository Secrets: one case per file under
//! `testdata/credentials/`, each with the repository URL, the application's project, the
//! Secrets as they would be in the cluster, and the credentials expected.

use std::path::PathBuf;

use driftless_source::{
    CredentialSecret, RepoCredentials, StaticSecrets, credentials_for, select_credentials,
};
use k8s_openapi::api::core::v1::Secret;
use pretty_assertions::assert_eq;
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    description: String,
    url: String,
    project: Option<String>,
    secrets: Vec<Secret>,
    expect: Expected,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Expected {
    username: Option<String>,
    password: Option<String>,
    ssh_private_key: Option<String>,
    #[serde(default)]
    insecure: bool,
    proxy: Option<String>,
}

impl From<Expected> for RepoCredentials {
    fn from(e: Expected) -> Self {
        RepoCredentials {
            username: e.username,
            password: e.password,
            ssh_private_key: e.ssh_private_key,
            insecure: e.insecure,
            proxy: e.proxy,
        }
    }
}

fn cases() -> Vec<(PathBuf, Case)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/credentials");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("testdata/credentials")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read case");
            let case: Case =
                serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, case)
        })
        .collect()
}

#[test]
fn every_case_chooses_the_expected_credentials() {
    let cases = cases();
    assert!(cases.len() >= 10, "found {} cases", cases.len());
    for (path, case) in cases {
        let secrets: Vec<CredentialSecret> = case
            .secrets
            .iter()
            .filter_map(CredentialSecret::from_secret)
            .collect();
        let chosen = select_credentials(&case.url, case.project.as_deref(), &secrets);
        let expected: RepoCredentials = case.expect.into();
        assert_eq!(chosen, expected, "{}: {}", path.display(), case.description);
    }
}

#[tokio::test]
async fn a_secret_source_feeds_the_same_choice() {
    let (_, case) = cases()
        .into_iter()
        .find(|(p, _)| p.ends_with("longest-prefix-template.yaml"))
        .expect("case present");
    let source = StaticSecrets(
        case.secrets
            .iter()
            .filter_map(CredentialSecret::from_secret)
            .collect(),
    );
    let chosen = credentials_for(&source, &case.url, None)
        .await
        .expect("static source");
    assert_eq!(chosen.basic_auth(), Some(("narrow", "narrow-pass")));
}
