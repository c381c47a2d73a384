//! What the git generator reads from a repository, behind a trait so the generator stays
//! pure: the real implementation is [`crate::source_adapter::RepoCacheFiles`]; tests use
//! [`MemoryGit`].
//!
//! A failure here is an error, never an empty answer: "could not read the repository" must
//! not look like "the files are gone", or a flaky fetch would delete Applications.

use std::collections::{BTreeMap, BTreeSet};

/// Reading a repository failed (unreachable, unknown revision, bad glob …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to read {repo_url} at {revision:?}: {message}")]
pub struct GitError {
    pub repo_url: String,
    pub revision: String,
    pub message: String,
}

/// A repository at a revision, as the git generator sees it.
pub trait GitFiles {
    /// Every directory of the tree at `revision` (not the root), as paths from the root
    /// without a leading or trailing `/`, hidden ones included (the generator drops them).
    fn dirs(&self, repo_url: &str, revision: &str) -> Result<Vec<String>, GitError>;

    /// Every regular file matching `glob` with its contents. `*` stays within a path segment
    /// and `**` spans segments (Argo CD's "new git file globbing").
    fn files(
        &self,
        repo_url: &str,
        revision: &str,
        glob: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, GitError>;
}

/// An in-memory repository set: `repo URL → revision → path → contents`. A URL or revision
/// that is not there is an error, as an unreachable remote would be; `fail` makes a
/// repository answer with an error (a transient failure).
#[derive(Debug, Clone, Default)]
pub struct MemoryGit {
    repos: BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<u8>>>>,
    failing: BTreeMap<String, String>,
}

impl MemoryGit {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file at `revision` of `repo_url`.
    pub fn file(
        mut self,
        repo_url: &str,
        revision: &str,
        path: &str,
        contents: impl AsRef<[u8]>,
    ) -> Self {
        self.repos
            .entry(repo_url.to_string())
            .or_default()
            .entry(revision.to_string())
            .or_default()
            .insert(
                path.trim_matches('/').to_string(),
                contents.as_ref().to_vec(),
            );
        self
    }

    /// Makes every read of `repo_url` fail with `message`.
    pub fn failing(mut self, repo_url: &str, message: &str) -> Self {
        self.failing
            .insert(repo_url.to_string(), message.to_string());
        self
    }

    fn tree(&self, repo_url: &str, revision: &str) -> Result<&BTreeMap<String, Vec<u8>>, GitError> {
        let error = |message: &str| GitError {
            repo_url: repo_url.to_string(),
            revision: revision.to_string(),
            message: message.to_string(),
        };
        if let Some(message) = self.failing.get(repo_url) {
            return Err(error(message));
        }
        self.repos
            .get(repo_url)
            .ok_or_else(|| error("repository not found"))?
            .get(revision)
            .ok_or_else(|| error("unknown revision"))
    }
}

impl GitFiles for MemoryGit {
    fn dirs(&self, repo_url: &str, revision: &str) -> Result<Vec<String>, GitError> {
        let mut dirs = BTreeSet::new();
        for path in self.tree(repo_url, revision)?.keys() {
            let mut parent = path.as_str();
            while let Some((dir, _)) = parent.rsplit_once('/') {
                dirs.insert(dir.to_string());
                parent = dir;
            }
        }
        Ok(dirs.into_iter().collect())
    }

    fn files(
        &self,
        repo_url: &str,
        revision: &str,
        glob: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, GitError> {
        let tree = self.tree(repo_url, revision)?;
        let matcher = globset::GlobBuilder::new(glob.trim_start_matches('/'))
            .literal_separator(true)
            .build()
            .map_err(|e| GitError {
                repo_url: repo_url.to_string(),
                revision: revision.to_string(),
                message: format!("invalid glob {glob:?}: {e}"),
            })?
            .compile_matcher();
        Ok(tree
            .iter()
            .filter(|(path, _)| matcher.is_match(path.as_str()))
            .map(|(path, contents)| (path.clone(), contents.clone()))
            .collect())
    }
}

/// Go's `path.Match`, which the directory generator uses: `*` and `?` never match `/`,
/// `[…]` classes (with `^` negation and ranges), `\` escapes. `None` for a malformed
/// pattern (Argo CD skips such a pattern).
pub fn path_match(pattern: &str, name: &str) -> Option<bool> {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    match_from(&pattern, &name)
}

fn match_from(pattern: &[char], name: &[char]) -> Option<bool> {
    let Some((&first, rest)) = pattern.split_first() else {
        return Some(name.is_empty());
    };
    match first {
        '*' => {
            // Try every split that keeps `*` inside one segment.
            let mut i = 0;
            loop {
                if match_from(rest, &name[i..])? {
                    return Some(true);
                }
                if i >= name.len() || name[i] == '/' {
                    // The rest must still be well formed for Go to answer false.
                    validate(rest)?;
                    return Some(false);
                }
                i += 1;
            }
        }
        '?' => match name.split_first() {
            Some((&c, tail)) if c != '/' => match_from(rest, tail),
            _ => validate(rest).map(|_| false),
        },
        '[' => {
            let (matched, after) = match_class(rest, name.first().copied())?;
            if matched {
                match_from(after, &name[1..])
            } else {
                validate(after).map(|_| false)
            }
        }
        '\\' => {
            let (&escaped, after) = rest.split_first()?;
            match name.split_first() {
                Some((&c, tail)) if c == escaped => match_from(after, tail),
                _ => validate(after).map(|_| false),
            }
        }
        literal => match name.split_first() {
            Some((&c, tail)) if c == literal => match_from(rest, tail),
            _ => validate(rest).map(|_| false),
        },
    }
}

/// Reads a class after `[`; returns whether `c` is in it and the pattern after `]`.
fn match_class(pattern: &[char], c: Option<char>) -> Option<(bool, &[char])> {
    let mut rest = pattern;
    let negated = rest.first() == Some(&'^');
    if negated {
        rest = &rest[1..];
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let (&next, after) = rest.split_first()?;
        if next == ']' && !first {
            rest = after;
            break;
        }
        first = false;
        let (lo, after) = class_char(rest)?;
        rest = after;
        let hi = if rest.first() == Some(&'-') && rest.get(1) != Some(&']') {
            let (hi, after) = class_char(&rest[1..])?;
            rest = after;
            hi
        } else {
            lo
        };
        if let Some(c) = c
            && lo <= c
            && c <= hi
        {
            matched = true;
        }
    }
    let is_in = c.is_some_and(|c| c != '/') && matched != negated;
    Some((is_in, rest))
}

fn class_char(pattern: &[char]) -> Option<(char, &[char])> {
    match pattern.split_first()? {
        ('\\', rest) => rest.split_first().map(|(&c, r)| (c, r)),
        ('-' | ']', _) => None,
        (&c, rest) => Some((c, rest)),
    }
}

/// Checks the rest of a pattern is well formed (Go reports ErrBadPattern even on mismatch).
fn validate(pattern: &[char]) -> Option<()> {
    let mut rest = pattern;
    while let Some((&c, after)) = rest.split_first() {
        rest = match c {
            '[' => match_class(after, None)?.1,
            '\\' => after.split_first()?.1,
            _ => after,
        };
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_match_follows_go() {
        assert_eq!(path_match("apps/*", "apps/web"), Some(true));
        assert_eq!(path_match("apps/*", "apps/web/prod"), Some(false));
        assert_eq!(path_match("apps/*/prod", "apps/web/prod"), Some(true));
        assert_eq!(path_match("*", "apps"), Some(true));
        assert_eq!(path_match("apps/we?", "apps/web"), Some(true));
        assert_eq!(path_match("apps/[a-v]*", "apps/web"), Some(false));
        assert_eq!(path_match("apps/[^a-v]*", "apps/web"), Some(true));
        assert_eq!(path_match("apps/\\*", "apps/*"), Some(true));
        assert_eq!(path_match("apps/**", "apps/a/b"), Some(false));
        assert_eq!(path_match("apps/[", "apps/x"), None);
        assert_eq!(
            path_match("tenants/sandbox-*", "tenants/sandbox-1"),
            Some(true)
        );
    }

    #[test]
    fn memory_git_lists_directories_and_fails_like_a_remote() {
        let git = MemoryGit::new()
            .file("r", "main", "a/b/c.yaml", "x")
            .file("r", "main", "d.yaml", "y");
        assert_eq!(git.dirs("r", "main").unwrap(), vec!["a", "a/b"]);
        assert_eq!(git.files("r", "main", "**/*.yaml").unwrap().len(), 2);
        assert_eq!(git.files("r", "main", "*.yaml").unwrap().len(), 1);
        assert!(git.dirs("r", "dev").is_err());
        assert!(
            git.clone()
                .failing("r", "timeout")
                .dirs("r", "main")
                .is_err()
        );
    }
}
