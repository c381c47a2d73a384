//! Settings of a repository cache that apply to every repository in it.

use std::time::Duration;

use crate::ssh::SshOptions;

/// How a [`crate::RepoCache`] talks to remotes.
#[derive(Debug, Clone)]
pub struct CacheOptions {
    pub ssh: SshOptions,
    /// The longest one HTTP request may take, from connecting to the end of the response
    /// (a whole pack download). A stuck server fails the operation instead of hanging it.
    pub http_timeout: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            ssh: SshOptions::default(),
            http_timeout: Duration::from_secs(600),
        }
    }
}
