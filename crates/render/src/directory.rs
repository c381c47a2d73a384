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
    let include = compile(options.include.as_deref())?;
    let exclude = compile(options.exclude.as_deref())?;
    let root = repo_root.canonicalize().map_err(|e| io(repo_root, &e))?;
    let mut files = Vec::new();
    list_files(dir, "", options.recurse, &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for relative in files {
        // Argo CD matches `.jsonnet` by exact (lower-case) suffix.
        let is_jsonnet = relative.ends_with(".jsonnet");
        let format = Format::of_path(&relative);
        if !is_jsonnet && format.is_none() {
            continue;
        }
        if exclude.as_ref().is_some_and(|g| g.is_match(&relative)) {
            continue;
        }
        if include.as_ref().is_some_and(|g| !g.is_match(&relative)) {
            continue;
        }
        let path = dir.join(&relative);
        let label = if label_prefix.is_empty() {
            relative.clone()
        } else {
            format!("{label_prefix}/{relative}")
        };
        let real = path.canonicalize().map_err(|e| io(&path, &e))?;
        if !real.starts_with(&root) {
            return Err(DirectoryError::SymlinkOutside { path: label });
        }
        if is_jsonnet {
            // In the sandbox's worker when one is installed: bounded in time and memory.
            let value = jsonnet::evaluate_bounded(&label, label_prefix, &options.jsonnet, read)?;
            out.extend(jsonnet::to_manifests(&label, value)?);
            continue;
        }
        let Some(format) = format else { continue };
        let size = std::fs::metadata(&path).map_err(|e| io(&path, &e))?.len();
        manifest::check_size(&label, size)?;
        let bytes = std::fs::read(&path).map_err(|e| io(&path, &e))?;
        out.extend(manifest::parse_bytes(&label, &bytes, format)?);
    }
    Ok(out)
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
