//! Repositories read from directories on disk: repoURLs mapped to checkouts (`--repo-map`,
//! else one default directory), for rendering and for the ApplicationSet git generator.
//! Revisions are ignored: the checkout as it is on disk is what gets read.

use driftless_appset::{GitError, GitFiles};
use driftless_render::{DirTree, RepoResolver, TreeSource};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RepoMapError {
    #[error("failed to read the repo map {path}: {message}")]
    Read { path: String, message: String },
}

/// Resolves repoURLs to directories: the map's entries, else one default directory.
pub struct Checkouts {
    map: BTreeMap<String, PathBuf>,
    default: PathBuf,
}

impl Checkouts {
    /// Every repoURL read from `default`.
    pub fn all_in(default: PathBuf) -> Self {
        Self {
            map: BTreeMap::new(),
            default,
        }
    }

    /// The `repoURL: directory` entries of a YAML file (directories relative to the file),
    /// with `default` for the URLs it does not name.
    pub fn from_map_file(file: &Path, default: PathBuf) -> Result<Self, RepoMapError> {
        let read_err = |message: String| RepoMapError::Read {
            path: file.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(file).map_err(|e| read_err(e.to_string()))?;
        let entries: BTreeMap<String, PathBuf> = serde_norway::from_str(&text)
            .map_err(|e| read_err(format!("expected a map of repoURL: directory: {e}")))?;
        let base = file.parent().unwrap_or(Path::new("."));
        let map = entries
            .into_iter()
            .map(|(url, dir)| (normalize_repo_url(&url), base.join(dir)))
            .collect();
        Ok(Self { map, default })
    }

    fn dir_for(&self, repo_url: &str) -> Result<&Path, String> {
        let dir = self
            .map
            .get(&normalize_repo_url(repo_url))
            .unwrap_or(&self.default);
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(format!(
                "{} (for {repo_url}) is not a directory",
                dir.display()
            ))
        }
    }
}

impl RepoResolver for Checkouts {
    fn open(&self, repo_url: &str, _revision: &str) -> Result<Box<dyn TreeSource + '_>, String> {
        Ok(Box::new(DirTree::new(self.dir_for(repo_url)?)))
    }
}

/// The git generator's view of a checkout: what a git tree would hold, so `.git` and
/// symbolic links are left out.
impl GitFiles for Checkouts {
    fn dirs(&self, repo_url: &str, revision: &str) -> Result<Vec<String>, GitError> {
        let (dirs, _) = self.walk(repo_url, revision)?;
        Ok(dirs)
    }

    fn files(
        &self,
        repo_url: &str,
        revision: &str,
        glob: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, GitError> {
        let git_error = |message: String| GitError {
            repo_url: repo_url.to_string(),
            revision: revision.to_string(),
            message,
        };
        let pattern: Vec<&str> = glob.trim_matches('/').split('/').collect();
        let (_, files) = self.walk(repo_url, revision)?;
        let root = self.dir_for(repo_url).map_err(git_error)?;
        let mut out = Vec::new();
        for file in files {
            let segments: Vec<&str> = file.split('/').collect();
            if glob_match(&pattern, &segments) {
                let contents = std::fs::read(root.join(&file))
                    .map_err(|e| git_error(format!("failed to read {file}: {e}")))?;
                out.push((file, contents));
            }
        }
        Ok(out)
    }
}

impl Checkouts {
    /// Every directory and regular file under the checkout, as `/`-separated paths, sorted.
    fn walk(&self, repo_url: &str, revision: &str) -> Result<(Vec<String>, Vec<String>), GitError> {
        let git_error = |message: String| GitError {
            repo_url: repo_url.to_string(),
            revision: revision.to_string(),
            message,
        };
        let root = self.dir_for(repo_url).map_err(git_error)?;
        let mut dirs = Vec::new();
        let mut files = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(rel) = pending.pop() {
            let entries = std::fs::read_dir(root.join(&rel)).map_err(|e| {
                git_error(format!("failed to list {}: {e}", root.join(&rel).display()))
            })?;
            for entry in entries {
                let entry = entry.map_err(|e| git_error(format!("failed to list {rel:?}: {e}")))?;
                let Some(name) = entry.file_name().to_str().map(String::from) else {
                    continue;
                };
                let path = if rel.is_empty() {
                    name.clone()
                } else {
                    format!("{rel}/{name}")
                };
                let kind = entry
                    .file_type()
                    .map_err(|e| git_error(format!("failed to read {path}: {e}")))?;
                if kind.is_dir() && !(rel.is_empty() && name == ".git") {
                    dirs.push(path.clone());
                    pending.push(path);
                } else if kind.is_file() {
                    files.push(path);
                }
            }
        }
        dirs.sort();
        files.sort();
        Ok((dirs, files))
    }
}

/// Argo CD's file globbing: `*`, `?` and classes stay within a path segment (Go's
/// `path.Match`), a `**` segment spans any number of segments.
fn glob_match(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| glob_match(rest, &path[skip..])),
        Some((segment, rest)) => match path.split_first() {
            Some((name, tail)) => {
                driftless_appset::git_input::path_match(segment, name) == Some(true)
                    && glob_match(rest, tail)
            }
            None => false,
        },
    }
}

/// One spelling per repository: `https://host/org/repo.git`, `git@host:org/repo` and
/// `ssh://git@host/org/repo/` all become `host/org/repo`.
pub fn normalize_repo_url(url: &str) -> String {
    let mut rest = url.trim().to_ascii_lowercase();
    if let Some((_, after)) = rest.split_once("://") {
        rest = after.to_string();
    } else if let Some((host, path)) = rest.split_once(':') {
        // scp-like `user@host:path`
        rest = format!("{host}/{path}");
    }
    if let Some((user, after)) = rest.split_once('@')
        && !user.contains('/')
    {
        rest = after.to_string();
    }
    let trimmed = rest.trim_end_matches('/');
    trimmed.strip_suffix(".git").unwrap_or(trimmed).to_string()
}

#[cfg(test)]
mod tests {
    use super::{glob_match, normalize_repo_url};

    #[test]
    fn repo_urls_of_one_repository_normalize_alike() {
        for url in [
            "https://git.example.com/org/platform.git",
            "https://git.example.com/org/platform/",
            "git@git.example.com:org/platform.git",
            "ssh://git@git.example.com/org/platform",
            "HTTPS://Git.Example.com/org/platform",
        ] {
            assert_eq!(
                normalize_repo_url(url),
                "git.example.com/org/platform",
                "{url}"
            );
        }
        assert_ne!(
            normalize_repo_url("https://git.example.com/org/other"),
            "git.example.com/org/platform"
        );
    }

    #[test]
    fn star_stays_in_a_segment_and_double_star_spans_segments() {
        let matches = |pattern: &str, path: &str| {
            glob_match(
                &pattern.split('/').collect::<Vec<_>>(),
                &path.split('/').collect::<Vec<_>>(),
            )
        };
        assert!(matches("namespaces/*.yaml", "namespaces/data.yaml"));
        assert!(!matches("namespaces/*.yaml", "namespaces/team/data.yaml"));
        assert!(!matches("namespaces/*.yaml", "namespaces/data.json"));
        assert!(matches("clusters/**/config.json", "clusters/config.json"));
        assert!(matches(
            "clusters/**/config.json",
            "clusters/eu/prod/config.json"
        ));
        assert!(matches("**/values.yaml", "a/b/values.yaml"));
        assert!(!matches(
            "clusters/*/config.json",
            "clusters/eu/prod/config.json"
        ));
    }
}
