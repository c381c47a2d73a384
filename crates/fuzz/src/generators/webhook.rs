//! Random push payloads of GitHub, GitLab, Gitea and Bitbucket shape, with repository URLs
//! in every spelling a URL can take (userinfo, ports, IPv6, scp form, escapes).

use crate::generators::json;
use crate::rng::{Rng, one_in, pick, small};
use rand::Rng as _;
use serde_json::{Value, json};

/// Tokens to insert when mutating a URL.
pub const DICT: &[&str] = &[
    "https://",
    "http://",
    "ssh://",
    "git://",
    "file://",
    "git+ssh://",
    "git@",
    "user:pa@ss@",
    "@",
    ":",
    "::",
    "//",
    "/",
    ".git",
    ".git/",
    "%",
    "%2F",
    "%zz",
    "[",
    "]",
    "[::1]",
    "?",
    "#",
    ":22",
    ":65536",
    ":-1",
    "~",
    "..",
    "\\",
    " ",
    "\u{0}",
    "é",
    "xn--",
    "github.com",
    "GitHub.COM",
];

const HOSTS: &[&str] = &[
    "github.com",
    "gitlab.com",
    "bitbucket.org",
    "127.0.0.1",
    "[::1]",
    "[fe80::1%25en0]",
    "git.example.com",
    "",
    "é.example",
    "EXAMPLE.com.",
];

/// A repository URL in one of the forms git accepts, or a broken one.
pub fn url(rng: &mut Rng) -> String {
    let host = pick(rng, HOSTS);
    let path = pick(
        rng,
        &[
            "team/apps",
            "team/apps.git",
            "team/apps/",
            "a",
            "",
            "~user/r",
            "a//b",
            "a/../b",
            "%2e%2e/x",
            "team/apps.git.git",
        ],
    );
    let user = pick(
        rng,
        &[
            "",
            "git@",
            "user:token@",
            "user@",
            ":@",
            "a:b:c@",
            "@@",
            "user%40x:p@",
        ],
    );
    let port = pick(rng, &["", ":22", ":443", ":", ":99999", ":abc"]);
    match rng.random_range(0..8) {
        0 => format!("git@{host}:{path}"),
        1 => format!("ssh://{user}{host}{port}/{path}"),
        2 => format!("file:///{path}"),
        3 => format!("/{path}"),
        4 => json::string(rng),
        5 => crate::mutate::text(rng, &format!("https://{user}{host}{port}/{path}"), DICT),
        _ => format!(
            "{}://{user}{host}{port}/{path}",
            pick(rng, &["https", "http", "git", "HTTPS", "git+ssh"])
        ),
    }
}

fn url_value(rng: &mut Rng) -> Value {
    if one_in(rng, 8) {
        json::value(rng, 1, &[])
    } else {
        Value::String(url(rng))
    }
}

/// A push payload in the shape of one forge, with random URLs and random extra fields.
pub fn payload(rng: &mut Rng) -> Value {
    let mut p = match rng.random_range(0..5) {
        0 => json!({"ref": "refs/heads/main", "repository": {
            "html_url": url_value(rng), "clone_url": url_value(rng), "ssh_url": url_value(rng), "git_url": url_value(rng)}}),
        1 => json!({"object_kind": "push", "project": {
            "web_url": url_value(rng), "git_http_url": url_value(rng), "git_ssh_url": url_value(rng)},
            "repository": {"git_http_url": url_value(rng), "git_ssh_url": url_value(rng)}}),
        2 => json!({"push": {}, "repository": {"links": {"html": {"href": url_value(rng)}}}}),
        3 => {
            let links: Vec<Value> = (0..small(rng, 4))
                .map(|_| json!({"href": url_value(rng), "name": "http"}))
                .collect();
            json!({"eventKey": "repo:refs_changed", "repository": {"links": {"clone": links}}})
        }
        _ => json::value(
            rng,
            4,
            &[
                "repository",
                "project",
                "links",
                "clone",
                "href",
                "html",
                "html_url",
                "web_url",
            ],
        ),
    };
    if one_in(rng, 3)
        && let Value::Object(map) = &mut p
    {
        map.insert(json::key(rng, &[]), json::value(rng, 2, &[]));
    }
    p
}
