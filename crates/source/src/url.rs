//! Repository URLs: redaction for messages, Argo CD's normalisation for credential matching,
//! and the cache directory name. All pure.

use sha2::{Digest, Sha256};

/// The URL without its userinfo (`user:password@`), safe for logs and error messages.
///
/// `https://user:token@host/repo` → `https://host/repo`; the scp-like form
/// `git@host:org/repo` → `host:org/repo`. Local paths are returned unchanged.
pub fn redact_url(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let (scheme, rest) = url.split_at(scheme_end + 3);
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        return match authority.rfind('@') {
            Some(at) => format!("{scheme}{}{tail}", &authority[at + 1..]),
            None => url.to_string(),
        };
    }
    // scp-like `user@host:path`: userinfo can only sit before the first '/'.
    let head_end = url.find('/').unwrap_or(url.len());
    match url[..head_end].rfind('@') {
        Some(at) => url[at + 1..].to_string(),
        None => url.to_string(),
    }
}

/// The userinfo part (`user:password`) of a URL, if it has one; used to scrub it out of
/// third-party messages that may print the URL in another form.
pub(crate) fn userinfo(url: &str) -> Option<&str> {
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    let head_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let head = &rest[..head_end];
    head.rfind('@')
        .map(|at| &head[..at])
        .filter(|u| !u.is_empty())
}

/// Replaces every secret (the URL's userinfo, passwords, keys) in `text` with `***` and the raw
/// URL with its redacted form. Applied to every message that comes from git or gix.
pub(crate) fn scrub(text: &str, url: &str, secrets: &[&str]) -> String {
    let mut out = text.replace(url, &redact_url(url));
    if let Some(info) = userinfo(url) {
        // The secret is the password, or a bare token over http(s); an ssh user name is not secret.
        let secret = match info.split_once(':') {
            Some((_, password)) => Some(password),
            None if url.starts_with("http://") || url.starts_with("https://") => Some(info),
            None => None,
        };
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            out = out.replace(&format!("{info}@"), "");
            out = out.replace(secret, "***");
        }
    }
    for secret in secrets.iter().filter(|s| !s.trim().is_empty()) {
        out = out.replace(secret, "***");
    }
    out
}

/// Argo CD's URL normalisation for matching credentials to repositories: lower case, trimmed,
/// scp-like `git@host:path` turned into `git@host/path`, `.git` suffix and `ssh://` removed.
///
/// Two URLs that normalise equally are "the same repository" (a `repository` secret's match);
/// a `repo-creds` secret matches every URL whose normalised form starts with its own.
pub fn normalize_git_url(url: &str) -> String {
    let mut repo = url.trim().to_lowercase();
    if is_ssh_url(&repo) && !repo.starts_with("ssh://") {
        repo = format!("ssh://{}", repo.replacen(':', "/", 1));
    }
    if let Some(stripped) = repo.strip_suffix(".git") {
        repo.truncate(stripped.len());
    }
    match repo.strip_prefix("ssh://") {
        Some(rest) => rest.to_string(),
        None => repo,
    }
}

/// Argo CD's test for an SSH URL: optional `ssh://`, then `user@` before any '/' or ':', and
/// exactly one '@'.
pub fn is_ssh_url(url: &str) -> bool {
    let rest = url.strip_prefix("ssh://").unwrap_or(url);
    match rest.split_once('@') {
        Some((user, host_and_path)) => {
            !user.contains(['/', ':']) && !host_and_path.is_empty() && !host_and_path.contains('@')
        }
        None => false,
    }
}

/// The name of the cache directory for a URL: the SHA-256 of its normalised, redacted form,
/// so that the directory name never holds credentials and spelling variants share a cache.
pub fn cache_key(url: &str) -> String {
    let redacted = redact_url(url.trim());
    let normalized = if redacted.starts_with("file://")
        || !redacted.contains("://") && redacted.starts_with('/')
    {
        redacted.trim_end_matches('/').to_string()
    } else {
        normalize_git_url(redacted.trim_end_matches('/'))
    };
    hex::encode(Sha256::digest(normalized.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn redaction_strips_userinfo_from_every_form() {
        let cases = [
            (
                "https://user:s3cret@git.example.com/org/repo.git",
                "https://git.example.com/org/repo.git",
            ),
            (
                "https://token@git.example.com:8443/r?x=1",
                "https://git.example.com:8443/r?x=1",
            ),
            (
                "ssh://git@git.example.com:2222/org/repo",
                "ssh://git.example.com:2222/org/repo",
            ),
            ("git@github.com:org/repo.git", "github.com:org/repo.git"),
            ("user:pw@host:org/repo", "host:org/repo"),
            (
                "https://git.example.com/org/repo",
                "https://git.example.com/org/repo",
            ),
            ("file:///tmp/a@b/repo", "file:///tmp/a@b/repo"),
            ("/tmp/a@b/repo", "/tmp/a@b/repo"),
            ("https://u:p@ss@host/r", "https://host/r"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_url(input), expected, "for {input}");
        }
    }

    #[test]
    fn scrub_removes_password_even_when_the_url_is_reprinted_differently() {
        let url = "https://alice:hunter22@git.example.com/org/repo";
        let message = "could not connect to https://alice:hunter22@git.example.com/org/repo/info/refs: \
                       auth for alice:hunter22 failed (password hunter22)";
        let scrubbed = scrub(message, url, &[]);
        assert!(!scrubbed.contains("hunter22"), "{scrubbed}");
        assert!(
            scrubbed.contains("https://git.example.com/org/repo"),
            "{scrubbed}"
        );
    }

    #[test]
    fn scrub_removes_extra_secrets() {
        let scrubbed = scrub("bad token abc123 for x", "https://h/r", &["abc123", ""]);
        assert_eq!(scrubbed, "bad token *** for x");
    }

    #[test]
    fn normalisation_matches_argo_cd() {
        let cases = [
            (
                "https://GitHub.com/Org/Repo.git",
                "https://github.com/org/repo",
            ),
            (
                " https://github.com/org/repo ",
                "https://github.com/org/repo",
            ),
            ("git@github.com:org/repo.git", "git@github.com/org/repo"),
            (
                "ssh://git@github.com/org/repo.git",
                "git@github.com/org/repo",
            ),
            (
                "ssh://git@github.com:22/org/repo",
                "git@github.com:22/org/repo",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_git_url(input), expected, "for {input}");
        }
    }

    #[test]
    fn ssh_url_detection() {
        assert!(is_ssh_url("git@github.com:org/repo"));
        assert!(is_ssh_url("ssh://git@github.com/org/repo"));
        assert!(!is_ssh_url("https://github.com/org/repo"));
        assert!(!is_ssh_url("/srv/git/repo"));
    }

    #[test]
    fn cache_key_ignores_credentials_and_spelling_but_not_the_repo() {
        let plain = cache_key("https://github.com/org/repo");
        assert_eq!(plain, cache_key("https://user:pw@GitHub.com/org/repo.git"));
        assert_eq!(plain, cache_key("https://github.com/org/repo/"));
        assert_ne!(plain, cache_key("https://github.com/org/other"));
        assert_eq!(plain.len(), 64);
        assert!(!plain.contains("github"));
        // Local paths are case-sensitive and a `.git` suffix names another directory.
        assert_ne!(cache_key("file:///srv/Repo"), cache_key("file:///srv/repo"));
        assert_ne!(cache_key("/srv/repo.git"), cache_key("/srv/repo"));
    }
}
