//! Writing the tree of a commit (or of a directory in it) to disk, for tools that need real
//! files (helm, kustomize). Symlinks are kept when they stay inside the exported tree and
//! refused otherwise, as Argo CD refuses out-of-bounds symlinks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gix::objs::tree::EntryKind;

use crate::ids::CommitId;
use crate::local::{LocalRepo, ReadError};

/// Exporting failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("failed to export into {dest}: the directory is not empty")]
    DestinationNotEmpty { dest: PathBuf },
    #[error(
        "failed to export {path:?} at {commit} of {url}: its symlink target {target:?} is outside the exported tree"
    )]
    SymlinkOutOfBounds {
        path: String,
        target: String,
        commit: CommitId,
        url: String,
    },
    #[error("failed to export {path:?} at {commit} of {url}: the name is not a safe file name")]
    UnsafeName {
        path: String,
        commit: CommitId,
        url: String,
    },
    #[error("failed to write {path}: {message}")]
    Write { path: PathBuf, message: String },
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub files: usize,
    pub directories: usize,
    pub symlinks: usize,
    /// Submodule entries (paths from the export root), which are not fetched and left out.
    pub skipped_submodules: Vec<String>,
}

fn write_err(path: &Path, err: std::io::Error) -> ExportError {
    ExportError::Write {
        path: path.to_path_buf(),
        message: err.to_string(),
    }
}

impl LocalRepo {
    /// Writes the directory `subpath` of `commit` (`""` for the whole commit) into `dest`, which
    /// is created if missing and must otherwise be empty (so no stale file ever mixes in).
    /// File modes follow git: 0644, or 0755 for executables.
    pub fn export(
        &self,
        commit: CommitId,
        subpath: &str,
        dest: &Path,
    ) -> Result<ExportSummary, ExportError> {
        let repo = self.thread_local();
        let start = self.directory(&repo, commit, subpath)?;
        std::fs::create_dir_all(dest).map_err(|e| write_err(dest, e))?;
        let mut listing = std::fs::read_dir(dest).map_err(|e| write_err(dest, e))?;
        if listing.next().is_some() {
            return Err(ExportError::DestinationNotEmpty {
                dest: dest.to_path_buf(),
            });
        }

        let mut summary = ExportSummary::default();
        // Every symlink written: path below the export root → target.
        let mut links: BTreeMap<String, String> = BTreeMap::new();
        // (tree, path components below the export root, directory on disk)
        let mut pending: Vec<(gix::ObjectId, Vec<String>, PathBuf)> =
            vec![(start, Vec::new(), dest.to_path_buf())];
        while let Some((tree, parents, dir)) = pending.pop() {
            for entry in self.entries(&repo, tree)? {
                let name = entry.name_lossy();
                let mut components = parents.clone();
                components.push(name.clone());
                let shown = components.join("/");
                if !is_safe_name(&entry.name) {
                    return Err(ExportError::UnsafeName {
                        path: shown,
                        commit,
                        url: self.url().into(),
                    });
                }
                let target_path = dir.join(file_name(&entry.name));
                match entry.kind {
                    EntryKind::Tree => {
                        std::fs::create_dir(&target_path)
                            .map_err(|e| write_err(&target_path, e))?;
                        summary.directories += 1;
                        pending.push((entry.id, components, target_path));
                    }
                    EntryKind::Blob | EntryKind::BlobExecutable => {
                        let blob = repo
                            .find_blob(entry.id)
                            .map_err(|e| self.objects_error(&e))?;
                        std::fs::write(&target_path, &blob.data)
                            .map_err(|e| write_err(&target_path, e))?;
                        set_mode(&target_path, entry.kind == EntryKind::BlobExecutable)?;
                        summary.files += 1;
                    }
                    EntryKind::Link => {
                        let blob = repo
                            .find_blob(entry.id)
                            .map_err(|e| self.objects_error(&e))?;
                        let link = String::from_utf8_lossy(&blob.data).into_owned();
                        make_symlink(&link, &target_path)?;
                        links.insert(shown, link);
                        summary.symlinks += 1;
                    }
                    EntryKind::Commit => summary.skipped_submodules.push(shown),
                }
            }
        }
        // Checked once all are known: each may stay inside on its own and a chain still
        // climb out (`a/b/up -> ../w`, then `leak -> a/b/up/../../../etc`).
        for (path, target) in &links {
            if !link_resolves_inside(&links, path, target) {
                return Err(ExportError::SymlinkOutOfBounds {
                    path: path.clone(),
                    target: target.clone(),
                    commit,
                    url: self.url().into(),
                });
            }
        }
        summary.skipped_submodules.sort();
        Ok(summary)
    }
}

/// A tree entry name that is one plain path segment.
pub(crate) fn is_safe_name(name: &[u8]) -> bool {
    !name.is_empty() && name != b"." && name != b".." && !name.contains(&b'/') && !name.contains(&0)
}

#[cfg(unix)]
fn file_name(name: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(name))
}

#[cfg(not(unix))]
fn file_name(name: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(name).into_owned())
}

#[cfg(unix)]
fn set_mode(path: &Path, executable: bool) -> Result<(), ExportError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| write_err(path, e))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _executable: bool) -> Result<(), ExportError> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(link: &str, at: &Path) -> Result<(), ExportError> {
    std::os::unix::fs::symlink(link, at).map_err(|e| write_err(at, e))
}

#[cfg(not(unix))]
fn make_symlink(_link: &str, at: &Path) -> Result<(), ExportError> {
    Err(write_err(
        at,
        std::io::Error::new(std::io::ErrorKind::Unsupported, "symlinks need unix"),
    ))
}

/// Symlinks followed in one resolution before it counts as a loop (Linux's own limit).
const MAX_LINK_HOPS: usize = 40;

/// True when the symlink at `path` (below the export root) with target `target` resolves to
/// a path inside the export root, following the export's other symlinks (`links`, path →
/// target) as the kernel would: a `..` after a symlink climbs from where that link leads, not
/// from its name. Absolute targets never stay inside; a loop counts as leaving.
pub(crate) fn link_resolves_inside(
    links: &BTreeMap<String, String>,
    path: &str,
    target: &str,
) -> bool {
    let mut at: Vec<&str> = path.split('/').collect();
    at.pop();
    let mut pending: Vec<&str> = Vec::new();
    let mut hops = 0;
    if !push_target(&mut pending, target) {
        return false;
    }
    while let Some(part) = pending.pop() {
        match part {
            "" | "." => {}
            ".." => {
                if at.pop().is_none() {
                    return false;
                }
            }
            name => {
                at.push(name);
                if let Some(next) = links.get(&at.join("/")) {
                    hops += 1;
                    at.pop();
                    if hops > MAX_LINK_HOPS || !push_target(&mut pending, next) {
                        return false;
                    }
                }
            }
        }
    }
    true
}

/// Queues the components of a relative symlink target (last first); false for an absolute
/// or empty one, which never stays inside.
fn push_target<'a>(pending: &mut Vec<&'a str>, target: &'a str) -> bool {
    if target.starts_with('/') || target.is_empty() {
        return false;
    }
    pending.extend(target.split('/').rev());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn symlink_bounds() {
        let none = links(&[]);
        assert!(link_resolves_inside(&none, "v", "values.yaml"));
        assert!(link_resolves_inside(&none, "a/b/v", "../../c/d"));
        assert!(link_resolves_inside(&none, "a/v", "./x/../y"));
        assert!(!link_resolves_inside(&none, "a/v", "../../etc/passwd"));
        assert!(!link_resolves_inside(&none, "v", ".."));
        assert!(!link_resolves_inside(&none, "a/v", "/etc/passwd"));
        assert!(!link_resolves_inside(&none, "a/v", ""));
    }

    #[test]
    fn a_chain_of_symlinks_that_climbs_out_is_outside() {
        // Each stays inside on its own; `leak` goes through `up` (which lands at the root's
        // `w`) and then climbs four levels from there.
        let tree = links(&[
            ("a/b/c/up", "../../../w"),
            ("leak", "a/b/c/up/../../../../etc/passwd"),
        ]);
        assert!(link_resolves_inside(&tree, "a/b/c/up", "../../../w"));
        assert!(!link_resolves_inside(
            &tree,
            "leak",
            "a/b/c/up/../../../../etc/passwd"
        ));
        // Through a link to a directory, climbing back where it leads: inside.
        let tree = links(&[("a/b/up", "../../w"), ("ok", "a/b/up/../x")]);
        assert!(link_resolves_inside(&tree, "ok", "a/b/up/../x"));
    }

    #[test]
    fn a_symlink_loop_counts_as_leaving() {
        let tree = links(&[("a", "b"), ("b", "a")]);
        assert!(!link_resolves_inside(&tree, "a", "b"));
    }

    #[test]
    fn safe_names() {
        assert!(is_safe_name(b"values.yaml"));
        assert!(is_safe_name(b".helmignore"));
        for bad in [&b""[..], b".", b"..", b"a/b", b"a\0b"] {
            assert!(!is_safe_name(bad), "{bad:?}");
        }
    }
}
