//! Parse manifest text (YAML streams or JSON) into Kubernetes objects.
//!
//! Pure: text in, objects out. Every document is located by file and line so that a
//! malformed file is reported where the user can find it. `List` kinds are flattened,
//! empty and `null` documents are skipped.

use crate::yaml_value;
use serde_json::Value;
use std::fmt;

/// One object read from a manifest, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub object: Value,
    pub origin: Origin,
}

/// Where an object was read: a file (or tool output) and the line its document starts on.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    /// Helm's `# Source: chart/templates/x.yaml` comment, when the document has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(template) = &self.template {
            write!(f, " ({template})")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("failed to parse {file} at line {line}, column {column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "failed to read {file}: the document at line {line} is not a Kubernetes object: {reason}"
    )]
    NotAnObject {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("failed to read {file}: it is not UTF-8 (line {line})")]
    NotUtf8 { file: String, line: usize },
    #[error(
        "failed to read {file}: it has {bytes} bytes, more than the {limit} a manifest file may have"
    )]
    TooLarge {
        file: String,
        bytes: u64,
        limit: u64,
    },
}

/// The largest manifest file read (a repository could hold one of gigabytes).
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Deeper flow nesting (`[[[[…`) than any object needs; the YAML parser would refuse it only
/// after time that grows with the square of the depth.
pub const MAX_FLOW_DEPTH: usize = 256;

/// Refuses a file larger than [`MAX_FILE_BYTES`].
pub fn check_size(file: &str, bytes: u64) -> Result<(), ManifestError> {
    if bytes > MAX_FILE_BYTES {
        return Err(ManifestError::TooLarge {
            file: file.to_string(),
            bytes,
            limit: MAX_FILE_BYTES,
        });
    }
    Ok(())
}

/// Refuses YAML whose `[`/`{` nesting goes deeper than [`MAX_FLOW_DEPTH`], in one linear scan
/// (quoted strings and comments are skipped; brackets in block scalars count, which can only
/// make a pathological text fail sooner).
fn check_flow_depth(file: &str, first_line: usize, text: &str) -> Result<(), ManifestError> {
    let (mut depth, mut line, mut column) = (0usize, first_line, 0usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut previous = '\n';
    for c in text.chars() {
        column += 1;
        if c == '\n' {
            (line, column, comment) = (line + 1, 0, false);
            if quote == Some('\'') {
                quote = None;
            }
        } else if comment {
        } else if let Some(q) = quote {
            if c == q && previous != '\\' {
                quote = None;
            }
        } else {
            match c {
                '\'' | '"' => quote = Some(c),
                '#' if previous.is_whitespace() => comment = true,
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Err(ManifestError::Syntax {
                            file: file.to_string(),
                            line,
                            column,
                            message: format!("nesting deeper than {MAX_FLOW_DEPTH} levels"),
                        });
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        previous = c;
    }
    Ok(())
}

/// The format of a manifest file, chosen by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// `.yaml`/`.yml` are YAML, `.json` is JSON; anything else is not a manifest file.
    pub fn of_path(path: &str) -> Option<Format> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Format::Yaml)
        } else if lower.ends_with(".json") {
            Some(Format::Json)
        } else {
            None
        }
    }
}

/// Parses raw bytes of one file in the given format.
pub fn parse_bytes(
    file: &str,
    bytes: &[u8],
    format: Format,
) -> Result<Vec<Manifest>, ManifestError> {
    check_size(file, bytes.len() as u64)?;
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        ManifestError::NotUtf8 {
            file: file.to_string(),
            line,
        }
    })?;
    match format {
        Format::Yaml => parse_yaml_stream(file, text),
        Format::Json => parse_json(file, text),
    }
}

/// Parses a YAML stream (documents separated by `---`), as written by hand, by
/// `helm template` or by `kustomize build`.
pub fn parse_yaml_stream(file: &str, text: &str) -> Result<Vec<Manifest>, ManifestError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for chunk in split_documents(text) {
        let origin = Origin {
            file: file.to_string(),
            line: chunk.first_line,
            template: helm_source(&chunk.text),
        };
        check_flow_depth(file, chunk.first_line, &chunk.text)?;
        let value = match yaml_value::kubernetes_json(&chunk.text) {
            Some(value) => value,
            None => {
                let parsed: serde_norway::Value = serde_norway::from_str(&chunk.text)
                    .map_err(|e| yaml_syntax_error(file, chunk.first_line, &e))?;
                yaml_value::to_json(parsed).map_err(|e| not_an_object(&origin, &e))?
            }
        };
        collect_objects(value, &origin, &mut out)?;
    }
    Ok(out)
}

/// Parses one YAML document into a plain value (no object checks), e.g. a kustomization
/// or a Chart.yaml; an empty document is `null`.
pub fn parse_yaml_value(file: &str, text: &str) -> Result<Value, ManifestError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_flow_depth(file, 1, text)?;
    if let Some(value) = yaml_value::kubernetes_json(text) {
        return Ok(value);
    }
    let parsed: serde_norway::Value =
        serde_norway::from_str(text).map_err(|e| yaml_syntax_error(file, 1, &e))?;
    yaml_value::to_json(parsed).map_err(|e| ManifestError::NotAnObject {
        file: file.to_string(),
        line: 1,
        reason: e.to_string(),
    })
}

/// The objects of one already parsed document (a Jsonnet result item): one object or the
/// items of a `List`; `null` is none. Its origin is line 1 of `file`.
pub fn parse_value(file: &str, value: Value) -> Result<Vec<Manifest>, ManifestError> {
    let origin = Origin {
        file: file.to_string(),
        line: 1,
        template: None,
    };
    let mut out = Vec::new();
    collect_objects(value, &origin, &mut out)?;
    Ok(out)
}

/// Parses a JSON file holding one object, a `List`, or an array of objects.
pub fn parse_json(file: &str, text: &str) -> Result<Vec<Manifest>, ManifestError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let origin = Origin {
        file: file.to_string(),
        line: 1,
        template: None,
    };
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| ManifestError::Syntax {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: strip_location(&e.to_string()),
    })?;
    let mut out = Vec::new();
    match value {
        Value::Array(items) => {
            for item in items {
                collect_objects(item, &origin, &mut out)?;
            }
        }
        other => collect_objects(other, &origin, &mut out)?,
    }
    Ok(out)
}

/// A document's text with its `---` marker blanked out, and the line it starts on.
struct Chunk {
    text: String,
    first_line: usize,
}

/// Splits a stream at document markers (`---` or `...` at column 0). Such a line can
/// never be content (YAML forbids it inside scalars), so splitting by lines is exact.
/// The marker itself is replaced by spaces so columns and lines stay true.
fn split_documents(text: &str) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut first_line = 1;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let marker = document_marker(line);
        if let Some(kind) = marker {
            chunks.push(Chunk {
                text: std::mem::take(&mut current),
                first_line,
            });
            first_line = index + 1;
            if kind == Marker::Start {
                current.push_str("   ");
                current.push_str(&line[3..]);
            } else {
                current.push('\n');
            }
        } else {
            current.push_str(line);
        }
    }
    chunks.push(Chunk {
        text: current,
        first_line,
    });
    chunks
}

#[derive(PartialEq)]
enum Marker {
    Start,
    End,
}

fn document_marker(line: &str) -> Option<Marker> {
    let kind = if line.starts_with("---") {
        Marker::Start
    } else if line.starts_with("...") {
        Marker::End
    } else {
        return None;
    };
    match line.as_bytes().get(3) {
        None | Some(b' ' | b'\t' | b'\r' | b'\n') => Some(kind),
        _ => None,
    }
}

/// Helm prefixes each template's output with `# Source: <chart>/templates/<file>`.
fn helm_source(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim_start)
        .find_map(|line| line.strip_prefix("# Source: "))
        .map(|s| s.trim().to_string())
}

/// Adds a parsed document's objects: nothing for an empty document, the items of a `List`.
fn collect_objects(
    value: Value,
    origin: &Origin,
    out: &mut Vec<Manifest>,
) -> Result<(), ManifestError> {
    match value {
        Value::Null => Ok(()),
        Value::Object(mut map) => {
            let is_list = map
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.ends_with("List"))
                && map
                    .get("items")
                    .is_some_and(|items| items.is_array() || items.is_null());
            if is_list {
                if let Some(Value::Array(items)) = map.remove("items") {
                    for item in items {
                        check_object(&item, origin)?;
                        out.push(Manifest {
                            object: item,
                            origin: origin.clone(),
                        });
                    }
                }
                return Ok(());
            }
            let object = Value::Object(map);
            check_object(&object, origin)?;
            out.push(Manifest {
                object,
                origin: origin.clone(),
            });
            Ok(())
        }
        Value::Array(_) => Err(not_an_object(origin, "it is a list, not a mapping")),
        _ => Err(not_an_object(origin, "it is a scalar, not a mapping")),
    }
}

/// An object needs a non-empty `apiVersion` and `kind`; the name is checked later
/// (hooks may use `generateName`).
fn check_object(object: &Value, origin: &Origin) -> Result<(), ManifestError> {
    let Some(map) = object.as_object() else {
        return Err(not_an_object(origin, "a List item is not a mapping"));
    };
    for field in ["apiVersion", "kind"] {
        match map.get(field) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return Err(not_an_object(origin, &format!("missing {field}")));
            }
            Some(_) => return Err(not_an_object(origin, &format!("{field} is not a string"))),
        }
    }
    if let Some(meta) = map.get("metadata")
        && !meta.is_object()
        && !meta.is_null()
    {
        return Err(not_an_object(origin, "metadata is not a mapping"));
    }
    Ok(())
}

fn not_an_object(origin: &Origin, reason: &(impl fmt::Display + ?Sized)) -> ManifestError {
    ManifestError::NotAnObject {
        file: origin.file.clone(),
        line: origin.line,
        reason: reason.to_string(),
    }
}

/// serde_norway locates errors within the chunk; chunks keep their lines, so only the
/// chunk's first line is added, also to the lines the parser's message mentions.
fn yaml_syntax_error(file: &str, first_line: usize, e: &serde_norway::Error) -> ManifestError {
    let (line, column) = match e.location() {
        Some(loc) => (first_line + loc.line() - 1, loc.column()),
        None => (first_line, 1),
    };
    let message = shift_lines(&e.to_string(), first_line - 1);
    let own_suffix = format!(" at line {line} column {column}");
    let message = message
        .strip_suffix(&own_suffix)
        .unwrap_or(&message)
        .to_string();
    ManifestError::Syntax {
        file: file.to_string(),
        line,
        column,
        message,
    }
}

/// Adds `offset` to every "line N" in a parser message.
fn shift_lines(message: &str, offset: usize) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("line ") {
        let (before, after) = rest.split_at(at + "line ".len());
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        match after[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n.saturating_add(offset)).to_string()),
            Err(_) => out.push_str(&after[..digits]),
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// Drops serde_json's own " at line N column M" suffix: the error carries it as fields.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests;
