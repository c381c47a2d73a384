//! Jsonnet files of directory sources, evaluated the way Argo CD's repo server runs
//! go-jsonnet: external variables and top-level arguments (strings, or code when `code`),
//! imports searched next to the importing file, then in `libs` (last first), then in the
//! source path. The result is one object, or an array whose items are objects (`null`
//! items and a `null` result give nothing).
//!
//! Pure apart from `read`, which returns a repository file by its repository-relative
//! path; every path handed to it is normalized and inside the repository, so no import
//! can reach a file outside it. Evaluation is bounded by [`MAX_STACK`] Jsonnet frames and
//! the evaluator keeps its own stack, so a hostile file ends in an error, not a crash.
//! Time and memory are bounded only in the sandbox's worker process ([`sandbox`]), which
//! [`evaluate_bounded`] uses when the program installed one.

mod envsubst;
mod report;
pub mod sandbox;

pub use envsubst::{UNKNOWN_AT_RENDER, expand};
pub use sandbox::{JSONNET_KIND, sandbox_handler};

use crate::manifest::{self, Manifest, ManifestError};
use crate::paths;
use crate::spec::{JsonnetOptions, JsonnetVar};
use report::Source;
use rsjsonnet_lang::arena::Arena;
use rsjsonnet_lang::interner::InternedStr;
use rsjsonnet_lang::program::{
    Callbacks, EvalError, EvalErrorKind, EvalStackTraceItem, ImportError, NativeError, Program,
    Thunk, Value as JValue,
};
use rsjsonnet_lang::span::{SpanContextId, SpanId};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Call frames a file may nest, go-jsonnet's default (`--max-stack 500`).
pub const MAX_STACK: usize = 500;

/// Reads a repository file by normalized repository-relative path; `None` when absent.
pub type ReadFile<'a> = dyn FnMut(&str) -> Result<Option<Vec<u8>>, String> + 'a;

#[derive(Debug, thiserror::Error)]
pub enum JsonnetError {
    #[error("failed to read {file}: {message}")]
    Read { file: String, message: String },
    #[error("failed to evaluate {file}: jsonnet lib {lib:?} resolves outside the repository")]
    LibOutside { file: String, lib: String },
    #[error("failed to parse {file}: {message}")]
    Syntax { file: String, message: String },
    #[error("failed to evaluate {file}: {message}")]
    Evaluate { file: String, message: String },
    #[error("failed to evaluate {file}: the Jsonnet evaluator panicked")]
    Panic { file: String },
    #[error("failed to read the result of {file}: {reason}")]
    Output { file: String, reason: String },
    #[error(
        "failed to evaluate {file}: it did not finish within {seconds}s, the time limit of a Jsonnet evaluation"
    )]
    Deadline { file: String, seconds: f64 },
    #[error(
        "failed to evaluate {file}: the evaluation process ended without an answer ({status}); \
         most likely it ran out of memory under the limit of {memory_mib} MiB"
    )]
    Memory {
        file: String,
        memory_mib: u64,
        status: String,
    },
    #[error("failed to evaluate {file}: {message}")]
    Sandbox { file: String, message: String },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// [`evaluate`] in the installed sandbox's worker, bounded in time and memory; in this
/// process when none is installed.
pub fn evaluate_bounded(
    file: &str,
    app_dir: &str,
    options: &JsonnetOptions,
    read: &mut ReadFile<'_>,
) -> Result<Value, JsonnetError> {
    match driftless_sandbox::installed() {
        Some(sandbox) => sandbox::evaluate_in(sandbox, file, app_dir, options, read),
        None => evaluate(file, app_dir, options, read),
    }
}

/// Evaluates the repository file `file` of the source at `app_dir` to its JSON value.
pub fn evaluate(
    file: &str,
    app_dir: &str,
    options: &JsonnetOptions,
    read: &mut ReadFile<'_>,
) -> Result<Value, JsonnetError> {
    let mut search = vec![app_dir.to_string()];
    for lib in &options.libs {
        // Relative to the repository root, like Argo CD (a leading `/` is the root too).
        let dir = paths::join("", lib).ok_or_else(|| JsonnetError::LibOutside {
            file: file.to_string(),
            lib: lib.clone(),
        })?;
        search.push(dir);
    }
    let read_error = |message: String| JsonnetError::Read {
        file: file.to_string(),
        message,
    };
    let bytes = read(file)
        .map_err(read_error)?
        .ok_or_else(|| read_error("no such file".into()))?;
    // The evaluator is not ours; a panic in it must not take the controller down.
    catch_unwind(AssertUnwindSafe(|| run(file, bytes, search, options, read))).unwrap_or_else(
        |_| {
            Err(JsonnetError::Panic {
                file: file.to_string(),
            })
        },
    )
}

/// The objects of an evaluated file, as Argo CD takes them from go-jsonnet's output.
pub fn to_manifests(file: &str, value: Value) -> Result<Vec<Manifest>, JsonnetError> {
    let output = |reason: String| JsonnetError::Output {
        file: file.to_string(),
        reason,
    };
    match value {
        Value::Array(items) => {
            let mut out = Vec::new();
            for (index, item) in items.into_iter().enumerate() {
                match item {
                    Value::Null => {}
                    Value::Object(_) => out.extend(manifest::parse_value(file, item)?),
                    other => {
                        return Err(output(format!(
                            "item {index} is {}, not an object",
                            kind_of(&other)
                        )));
                    }
                }
            }
            Ok(out)
        }
        Value::Object(_) | Value::Null => Ok(manifest::parse_value(file, value)?),
        other => Err(output(format!(
            "it is {}, not an object or an array of objects",
            kind_of(&other)
        ))),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn run(
    file: &str,
    bytes: Vec<u8>,
    search: Vec<String>,
    options: &JsonnetOptions,
    read: &mut ReadFile<'_>,
) -> Result<Value, JsonnetError> {
    let arena = Arena::new();
    let mut program = Program::new(&arena);
    program.set_max_stack(MAX_STACK);
    let mut loader = Loader {
        read,
        search,
        sources: HashMap::new(),
        loaded: HashMap::new(),
        failure: None,
    };
    for var in last_wins(&options.ext_vars) {
        let thunk = loader.var_thunk(&mut program, "extvar", var);
        let name = program.intern_str(&var.name);
        program.add_ext_var(name, &thunk);
    }
    let main = loader
        .load(&mut program, file, Some(paths::parent(file)), bytes)
        .map_err(|message| JsonnetError::Syntax {
            file: file.to_string(),
            message,
        })?;
    fn failed<'p>(
        file: &str,
        loader: &mut Loader<'_, '_, 'p>,
        program: &Program<'p>,
        e: EvalError,
    ) -> JsonnetError {
        JsonnetError::Evaluate {
            file: file.to_string(),
            message: loader.describe(program, &e),
        }
    }
    let mut value = match program.eval_value(&main, &mut loader) {
        Ok(v) => v,
        Err(e) => return Err(failed(file, &mut loader, &program, e)),
    };
    // go-jsonnet applies top-level arguments only when the file is a function.
    if value.is_function() {
        let mut tlas: Vec<(InternedStr<'_>, Thunk<'_>)> = Vec::new();
        for var in last_wins(&options.tlas) {
            let thunk = loader.var_thunk(&mut program, "top-level-arg", var);
            tlas.push((program.intern_str(&var.name), thunk));
        }
        let func = program.value_to_thunk(&value);
        value = match program.eval_call(&func, &[], &tlas, &mut loader) {
            Ok(v) => v,
            Err(e) => return Err(failed(file, &mut loader, &program, e)),
        };
    }
    let json = match manifest_json(&mut program, &mut loader, &value) {
        Ok(json) => json,
        Err(e) => return Err(failed(file, &mut loader, &program, e)),
    };
    serde_json::from_str(&json).map_err(|e| JsonnetError::Output {
        file: file.to_string(),
        reason: format!("its JSON did not parse: {e}"),
    })
}

/// Turns the value into JSON text from inside Jsonnet: fields are lazy, and forcing them
/// may import files, which needs the loader.
fn manifest_json<'p>(
    program: &mut Program<'p>,
    loader: &mut Loader<'_, '_, 'p>,
    value: &JValue<'p>,
) -> Result<String, EvalError> {
    let code = b"function(v) std.manifestJsonMinified(v)";
    let (ctx, _) = program.span_manager_mut().insert_source_context(code.len());
    let wrapper = program
        .load_source(ctx, code, true, "<manifest>")
        .map_err(|e| EvalError {
            stack_trace: Vec::new(),
            kind: EvalErrorKind::Other {
                span: None,
                message: format!("failed to load the JSON writer: {e:?}"),
            },
        })?;
    let func = program.eval_value(&wrapper, loader)?;
    let func = program.value_to_thunk(&func);
    let arg = program.value_to_thunk(value);
    let text = program.eval_call(&func, &[arg], &[], loader)?;
    Ok(text.to_string().unwrap_or_default())
}

/// Argo CD hands the variables to go-jsonnet one by one, so a repeated name keeps the last.
fn last_wins(vars: &[JsonnetVar]) -> impl Iterator<Item = &JsonnetVar> {
    let mut by_name: BTreeMap<&str, &JsonnetVar> = BTreeMap::new();
    for var in vars {
        by_name.insert(&var.name, var);
    }
    by_name.into_values()
}

/// Loads sources for the evaluator and remembers them for error messages.
struct Loader<'r, 'f, 'p> {
    read: &'r mut ReadFile<'f>,
    /// Library directories in the order given; searched last first, as go-jsonnet does.
    search: Vec<String>,
    sources: HashMap<SpanContextId, Source>,
    loaded: HashMap<String, Thunk<'p>>,
    /// Why the last import failed (the evaluator's own error carries no reason).
    failure: Option<String>,
}

impl<'p> Loader<'_, '_, 'p> {
    /// Parses `bytes` as the source `name`; `dir` is where its relative imports start.
    fn load(
        &mut self,
        program: &mut Program<'p>,
        name: &str,
        dir: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<Thunk<'p>, String> {
        let (ctx, _) = program
            .span_manager_mut()
            .insert_source_context(bytes.len());
        let loaded = program.load_source(ctx, &bytes, true, name);
        self.sources.insert(
            ctx,
            Source {
                name: name.to_string(),
                dir: dir.map(str::to_string),
                text: bytes,
            },
        );
        loaded.map_err(|e| report::load_error(&e, program.span_manager(), &self.sources))
    }

    /// A variable as a thunk. Code that does not parse fails only when used, as in go-jsonnet.
    fn var_thunk(&mut self, program: &mut Program<'p>, kind: &str, var: &JsonnetVar) -> Thunk<'p> {
        if !var.code {
            return program.value_to_thunk(&JValue::string(&var.value));
        }
        let name = format!("<{kind}:{}>", var.name);
        match self.load(program, &name, None, var.value.clone().into_bytes()) {
            Ok(thunk) => thunk,
            Err(message) => {
                let message = format!("failed to parse {name}: {message}");
                let code = format!("error {}", Value::String(message)).into_bytes();
                // Not kept in `sources`: the error is placed where the variable is used.
                let (ctx, _) = program.span_manager_mut().insert_source_context(code.len());
                program
                    .load_source(ctx, &code, true, &name)
                    .unwrap_or_else(|_| program.value_to_thunk(&JValue::null()))
            }
        }
    }

    /// The repository path and contents an import refers to, looked up as go-jsonnet does.
    fn find(
        &mut self,
        program: &Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<(String, Vec<u8>), String> {
        if path.is_empty() {
            return Err("the empty string is not a file name".into());
        }
        if path.starts_with('/') {
            return Err("it is an absolute path, outside the repository".into());
        }
        let (ctx, _, _) = program.span_manager().get_span(from);
        let here = self.sources.get(&ctx).and_then(|s| s.dir.clone());
        let mut outside = false;
        for dir in here.iter().chain(self.search.iter().rev()) {
            let Some(candidate) = paths::join(dir, path) else {
                outside = true;
                continue;
            };
            if let Some(bytes) = (self.read)(&candidate)? {
                return Ok((candidate, bytes));
            }
        }
        if outside {
            Err("it resolves outside the repository".into())
        } else {
            Err(format!(
                "no such file next to the importing file or in the library paths ({})",
                self.search.join(", ")
            ))
        }
    }

    fn fail<T>(&mut self, reason: String) -> Result<T, ImportError> {
        self.failure = Some(reason);
        Err(ImportError)
    }

    fn describe(&mut self, program: &Program<'p>, error: &EvalError) -> String {
        report::eval_error(
            error,
            program.span_manager(),
            &self.sources,
            self.failure.take(),
        )
    }
}

impl<'p> Callbacks<'p> for Loader<'_, '_, 'p> {
    fn import(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Thunk<'p>, ImportError> {
        let (name, bytes) = match self.find(program, from, path) {
            Ok(found) => found,
            Err(reason) => return self.fail(reason),
        };
        if let Some(thunk) = self.loaded.get(&name) {
            return Ok(thunk.clone());
        }
        let dir = paths::parent(&name).to_string();
        match self.load(program, &name, Some(&dir), bytes) {
            Ok(thunk) => {
                self.loaded.insert(name, thunk.clone());
                Ok(thunk)
            }
            Err(message) => self.fail(message),
        }
    }

    fn import_str(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<String, ImportError> {
        match self.find(program, from, path) {
            Ok((_, bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(reason) => self.fail(reason),
        }
    }

    fn import_bin(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Vec<u8>, ImportError> {
        match self.find(program, from, path) {
            Ok((_, bytes)) => Ok(bytes),
            Err(reason) => self.fail(reason),
        }
    }

    fn trace(&mut self, _program: &mut Program<'p>, message: &str, _: &[EvalStackTraceItem]) {
        tracing::debug!(message, "jsonnet std.trace");
    }

    fn native_call(
        &mut self,
        _program: &mut Program<'p>,
        _name: InternedStr<'p>,
        _args: &[JValue<'p>],
    ) -> Result<JValue<'p>, NativeError> {
        // No native functions are registered, as in Argo CD.
        Err(NativeError)
    }
}

#[cfg(test)]
mod tests;
