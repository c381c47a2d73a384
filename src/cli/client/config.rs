//! The contexts file: the servers logged in to, their tokens and flags, and the current one.
//! `$DRIFTLESS_CONFIG`, else `$HOME/.config/driftless/config.yaml`; written with mode 0600
//! (it holds tokens), through a temporary file renamed over the old one.

use crate::cli::app_source::CommandError;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    #[serde(default)]
    pub contexts: Vec<Context>,
}

/// One server and how to talk to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Context {
    pub name: String,
    /// `host:port` (no scheme: see `plaintext`).
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Who the token is for, as the server said at login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// HTTP instead of HTTPS.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plaintext: bool,
    /// HTTPS with a certificate that is not checked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_tls_verify: bool,
}

impl ConfigFile {
    pub fn context(&self, name: &str) -> Option<&Context> {
        self.contexts.iter().find(|c| c.name == name)
    }

    pub fn current(&self) -> Option<&Context> {
        self.current_context
            .as_deref()
            .and_then(|n| self.context(n))
    }

    /// Adds `context`, or replaces the one of the same name.
    pub fn upsert(&mut self, context: Context) {
        match self.contexts.iter_mut().find(|c| c.name == context.name) {
            Some(existing) => *existing = context,
            None => self.contexts.push(context),
        }
    }
}

/// Where the file is.
pub fn path() -> Result<PathBuf, CommandError> {
    if let Some(path) = std::env::var_os("DRIFTLESS_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            CommandError::Usage(
                "failed to find the contexts file: set DRIFTLESS_CONFIG or HOME".into(),
            )
        })?;
    Ok(PathBuf::from(home).join(".config/driftless/config.yaml"))
}

/// The file at `path`; empty when there is none yet.
pub fn load(path: &Path) -> Result<ConfigFile, CommandError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
        Err(e) => {
            return Err(CommandError::Usage(format!(
                "failed to read {}: {e}",
                path.display()
            )));
        }
    };
    if text.trim().is_empty() {
        return Ok(ConfigFile::default());
    }
    serde_norway::from_str(&text).map_err(|e| {
        CommandError::Usage(format!(
            "failed to read the contexts in {}: {e}",
            path.display()
        ))
    })
}

pub fn save(path: &Path, config: &ConfigFile) -> Result<(), CommandError> {
    let failed = |what: &str, e: std::io::Error| {
        CommandError::Failed(format!("failed to {what} {}: {e}", path.display()))
    };
    let text = serde_norway::to_string(config)
        .map_err(|e| CommandError::Failed(format!("failed to write the contexts as YAML: {e}")))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::create_dir_all(dir).map_err(|e| failed("create the directory of", e))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| failed("set the mode of the directory of", e))?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        // The mode is only applied on creation: a left-over file gets it here.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(failed("write", e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_file_round_trips_with_mode_0600() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("sub/config.yaml");
        assert_eq!(load(&path)?, ConfigFile::default());
        let mut config = ConfigFile::default();
        config.upsert(Context {
            name: "h:1".into(),
            server: "h:1".into(),
            token: Some("t".into()),
            plaintext: true,
            ..Context::default()
        });
        config.current_context = Some("h:1".into());
        save(&path, &config)?;
        assert_eq!(load(&path)?, config);
        assert_eq!(
            std::fs::metadata(&path)?.permissions().mode() & 0o777,
            0o600
        );
        let text = std::fs::read_to_string(&path)?;
        assert!(
            text.contains("current-context: h:1") && !text.contains("insecure"),
            "{text}"
        );
        Ok(())
    }
}
