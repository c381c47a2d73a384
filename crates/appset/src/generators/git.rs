//! `git`: one parameter set per matching directory, or per object in each matching JSON/YAML
//! file. Parameter names are Argo CD's: `path`, `path.basename`, `path.basenameNormalized`,
//! `path[N]` (default mode) or `.path.path`, `.path.segments` … (Go mode); files add
//! `filename` and `filenameNormalized`. `pathParamPrefix` moves them under a prefix.

use std::collections::{BTreeMap, BTreeSet};

use driftless_model::appset::GitGenerator;
use serde_json::{Map, Value, json};

use super::{Context, GeneratorError, append_values};
use crate::git_input::path_match;
use crate::names::normalize;
use crate::params::{Params, flatten};

pub fn generate(spec: &Value, ctx: Context<'_>) -> Result<Vec<Params>, GeneratorError> {
    let git: GitGenerator =
        serde_json::from_value(spec.clone()).map_err(|e| GeneratorError::invalid("git", e))?;
    let values = spec.get("values");
    let prefix = git.path_param_prefix.as_deref().unwrap_or("");
    let mut out = Vec::new();
    if let Some(items) = git.directories.as_ref().filter(|d| !d.is_empty()) {
        let all = ctx.inputs.git.dirs(&git.repo_url, &git.revision)?;
        for dir in select_directories(items, all) {
            let mut params = directory_params(&dir, prefix, ctx.mode.is_go());
            append_values(values, &mut params, ctx.mode)?;
            out.push(params);
        }
    } else if let Some(items) = git.files.as_ref().filter(|f| !f.is_empty()) {
        for (path, contents) in select_files(&git, items, ctx)? {
            for object in parse_objects(&path, &contents, &git.repo_url)? {
                let mut params = file_params(object, &path, prefix, ctx.mode.is_go());
                append_values(values, &mut params, ctx.mode)?;
                out.push(params);
            }
        }
    } else {
        return Err(GeneratorError::invalid(
            "git",
            "neither directories nor files is set",
        ));
    }
    Ok(out)
}

/// Directories matched by an included pattern and by no excluded one, hidden directories
/// (and everything under them) left out, in the order of a depth-first walk.
fn select_directories(
    items: &[driftless_model::appset::GitPathItem],
    all: Vec<String>,
) -> Vec<String> {
    let mut selected: Vec<String> = all
        .into_iter()
        .map(|d| d.trim_matches('/').to_string())
        .filter(|d| !d.is_empty() && !d.split('/').any(|s| s.starts_with('.')))
        .filter(|dir| {
            let mut included = false;
            let mut excluded = false;
            for item in items {
                // A malformed pattern matches nothing, as in Argo CD.
                if path_match(&item.path, dir) == Some(true) {
                    if item.exclude.unwrap_or(false) {
                        excluded = true;
                    } else {
                        included = true;
                    }
                }
            }
            included && !excluded
        })
        .collect();
    selected.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    selected.dedup();
    selected
}

/// Files of the included globs minus those of the excluded ones, sorted by path.
fn select_files(
    git: &GitGenerator,
    items: &[driftless_model::appset::GitPathItem],
    ctx: Context<'_>,
) -> Result<BTreeMap<String, Vec<u8>>, GeneratorError> {
    let mut files = BTreeMap::new();
    let mut excluded = BTreeSet::new();
    for item in items {
        let found = ctx
            .inputs
            .git
            .files(&git.repo_url, &git.revision, &item.path)?;
        if item.exclude.unwrap_or(false) {
            excluded.extend(found.into_iter().map(|(path, _)| path));
        } else {
            files.extend(found);
        }
    }
    files.retain(|path, _| !excluded.contains(path));
    Ok(files)
}

/// A file holds one object, or a list of objects; an empty file is one empty object.
fn parse_objects(
    path: &str,
    contents: &[u8],
    repo_url: &str,
) -> Result<Vec<Params>, GeneratorError> {
    let error = |message: String| GeneratorError::File {
        path: path.to_string(),
        repo_url: repo_url.to_string(),
        message,
    };
    let parsed: Value = serde_norway::from_slice(contents)
        .map_err(|e| error(format!("unable to parse file: {e}")))?;
    match parsed {
        Value::Null => Ok(vec![Map::new()]),
        Value::Object(object) => Ok(vec![object]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(object) => Ok(object),
                _ => Err(error(
                    "unable to parse file: a list item is not an object".into(),
                )),
            })
            .collect(),
        _ => Err(error(
            "unable to parse file: not an object or a list of objects".into(),
        )),
    }
}

fn directory_params(dir: &str, prefix: &str, go: bool) -> Params {
    let basename = go_base(dir);
    let mut params = Params::new();
    if go {
        let path = json!({
            "path": dir,
            "basename": basename,
            "basenameNormalized": normalize(&basename),
            "segments": dir.split('/').collect::<Vec<_>>(),
        });
        insert_go_path(&mut params, prefix, path);
    } else {
        let name = flat_name(prefix);
        params.insert(name.clone(), json!(dir));
        params.insert(format!("{name}.basename"), json!(basename));
        params.insert(
            format!("{name}.basenameNormalized"),
            json!(normalize(&basename)),
        );
        insert_indexed_segments(&mut params, &name, dir);
    }
    params
}

fn file_params(object: Params, file: &str, prefix: &str, go: bool) -> Params {
    let dir = go_dir(file);
    let basename = go_base(&dir);
    let filename = go_base(file);
    if go {
        let mut params = object;
        let path = json!({
            "path": dir,
            "basename": basename,
            "filename": filename,
            "basenameNormalized": normalize(&basename),
            "filenameNormalized": normalize(&filename),
            "segments": dir.split('/').collect::<Vec<_>>(),
        });
        insert_go_path(&mut params, prefix, path);
        params
    } else {
        let mut params = flatten(&object);
        let name = flat_name(prefix);
        params.insert(name.clone(), json!(dir));
        params.insert(format!("{name}.basename"), json!(basename));
        params.insert(format!("{name}.filename"), json!(filename));
        params.insert(
            format!("{name}.basenameNormalized"),
            json!(normalize(&basename)),
        );
        params.insert(
            format!("{name}.filenameNormalized"),
            json!(normalize(&filename)),
        );
        insert_indexed_segments(&mut params, &name, &dir);
        params
    }
}

/// Go mode: `.path` or, with a prefix, `.<prefix>.path`.
fn insert_go_path(params: &mut Params, prefix: &str, path: Value) {
    if prefix.is_empty() {
        params.insert("path".into(), path);
    } else {
        params.insert(prefix.to_string(), json!({ "path": path }));
    }
}

fn flat_name(prefix: &str) -> String {
    if prefix.is_empty() {
        "path".into()
    } else {
        format!("{prefix}.path")
    }
}

/// `path[0]`, `path[1]` … for the non-empty segments (their index in the full split).
fn insert_indexed_segments(params: &mut Params, name: &str, dir: &str) {
    for (i, segment) in dir.split('/').enumerate() {
        if !segment.is_empty() {
            params.insert(format!("{name}[{i}]"), json!(segment));
        }
    }
}

/// Go's `path.Dir`.
fn go_dir(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) => "/".into(),
        Some((dir, _)) => dir.trim_end_matches('/').to_string(),
        None => ".".into(),
    }
}

/// Go's `path.Base`.
fn go_base(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() {
            ".".into()
        } else {
            "/".into()
        };
    }
    trimmed
        .rsplit_once('/')
        .map_or(trimmed, |(_, base)| base)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_and_base_follow_go_path() {
        assert_eq!(go_dir("a/b/c.json"), "a/b");
        assert_eq!(go_dir("c.json"), ".");
        assert_eq!(go_base("a/b"), "b");
        assert_eq!(go_base("."), ".");
    }

    #[test]
    fn walk_order_puts_children_right_after_their_parent() {
        let items = vec![driftless_model::appset::GitPathItem {
            path: "*".into(),
            ..Default::default()
        }];
        let all = vec!["a-c".into(), "a".into(), ".git".into()];
        assert_eq!(select_directories(&items, all), vec!["a", "a-c"]);
    }
}
