//! Jsonnet in the sandbox's worker process. rsjsonnet cannot be interrupted, and a file
//! such as `std.range(0, 1e9)` runs for minutes and takes gigabytes, so with a sandbox
//! installed ([`driftless_sandbox::installed`]) evaluation happens in a worker that is
//! killed at the deadline and runs under a memory limit.
//!
//! Repository files stay the parent's business: each read is a callback
//! (`{"read": path}`, answered `{"bytes": base64 | null}`), so the workspace still exports
//! and records every file an evaluation reads. The worker answers `{"value": json}` or
//! `{"error": {"variant", "file", "text"}}`, from which the parent rebuilds the error.

use super::{JsonnetError, ReadFile, evaluate};
use crate::spec::JsonnetOptions;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use driftless_sandbox::{Sandbox, SandboxError};
use serde_json::{Value, json};

/// The sandbox request kind that evaluates a Jsonnet file.
pub use driftless_sandbox::JSONNET_KIND;

/// [`evaluate`], in a worker of `sandbox`.
pub fn evaluate_in(
    sandbox: &Sandbox,
    file: &str,
    app_dir: &str,
    options: &JsonnetOptions,
    read: &mut ReadFile<'_>,
) -> Result<Value, JsonnetError> {
    let input = json!({"file": file, "appDir": app_dir, "options": options});
    let mut answer_read = |question: Value| -> Result<Value, String> {
        let path = question["read"]
            .as_str()
            .ok_or_else(|| format!("failed to understand the evaluator's question {question}"))?;
        Ok(match read(path)? {
            Some(bytes) => json!({"bytes": STANDARD.encode(bytes)}),
            None => json!({"bytes": null}),
        })
    };
    let answer = sandbox
        .evaluate(JSONNET_KIND, input, &mut answer_read)
        .map_err(|e| match e {
            SandboxError::Deadline { seconds, .. } => JsonnetError::Deadline {
                file: file.to_string(),
                seconds,
            },
            SandboxError::Ended {
                memory_mib, status, ..
            } => JsonnetError::Memory {
                file: file.to_string(),
                memory_mib,
                status,
            },
            other => JsonnetError::Sandbox {
                file: file.to_string(),
                message: other.to_string(),
            },
        })?;
    from_answer(file, answer)
}

/// The worker side of [`JSONNET_KIND`]: input `{"file", "appDir", "options"}`.
pub fn sandbox_handler(
    input: Value,
    callback: &mut dyn FnMut(Value) -> Result<Value, String>,
) -> Result<Value, String> {
    let file = input["file"]
        .as_str()
        .ok_or("failed to read the Jsonnet request: no file")?;
    let app_dir = input["appDir"]
        .as_str()
        .ok_or("failed to read the Jsonnet request: no appDir")?;
    let options: JsonnetOptions = serde_json::from_value(input["options"].clone())
        .map_err(|e| format!("failed to read the Jsonnet request's options: {e}"))?;
    let mut read = |path: &str| -> Result<Option<Vec<u8>>, String> {
        let reply = callback(json!({"read": path}))?;
        match &reply["bytes"] {
            Value::Null => Ok(None),
            Value::String(text) => STANDARD
                .decode(text)
                .map(Some)
                .map_err(|e| format!("failed to decode {path} from the parent: {e}")),
            other => Err(format!(
                "failed to read {path}: the parent answered {other}"
            )),
        }
    };
    Ok(match evaluate(file, app_dir, &options, &mut read) {
        Ok(value) => json!({"value": value}),
        Err(e) => json!({"error": to_json(&e)}),
    })
}

fn to_json(error: &JsonnetError) -> Value {
    let (variant, file, text) = match error {
        JsonnetError::Read { file, message } => ("read", file, message),
        JsonnetError::LibOutside { file, lib } => ("libOutside", file, lib),
        JsonnetError::Syntax { file, message } => ("syntax", file, message),
        JsonnetError::Evaluate { file, message } => ("evaluate", file, message),
        JsonnetError::Panic { file } => ("panic", file, file),
        JsonnetError::Output { file, reason } => ("output", file, reason),
        other => return json!({"variant": "other", "text": other.to_string()}),
    };
    json!({"variant": variant, "file": file, "text": text})
}

fn from_answer(file: &str, answer: Value) -> Result<Value, JsonnetError> {
    let mut answer = match answer {
        Value::Object(map) => map,
        other => {
            return Err(JsonnetError::Sandbox {
                file: file.to_string(),
                message: format!("failed to read the evaluator's answer {other}"),
            });
        }
    };
    if let Some(value) = answer.remove("value") {
        return Ok(value);
    }
    let error = answer.remove("error").unwrap_or_default();
    let text = error["text"].as_str().unwrap_or_default().to_string();
    let file = error["file"].as_str().unwrap_or(file).to_string();
    Err(match error["variant"].as_str().unwrap_or_default() {
        "read" => JsonnetError::Read {
            file,
            message: text,
        },
        "libOutside" => JsonnetError::LibOutside { file, lib: text },
        "syntax" => JsonnetError::Syntax {
            file,
            message: text,
        },
        "evaluate" => JsonnetError::Evaluate {
            file,
            message: text,
        },
        "panic" => JsonnetError::Panic { file },
        "output" => JsonnetError::Output { file, reason: text },
        _ => JsonnetError::Sandbox {
            file,
            message: format!("failed to read the evaluator's answer: {text}"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::read_repo_file;
    use crate::workspace::DirWorkspace;
    use std::path::Path;

    /// What the worker answers, read back as the parent does, without a process between.
    fn through_handler(root: &Path, file: &str, app_dir: &str) -> Result<Value, JsonnetError> {
        let options = JsonnetOptions::default();
        let mut ws = DirWorkspace::new(root);
        let mut read = |path: &str| read_repo_file(&mut ws, root, path);
        let mut callback = |question: Value| -> Result<Value, String> {
            let path = question["read"].as_str().unwrap_or_default();
            Ok(match read(path)? {
                Some(bytes) => json!({"bytes": STANDARD.encode(bytes)}),
                None => json!({"bytes": null}),
            })
        };
        let input = json!({"file": file, "appDir": app_dir, "options": options});
        let answer =
            sandbox_handler(input, &mut callback).map_err(|message| JsonnetError::Sandbox {
                file: file.into(),
                message,
            })?;
        from_answer(file, answer)
    }

    fn in_process(root: &Path, file: &str, app_dir: &str) -> Result<Value, JsonnetError> {
        let mut ws = DirWorkspace::new(root);
        let mut read = |path: &str| read_repo_file(&mut ws, root, path);
        evaluate(file, app_dir, &JsonnetOptions::default(), &mut read)
    }

    #[test]
    fn values_and_errors_survive_the_trip_through_the_worker_protocol() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/jsonnet")
            .canonicalize()
            .expect("fixture root");
        for (file, app_dir) in [
            ("guestbook/guestbook-ui.jsonnet", "guestbook"),
            ("broken/syntax/bad.jsonnet", "broken/syntax"),
            ("broken/import/main.jsonnet", "broken/import"),
            ("outputs-bad/scalar/scalar.jsonnet", "outputs-bad/scalar"),
            ("nosuch/file.jsonnet", "nosuch"),
        ] {
            let sent = through_handler(&root, file, app_dir);
            let here = in_process(&root, file, app_dir);
            assert_eq!(
                sent.as_ref().map_err(ToString::to_string),
                here.as_ref().map_err(ToString::to_string),
                "{file}"
            );
            assert_eq!(
                std::mem::discriminant(&sent.err().unwrap_or(JsonnetError::Panic {
                    file: String::new()
                })),
                std::mem::discriminant(&here.err().unwrap_or(JsonnetError::Panic {
                    file: String::new()
                })),
                "{file}"
            );
        }
    }
}
