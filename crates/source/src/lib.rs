//! Git sources: a bare-repo cache per URL, revision resolution, cheap ref checks and credentials.
//!
//! - [`RepoCache`] keeps one bare repository per URL (a hash names its directory), fetches
//!   single-flight per URL, lists remote refs cheaply ([`RepoCache::ls_remote`]) and makes a
//!   revision available ([`RepoCache::sync`]).
//! - [`LocalRepo`] reads a cached repository: resolve a revision, the tree id of a path, read
//!   or list files, find directories and files by glob, export a tree to disk.
//! - [`select_credentials`] picks credentials from Argo CD repository Secrets;
//!   [`KubeSecrets`] reads those from a cluster.
//! - [`redact_url`] is what every message uses to print a URL.
//!
//! Everything here blocks (gix is synchronous): call it from `spawn_blocking`.

mod big_trees;
mod cache;
mod credentials;
mod export;
mod ids;
mod local;
mod message;
mod mirror;
mod options;
mod refs;
mod remote;
mod secrets;
mod ssh;
mod tree;
mod url;

#[cfg(feature = "testing")]
pub mod testing;

pub use cache::{CacheError, RepoCache, Synced};
pub use credentials::{
    ChosenSecrets, CredentialSecret, RepoCredentials, RepoType, SECRET_TYPE_LABEL, SecretKind,
    choose_secrets, select_credentials,
};
pub use export::{ExportError, ExportSummary};
pub use ids::{CommitId, IdError, TreeId, is_full_sha, is_short_sha};
pub use local::{CommitInfo, LocalRepo, ReadError, path_components};
pub use options::CacheOptions;
pub use refs::{RemoteHead, RemoteRefs};
pub use remote::{FetchReport, RemoteError};
pub use secrets::{KubeSecrets, SecretSource, SecretsError, StaticSecrets, credentials_for};
pub use ssh::SshOptions;
pub use tree::{DirectoryFiles, PathKind};
pub use url::{cache_key, is_ssh_url, normalize_git_url, redact_url};
