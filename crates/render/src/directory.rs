//! Directory sources: every `.yaml`, `.yml`, `.json` and `.jsonnet` file of the path (and
//! below it with `recurse`), filtered by the `include` and `exclude` globs as Argo CD does:
//! the globs match the path relative to the source path, and `*` also matches `/`.
//! `.jsonnet` files are evaluated ([`crate::jsonnet`]); `.libsonnet` files only imported.

use crate::jsonnet::{self, JsonnetError, ReadFile};
use crate::manifest::{self, Format, Manifest, ManifestError};
use crate::spec::DirectoryOptions;
use crate::workspace::{SourceId, Workspace};
use globset::{Glob, GlobMatcher};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("failed to compile glob {pattern:?}: {message}")]
    Glob { pattern: String, message: String },
    #[error("failed to read {path}: {message}")]
    Io { path: String, message: String },
    #[error("failed to read {path}: it is a symlink that leaves the repository")]
    SymlinkOutside { path: String },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Jsonnet(#[from] JsonnetError),
}

/// Reads the manifests of `dir`, naming files by `label_prefix/<relative path>`;
/// `label_prefix` is the path of `dir` in the repository, and Jsonnet imports are read
/// through `read` by repository path.
pub fn read_directory(
    dir: &Path,
    repo_root: &Path,
    label_prefix: &str,
    options: &DirectoryOptions,
    read: &mut ReadFile<'_>,
) -> Result<Vec<Manifest>, DirectoryError> {
    let select = Selection::of(options)?;
    let root = repo_root.canonicalize().map_err(|e| io(repo_root, &e))?;
    let mut files = Vec::new();
    list_files(dir, "", options.recurse, &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for relative in files {
        let Some(kind) = select.kind(&relative) else {
            continue;
        };
        let path = dir.join(&relative);
        let label = label_of(label_prefix, &relative);
        let real = path.canonicalize().map_err(|e| io(&path, &e))?;
        if !real.starts_with(&root) {
            return Err(DirectoryError::SymlinkOutside { path: label });
        }
        let format = match kind {
            FileKind::Jsonnet => {
                // In the sandbox's worker when one is installed: bounded in time and memory.
                let value =
                    jsonnet::evaluate_bounded(&label, label_prefix, &options.jsonnet, read)?;
                out.extend(jsonnet::to_manifests(&label, value)?);
                continue;
            }
            FileKind::Manifest(format) => format,
        };
        let size = std::fs::metadata(&path).map_err(|e| io(&path, &e))?.len();
        manifest::check_size(&label, size)?;
        let bytes = std::fs::read(&path).map_err(|e| io(&path, &e))?;
        out.extend(manifest::parse_bytes(&label, &bytes, format)?);
    }
    Ok(out)
}

/// The manifests of a directory whose files are in memory (relative path → contents, sorted,
/// as [`crate::workspace::Workspace::files`] gives them), chosen and named as
/// [`read_directory`] does. `None` when one of the chosen files is Jsonnet: its imports are
/// read through the workspace, from disk.
pub fn read_files(
    files: &[(String, Vec<u8>)],
    label_prefix: &str,
    options: &DirectoryOptions,
) -> Result<Option<Vec<Manifest>>, DirectoryError> {
    let select = Selection::of(options)?;
    let mut out = Vec::new();
    for (relative, bytes) in files {
        match select.kind(relative) {
            None => {}
            Some(FileKind::Jsonnet) => return Ok(None),
            Some(FileKind::Manifest(format)) => {
                let label = label_of(label_prefix, relative);
                manifest::check_size(&label, bytes.len() as u64)?;
                out.extend(manifest::parse_bytes(&label, bytes, format)?);
            }
        }
    }
    Ok(Some(out))
}

/// What a file of the directory is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Jsonnet,
    Manifest(Format),
}

/// Which files of the directory are read: by extension, then the `exclude` and `include` globs.
struct Selection {
    include: Option<GlobMatcher>,
    exclude: Option<GlobMatcher>,
}

impl Selection {
    fn of(options: &DirectoryOptions) -> Result<Self, DirectoryError> {
        Ok(Self {
            include: compile(options.include.as_deref())?,
            exclude: compile(options.exclude.as_deref())?,
        })
    }

    fn kind(&self, relative: &str) -> Option<FileKind> {
        // Argo CD matches `.jsonnet` by exact (lower-case) suffix.
        let kind = if relative.ends_with(".jsonnet") {
            FileKind::Jsonnet
        } else {
            FileKind::Manifest(Format::of_path(relative)?)
        };
        if self.exclude.as_ref().is_some_and(|g| g.is_match(relative))
            || self.include.as_ref().is_some_and(|g| !g.is_match(relative))
        {
            return None;
        }
        Some(kind)
    }
}

/// How a file is named in messages and origins: its path in the repository.
fn label_of(label_prefix: &str, relative: &str) -> String {
    if label_prefix.is_empty() {
        relative.to_string()
    } else {
        format!("{label_prefix}/{relative}")
    }
}

/// A file of the main source by repository path, through the workspace (so a git-backed
/// render exports it and the cache records it); `None` when absent. `root` is the
/// canonical workspace root: a symlink that leads out of it is an error.
pub fn read_repo_file(
    ws: &mut dyn Workspace,
    root: &Path,
    path: &str,
) -> Result<Option<Vec<u8>>, String> {
    let Some(file) = ws
        .ensure(&SourceId::Main, path)
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let real = match file.canonicalize() {
        Ok(real) => real,
        // A dangling symlink is a missing file, as for go-jsonnet.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("failed to read {path}: {e}")),
    };
    if !real.starts_with(root) {
        return Err(format!("{path} is a symlink that leaves the repository"));
    }
    if real.is_dir() {
        return Err(format!("{path} is a directory"));
    }
    std::fs::read(&real)
        .map(Some)
        .map_err(|e| format!("failed to read {path}: {e}"))
}

/// Lists regular files (and symlinks to files) by relative path; directory symlinks are
/// not followed, so a link cannot make the walk loop.
pub(crate) fn list_files(
    dir: &Path,
    relative: &str,
    recurse: bool,
    out: &mut Vec<String>,
) -> Result<(), DirectoryError> {
    let here = if relative.is_empty() {
        dir.to_path_buf()
    } else {
        dir.join(relative)
    };
    let entries = std::fs::read_dir(&here).map_err(|e| io(&here, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io(&here, &e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let child = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        let file_type = entry.file_type().map_err(|e| io(&entry.path(), &e))?;
        if file_type.is_dir() {
            if recurse {
                list_files(dir, &child, recurse, out)?;
            }
        } else if file_type.is_file() || (file_type.is_symlink() && entry.path().is_file()) {
            out.push(child);
        }
    }
    Ok(())
}

fn compile(pattern: Option<&str>) -> Result<Option<GlobMatcher>, DirectoryError> {
    let Some(pattern) = pattern.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    Glob::new(pattern)
        .map(|g| Some(g.compile_matcher()))
        .map_err(|e| DirectoryError::Glob {
            pattern: pattern.to_string(),
            message: e.to_string(),
        })
}

fn io(path: &Path, e: &std::io::Error) -> DirectoryError {
    DirectoryError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}
