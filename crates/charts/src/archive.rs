//! Unpacking a chart archive (`.tgz`) safely: only regular files and directories, no path
//! leaving the target, a cap on the unpacked size, and the chart's own top directory found.

use flate2::read::GzDecoder;
use std::path::{Component, Path, PathBuf};

/// Unpacked charts bigger than this are refused (a chart is usually well under 1 MB).
pub const MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("failed to unpack the chart archive: {0}")]
    Corrupt(String),
    #[error("failed to unpack the chart archive: entry {0:?} leaves the chart")]
    Escapes(String),
    #[error("failed to unpack the chart archive: entry {0:?} is a link or device, not a file")]
    NotAFile(String),
    #[error("failed to unpack the chart archive: it unpacks to more than {0} bytes")]
    TooLarge(u64),
    #[error("failed to unpack the chart archive: it holds no Chart.yaml")]
    NotAChart,
    #[error("failed to write the unpacked chart to {path}: {message}")]
    Io { path: String, message: String },
}

/// Unpacks `bytes` into `dest` (which must be empty) and returns the chart directory in it
/// (the archive's top directory that holds `Chart.yaml`).
pub fn unpack(bytes: &[u8], dest: &Path) -> Result<PathBuf, ArchiveError> {
    let tops = unpack_tar(GzDecoder::new(bytes), dest)?;
    tops.into_iter()
        .map(|top| dest.join(top))
        .find(|dir| dir.join("Chart.yaml").is_file())
        .ok_or(ArchiveError::NotAChart)
}

/// Unpacks a tar stream into `dest`; returns the top-level names it held.
pub fn unpack_tar(reader: impl std::io::Read, dest: &Path) -> Result<Vec<String>, ArchiveError> {
    let io = |path: &Path, e: std::io::Error| ArchiveError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut archive = tar::Archive::new(reader);
    let mut total: u64 = 0;
    let mut tops: Vec<String> = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
        let path = entry
            .path()
            .map_err(|e| ArchiveError::Corrupt(e.to_string()))?
            .into_owned();
        let shown = path.display().to_string();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        if path.components().all(|c| c == Component::CurDir) && kind.is_dir() {
            continue;
        }
        let relative = safe_relative(&path).ok_or_else(|| ArchiveError::Escapes(shown.clone()))?;
        if !(kind.is_file() || kind.is_dir()) {
            return Err(ArchiveError::NotAFile(shown));
        }
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED_BYTES {
            return Err(ArchiveError::TooLarge(MAX_UNPACKED_BYTES));
        }
        if let Some(Component::Normal(top)) = relative.components().next() {
            let top = top.to_string_lossy().to_string();
            if !tops.contains(&top) {
                tops.push(top);
            }
        }
        let target = dest.join(&relative);
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| io(&target, e))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        let mut file = std::fs::File::create(&target).map_err(|e| io(&target, e))?;
        std::io::copy(&mut entry, &mut file)
            .map_err(|e| ArchiveError::Corrupt(format!("{shown}: {e}")))?;
    }
    Ok(tops)
}

/// A plain file name (one path component) for a layer written as a file.
pub fn safe_file_name(name: &str) -> Option<&str> {
    let mut parts = Path::new(name).components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(_)), None) => Some(name),
        _ => None,
    }
}

/// The entry path as plain components below the target; `None` for `..`, absolute paths or
/// anything else that could leave it.
fn safe_relative(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
        for (path, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            // set_path refuses `..`; write the raw name to test what a hostile archive holds.
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            builder.append(&header, *data).expect("append");
        }
        builder.into_inner().expect("tar").finish().expect("gzip")
    }

    #[test]
    fn a_chart_unpacks_into_its_top_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bytes = tgz(&[
            (
                "web/Chart.yaml",
                b"apiVersion: v2\nname: web\nversion: 1.0.0\n",
            ),
            ("web/templates/cm.yaml", b"kind: ConfigMap\n"),
        ]);
        let chart = unpack(&bytes, dir.path()).expect("unpacks");
        assert_eq!(chart, dir.path().join("web"));
        assert!(chart.join("templates/cm.yaml").is_file());
    }

    #[test]
    fn hostile_and_broken_archives_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let escape = tgz(&[("web/../../evil", b"x")]);
        assert!(matches!(
            unpack(&escape, dir.path()),
            Err(ArchiveError::Escapes(_))
        ));
        assert!(!dir.path().join("../evil").exists());
        let not_chart = tgz(&[("web/values.yaml", b"a: 1\n")]);
        let other = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            unpack(&not_chart, other.path()),
            Err(ArchiveError::NotAChart)
        ));
        let garbage = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            unpack(b"this is not gzip", garbage.path()),
            Err(ArchiveError::Corrupt(_))
        ));
    }
}
