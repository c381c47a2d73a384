//! The ssh path without an sshd: the cache's ssh program is a stand-in script that records its
//! arguments and the key file it was given, then runs the remote command (`git-upload-pack
//! '<path>'`) locally, much as git's own test suite fakes ssh. This proves the URL forms, the
//! key handling and the options; a real sshd (host keys, authentication) is not exercised here.

use std::path::{Path, PathBuf};

use driftless_source::testing::ScratchRepo;
use driftless_source::{CacheOptions, CommitId, RepoCache, RepoCredentials, SshOptions};
use pretty_assertions::assert_eq;

const KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nZmFrZSBrZXkgZm9yIHRlc3Rz\n-----END OPENSSH PRIVATE KEY-----";

/// Writes the stand-in ssh into `dir`; it records into `dir/args`, `dir/key`, `dir/key-mode`,
/// then runs the command (the arguments after the host, joined by spaces, as ssh does).
fn fake_ssh(dir: &Path) -> PathBuf {
    let script = dir.join("fake-ssh");
    let body = format!(
        r#"#!/bin/sh
log='{log}'
printf '%s\n' "$@" > "$log/args"
# Options as OpenSSH takes them; the first other argument is the host, the rest the command.
while [ $# -gt 0 ]; do
  case "$1" in
    -i) cp "$2" "$log/key"; stat -c %a "$2" > "$log/key-mode"; shift 2;;
    -o|-p|-F|-l) shift 2;;
    -*) shift;;
    *) break;;
  esac
done
shift
exec sh -c "$*"
"#,
        log = dir.display()
    );
    std::fs::write(&script, body).expect("write script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

fn setup() -> (ScratchRepo, String, tempfile::TempDir, RepoCache) {
    let source = ScratchRepo::new();
    source.write("app.yaml", "kind: ConfigMap\n");
    let commit = source.commit("first");
    let dir = tempfile::tempdir().expect("temp dir");
    let ssh = SshOptions {
        program: fake_ssh(dir.path()).display().to_string(),
        known_hosts_file: Some(dir.path().join("known_hosts")),
    };
    let options = CacheOptions {
        ssh,
        ..CacheOptions::default()
    };
    let cache = RepoCache::with_options(dir.path().join("cache"), options).expect("cache");
    (source, commit, dir, cache)
}

fn recorded_args(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("args"))
        .expect("ssh was run")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn ssh_urls_fetch_with_the_private_key() {
    let (source, commit, dir, cache) = setup();
    let url = format!("ssh://git@git.example.invalid{}", source.path().display());
    let synced = cache
        .sync(&url, &RepoCredentials::ssh_key(KEY), "main")
        .expect("sync over ssh");
    assert_eq!(synced.commit, commit.parse::<CommitId>().expect("id"));

    let args = recorded_args(dir.path());
    assert!(
        args.contains(&"git@git.example.invalid".to_string()),
        "{args:?}"
    );
    assert!(
        args.contains(&"BatchMode=yes".to_string()),
        "never prompts: {args:?}"
    );
    assert!(args.contains(&"IdentitiesOnly=yes".to_string()), "{args:?}");
    assert!(
        args.contains(&"StrictHostKeyChecking=yes".to_string()),
        "host keys are checked: {args:?}"
    );
    let known_hosts = format!(
        "UserKnownHostsFile={}",
        dir.path().join("known_hosts").display()
    );
    assert!(args.contains(&known_hosts), "{args:?}");
    assert!(args.contains(&"git-upload-pack".to_string()), "{args:?}");

    // The key was handed over in a file only we can read, which is gone afterwards.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("key")).expect("key copy"),
        format!("{KEY}\n")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("key-mode"))
            .expect("mode")
            .trim(),
        "600"
    );
    let key_path = args
        .iter()
        .skip_while(|a| *a != "-i")
        .nth(1)
        .expect("-i <file>");
    assert!(!Path::new(key_path).exists(), "the key file is removed");
}

#[test]
fn scp_like_urls_and_insecure_repositories() {
    let (source, commit, dir, cache) = setup();
    let url = format!("git@git.example.invalid:{}", source.path().display());
    let mut creds = RepoCredentials::ssh_key(KEY);
    creds.insecure = true;
    let refs = cache.ls_remote(&url, &creds).expect("ls-remote over ssh");
    assert_eq!(refs.resolve("main"), Some(commit.parse().expect("id")));

    let args = recorded_args(dir.path());
    assert!(
        args.contains(&"StrictHostKeyChecking=no".to_string()),
        "{args:?}"
    );
    assert!(
        args.contains(&"UserKnownHostsFile=/dev/null".to_string()),
        "{args:?}"
    );
}

#[test]
fn without_a_key_ssh_uses_its_own_identities() {
    let (source, _commit, dir, cache) = setup();
    let url = format!("ssh://git@git.example.invalid{}", source.path().display());
    cache
        .fetch(&url, &RepoCredentials::anonymous())
        .expect("fetch over ssh");
    let args = recorded_args(dir.path());
    assert!(!args.contains(&"-i".to_string()), "{args:?}");
    assert!(!dir.path().join("key").exists());
}
