//! `goTemplate: true`: Go `text/template` semantics (the `gotmpl` crate) with the function
//! map Argo CD's ApplicationSet controller uses: Sprig's generic functions (without `env`,
//! `expandenv` and `getHostByName`) plus `normalize`, `slugify`, `toYaml`, `fromYaml` and
//! `fromYamlArray`, and the `missingkey` option.
//!
//! Values print the way Go prints them: every parsed template is rewritten so that an
//! action's value, and each argument of a literal `printf` format's `%v`, goes through Go's
//! `%v` formatting first (`gotmpl` would print `1000000` where Go prints `1e+06`).
//!
//! Unlike Argo CD, what a template builds is bounded ([`limits`]): 1.5 MiB of output, no
//! function result over that, lists and maps 1000 deep at most.
//!
//! Not provided (they fail as undefined functions): Sprig's functions that read the clock or
//! randomness (`now`, `date*`, `uuidv4`, `rand*`), mutate a dict (`set`, `unset`), hash with
//! anything but SHA-256, do crypto or semver, and the string-case helpers (`camelcase`,
//! `kebabcase`, `snakecase`, …).

mod args;
mod gojson;
mod goyaml;
pub mod limits;
mod printf;
mod sprig_collections;
mod sprig_encoding;
mod sprig_numbers;
mod sprig_strings;
pub mod value;

use std::sync::{Arc, OnceLock};

use gotmpl::parse::{CommandNode, Expr, ListNode, Node, PipeNode, SmolStr};
use gotmpl::{FuncMap, MissingKey, Template, Value};

pub use value::{from_json, go_float, go_sprint, to_json};

/// The template's name inside the engine (Argo CD's is empty; only error texts differ).
const NAME: &str = "appset";
/// The function every printed action value, and every `%v` argument of `printf`, goes
/// through.
const PRINT_FN: &str = "__driftless_go_print";

/// Rendering a Go template failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoTemplateError {
    #[error("failed to parse template {template:?}: {message}")]
    Parse { template: String, message: String },
    #[error("failed to execute go template {template:?}: {message}")]
    Execute { template: String, message: String },
    #[error("failed to read goTemplateOptions: unrecognized option {0:?}")]
    Option(String),
}

/// `goTemplateOptions`: only `missingkey=…` exists in Go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GoTemplateOptions {
    /// `missingkey=error`: a missing map key fails instead of printing `<no value>`.
    pub missing_key_error: bool,
}

impl GoTemplateOptions {
    /// Reads `goTemplateOptions` as Go's `Template.Option` does (later options win).
    pub fn parse(options: &[String]) -> Result<Self, GoTemplateError> {
        let mut parsed = GoTemplateOptions::default();
        for option in options {
            match option.as_str() {
                "missingkey=error" => parsed.missing_key_error = true,
                "missingkey=default" | "missingkey=invalid" | "missingkey=zero" => {
                    parsed.missing_key_error = false;
                }
                other => return Err(GoTemplateError::Option(other.to_string())),
            }
        }
        Ok(parsed)
    }
}

/// Renders `source` with `data` as dot.
pub fn render(
    source: &str,
    data: &Value,
    options: GoTemplateOptions,
) -> Result<String, GoTemplateError> {
    let parsed = Template::new(NAME)
        .funcs(func_map().clone())
        .parse(source)
        .map_err(|e| GoTemplateError::Parse {
            template: source.to_string(),
            message: e.to_string(),
        })?;
    let missing = if options.missing_key_error {
        MissingKey::Error
    } else {
        MissingKey::Invalid
    };
    let mut out = limits::Output::default();
    let finish = |result: Result<(), gotmpl::TemplateError>, out: limits::Output| match result {
        Ok(()) => Ok(out.text),
        Err(e) => Err(GoTemplateError::Execute {
            template: source.to_string(),
            message: if out.overflowed {
                limits::output_too_long()
            } else {
                e.to_string()
            },
        }),
    };
    // A body of only text and defines is not stored under the name; nothing to rewrite.
    if parsed.lookup(NAME).is_none() {
        let result = parsed.missing_key(missing).execute_fmt(&mut out, data);
        return finish(result, out);
    }
    let mut rewritten = Template::new(NAME)
        .funcs(func_map().clone())
        .missing_key(missing);
    for name in parsed.templates() {
        if let Some(tree) = parsed.lookup(name) {
            let mut tree = tree.clone();
            rewrite_list(&mut tree);
            rewritten = rewritten.add_parse_tree(name, tree);
        }
    }
    let result = rewritten.execute_template_fmt(&mut out, NAME, data);
    finish(result, out)
}

/// The function map, built once.
fn func_map() -> &'static FuncMap {
    static MAP: OnceLock<FuncMap> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = FuncMap::new();
        sprig_strings::register(&mut m);
        sprig_collections::register(&mut m);
        sprig_encoding::register(&mut m);
        sprig_numbers::register(&mut m);
        printf::register(&mut m);
        m.insert(PRINT_FN.into(), Arc::new(go_print_value));
        limits::bound_all(&mut m);
        m
    })
}

/// A value as Go's `%v` prints it; nil stays nil, so an action prints `<no value>` and
/// `printf` prints `<nil>`, as in Go.
fn go_print_value(args: &[Value]) -> Result<Value, gotmpl::TemplateError> {
    Ok(match args.last() {
        None | Some(Value::Nil) => Value::Nil,
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(other) => value::string(value::go_sprint_bounded(other, "print")?),
    })
}

fn rewrite_list(list: &mut ListNode) {
    for node in &mut list.nodes {
        rewrite_node(node);
    }
}

fn rewrite_node(node: &mut Node) {
    match node {
        Node::List(list) => rewrite_list(list),
        Node::Action(action) => {
            rewrite_pipe(&mut action.pipe);
            if action.pipe.decl.is_empty() {
                let pos = action.pipe.pos;
                action.pipe.commands.push(CommandNode {
                    pos,
                    args: vec![Expr::Identifier(pos, SmolStr::new(PRINT_FN))],
                });
            }
        }
        Node::If(branch) | Node::Range(branch) | Node::With(branch) => {
            rewrite_pipe(&mut branch.pipe);
            rewrite_list(&mut branch.body);
            if let Some(other) = branch.else_body.as_mut() {
                rewrite_list(other);
            }
        }
        Node::Template(call) => {
            if let Some(pipe) = call.pipe.as_mut() {
                rewrite_pipe(pipe);
            }
        }
        Node::Define(define) => rewrite_list(&mut define.body),
        Node::Text(_) | Node::Break(_) | Node::Continue(_) => {}
    }
}

/// Rewrites `printf` calls inside a pipeline (and its nested pipelines).
fn rewrite_pipe(pipe: &mut PipeNode) {
    let mut commands = Vec::with_capacity(pipe.commands.len());
    let piped_count = pipe.commands.len();
    for (index, mut command) in std::mem::take(&mut pipe.commands).into_iter().enumerate() {
        for arg in &mut command.args {
            rewrite_expr(arg);
        }
        let receives_pipe = index > 0 && index < piped_count;
        if let Some(piped_is_v) = printf::wrap_v_args(&mut command, PRINT_FN, receives_pipe)
            && piped_is_v
        {
            // The piped value is printf's last argument: format it before it arrives.
            commands.push(CommandNode {
                pos: command.pos,
                args: vec![Expr::Identifier(command.pos, SmolStr::new(PRINT_FN))],
            });
        }
        commands.push(command);
    }
    pipe.commands = commands;
}

fn rewrite_expr(expr: &mut Expr) {
    match expr {
        Expr::Pipe(_, pipe) => rewrite_pipe(pipe),
        Expr::Chain(_, inner, _) => rewrite_expr(inner),
        _ => {}
    }
}
