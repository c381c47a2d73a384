//! What the report says about one item of an Argo CD install, and the install as values.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Whether driftless does what Argo CD does with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Verdict {
    /// Read and acted on as Argo CD does.
    Honoured,
    /// Read, or replaced by a setting of driftless, with a difference the note names.
    Differently,
    /// Nothing in driftless reads it.
    Ignored,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Honoured => "Honoured",
            Verdict::Differently => "Differently",
            Verdict::Ignored => "Ignored",
        })
    }
}

/// One line of the report: `item` is `<source>: <key>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Where the item lives (`argocd-cm`, `Secret repo-shop (repository)`, `Applications`).
    pub source: String,
    pub item: String,
    pub verdict: Verdict,
    pub note: String,
}

impl Finding {
    pub fn new(source: &str, key: &str, verdict: Verdict, note: impl Into<String>) -> Self {
        Self {
            source: source.to_string(),
            item: format!("{source}: {key}"),
            verdict,
            note: note.into(),
        }
    }
}

/// A repository, repo-creds or cluster Secret, without its values: the names of its keys,
/// and for a cluster Secret the names of the fields of its `config` (never their values).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialSecret {
    pub name: String,
    /// The `argocd.argoproj.io/secret-type` label: `repository`, `repo-creds` or `cluster`.
    pub secret_type: String,
    pub keys: Vec<String>,
    pub config_fields: Vec<String>,
}

/// What the report reads from an Argo CD namespace. ConfigMaps are `None` when absent.
#[derive(Debug, Clone, Default)]
pub struct Install {
    pub argocd_cm: Option<BTreeMap<String, String>>,
    pub rbac_cm: Option<BTreeMap<String, String>>,
    pub cmd_params_cm: Option<BTreeMap<String, String>>,
    pub notifications_cm_present: bool,
    /// The keys of `argocd-secret`, when it exists; its values are never read into the report.
    pub argocd_secret_keys: Option<Vec<String>>,
    pub credential_secrets: Vec<CredentialSecret>,
    pub projects: Vec<Value>,
    pub applications: Vec<Value>,
    pub application_sets: Vec<Value>,
}
