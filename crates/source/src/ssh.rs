//! The ssh command line gix runs for `ssh://` and `git@host:path` URLs: the private key from
//! the credentials in a 0600 temporary file, never a prompt, and host keys checked unless the
//! repository is marked insecure (as Argo CD does).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::credentials::RepoCredentials;

/// How to run ssh, for every repository of a cache.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// The ssh client, `ssh` from PATH by default. Run through `sh -c`, OpenSSH arguments.
    pub program: String,
    /// A known_hosts file to check host keys against (Argo CD mounts
    /// `argocd-ssh-known-hosts-cm` for this); `None` uses ssh's own defaults.
    pub known_hosts_file: Option<PathBuf>,
}

impl Default for SshOptions {
    fn default() -> Self {
        SshOptions {
            program: "ssh".to_string(),
            known_hosts_file: None,
        }
    }
}

/// A prepared ssh command; owns the key file, which is deleted when this is dropped.
pub(crate) struct SshCommand {
    _key_file: Option<tempfile::NamedTempFile>,
    command: String,
}

impl SshCommand {
    /// Writes the key (if any) to a fresh file only this user can read, and builds the command.
    pub(crate) fn prepare(options: &SshOptions, creds: &RepoCredentials) -> std::io::Result<Self> {
        let key_file = match creds
            .ssh_private_key
            .as_deref()
            .filter(|k| !k.trim().is_empty())
        {
            Some(key) => Some(write_key(key)?),
            None => None,
        };
        let command = ssh_command(options, key_file.as_ref().map(|f| f.path()), creds.insecure);
        Ok(SshCommand {
            _key_file: key_file,
            command,
        })
    }

    pub(crate) fn command(&self) -> &str {
        &self.command
    }
}

/// `tempfile` creates files with mode 0600 on unix.
fn write_key(key: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new()
        .prefix("driftless-ssh-key-")
        .tempfile()?;
    file.write_all(key.as_bytes())?;
    // OpenSSH rejects a key file whose last line has no newline.
    if !key.ends_with('\n') {
        file.write_all(b"\n")?;
    }
    file.flush()?;
    Ok(file)
}

/// The command line, pure: batch mode (fail instead of prompting), only the given key when one
/// is given, host key policy from `insecure` and the known_hosts file.
pub(crate) fn ssh_command(options: &SshOptions, key: Option<&Path>, insecure: bool) -> String {
    let mut parts = vec![
        shell_quote(&options.program),
        "-o BatchMode=yes".to_string(),
    ];
    if let Some(key) = key {
        parts.push(format!("-i {}", shell_quote(&key.to_string_lossy())));
        parts.push("-o IdentitiesOnly=yes".to_string());
    }
    if insecure {
        parts.push("-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null".to_string());
    } else if let Some(known_hosts) = &options.known_hosts_file {
        parts.push(format!(
            "-o StrictHostKeyChecking=yes -o UserKnownHostsFile={}",
            shell_quote(&known_hosts.to_string_lossy())
        ));
    }
    parts.join(" ")
}

/// Single-quotes `text` for sh.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn command_with_key_and_known_hosts() {
        let options = SshOptions {
            program: "ssh".into(),
            known_hosts_file: Some("/etc/ssh/known hosts".into()),
        };
        let command = ssh_command(&options, Some(Path::new("/tmp/k'ey")), false);
        assert_eq!(
            command,
            "'ssh' -o BatchMode=yes -i '/tmp/k'\\''ey' -o IdentitiesOnly=yes \
             -o StrictHostKeyChecking=yes -o UserKnownHostsFile='/etc/ssh/known hosts'"
        );
    }

    #[test]
    fn insecure_skips_host_key_checks() {
        let command = ssh_command(&SshOptions::default(), None, true);
        assert_eq!(
            command,
            "'ssh' -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
        );
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_private_and_removed_afterwards() {
        use std::os::unix::fs::PermissionsExt;
        let creds = RepoCredentials::ssh_key(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----",
        );
        let prepared = SshCommand::prepare(&SshOptions::default(), &creds).expect("prepared");
        let path = prepared
            ._key_file
            .as_ref()
            .expect("key file")
            .path()
            .to_path_buf();
        let mode = std::fs::metadata(&path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let written = std::fs::read_to_string(&path).expect("readable");
        assert!(written.ends_with("-----END OPENSSH PRIVATE KEY-----\n"));
        assert!(
            prepared
                .command()
                .contains(&path.to_string_lossy().into_owned())
        );
        drop(prepared);
        assert!(!path.exists());
    }
}
