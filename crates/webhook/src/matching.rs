//! Argo CD's rule for "this Application's `repoURL` is the pushed repository"
//! (`GetWebURLRegex` in `util/webhook`).

use regex::Regex;

/// An ssh or URL user name (Argo CD's `usernameRegex`, with Go's ASCII `\w`).
const USER: &str = r"[0-9A-Za-z_.][0-9A-Za-z_.-]{0,30}[0-9A-Za-z_.$-]?";

/// Whether `repo_url` names the repository whose web URL (from a payload) is `web_url`.
///
/// The host and path of `web_url` must be found in `repo_url`, ignoring case, with optionally
/// an `http(s)://` or `ssh://` scheme, a user name, an `ssh.` or `altssh.` subdomain and a port
/// before them, `:` or `/` between host and path, and `.git` after. So
/// `https://github.com/team/apps` names `git@github.com:team/apps.git` and
/// `ssh://git@ssh.github.com:443/team/apps`, but not `https://github.com/team/apps-2`.
/// A `web_url` that Go's `url.Parse` would reject (an scp-like `git@host:path`) names nothing.
pub fn web_url_matches(web_url: &str, repo_url: &str) -> bool {
    let Some((host, path)) = host_and_path(web_url) else {
        return false;
    };
    let pattern = format!(
        r"(?i)^((https?|ssh)://)?({USER}@)?((alt)?ssh\.)?{host}(:[0-9]+)?[:/]{path}(\.git)?$",
        host = regex::escape(host),
        path = regex::escape(path.strip_prefix('/').unwrap_or(path)),
    );
    Regex::new(&pattern).is_ok_and(|re| re.is_match(repo_url))
}

/// The host name (without port or IPv6 brackets) and path of a URL, as Go's `url.Parse`
/// and `URL.Hostname` give them; `None` where `url.Parse` fails.
fn host_and_path(url: &str) -> Option<(&str, &str)> {
    if url.chars().any(|c| c.is_ascii_control()) {
        return None;
    }
    let url = url.split('#').next().unwrap_or_default();
    let (scheme, rest) = split_scheme(url)?;
    let rest = rest.split('?').next().unwrap_or_default();
    if scheme.is_some() && !rest.starts_with('/') {
        return Some(("", "")); // opaque, like `mailto:x`: no host, no path
    }
    let Some(after_slashes) = rest.strip_prefix("//") else {
        let first_segment = rest.split('/').next().unwrap_or_default();
        if scheme.is_none() && first_segment.contains(':') {
            return None;
        }
        return Some(("", rest));
    };
    let authority_end = after_slashes.find('/').unwrap_or(after_slashes.len());
    let (authority, path) = after_slashes.split_at(authority_end);
    let host = authority.rsplit('@').next().unwrap_or_default();
    Some((hostname(host)?, path))
}

/// Go's scheme rule: a letter, then letters, digits, `+`, `-` or `.`, up to the first `:`.
/// Any other character first means there is no scheme; a leading `:` is an error.
fn split_scheme(url: &str) -> Option<(Option<&str>, &str)> {
    for (i, c) in url.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return None,
            ':' => return Some((Some(&url[..i]), &url[i + 1..])),
            _ => return Some((None, url)),
        }
    }
    Some((None, url))
}

/// The host without its port (which must be digits) and without IPv6 brackets.
fn hostname(host: &str) -> Option<&str> {
    let (name, port) = match host.strip_prefix('[') {
        Some(bracketed) => {
            let (name, after) = bracketed.split_once(']')?;
            match after {
                "" => (name, None),
                _ => (name, Some(after.strip_prefix(':')?)),
            }
        }
        None => match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    let valid_port = port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()));
    valid_port.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_web_url_names_every_spelling_of_its_repository() {
        let web = "https://github.com/Team/apps";
        for url in [
            "https://github.com/team/apps",
            "https://github.com/team/apps.git",
            "http://github.com/team/apps",
            "git@github.com:team/apps.git",
            "ssh://git@github.com/team/apps.git",
            "ssh://git@ssh.github.com:443/team/apps",
            "https://user@altssh.github.com:8443/team/apps",
            "github.com:team/apps",
            "HTTPS://GITHUB.COM/TEAM/APPS",
        ] {
            assert!(web_url_matches(web, url), "{url}");
        }
        for url in [
            "https://github.com/team/apps-2",
            "https://github.com/team/apps/sub",
            "https://gitlab.com/team/apps",
            "https://evil.com/github.com/team/apps",
            "ftp://github.com/team/apps",
            "https://github.com/team/apps.git.git",
        ] {
            assert!(!web_url_matches(web, url), "{url}");
        }
    }

    #[test]
    fn urls_go_cannot_parse_name_nothing() {
        assert!(!web_url_matches(
            "git@github.com:team/apps.git",
            "git@github.com:team/apps.git"
        ));
        assert!(!web_url_matches("https://host:abc/r", "https://host/r"));
        assert_eq!(
            host_and_path("ssh://git@bitbucket:7999/proj/repo.git?x#y"),
            Some(("bitbucket", "/proj/repo.git"))
        );
        assert_eq!(host_and_path("https://[::1]:8080/r"), Some(("::1", "/r")));
    }
}
