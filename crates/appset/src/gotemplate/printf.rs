//! Go's `print`, `println`, and the `%v` arguments of `printf`, formatted as Go's `fmt` does.

use std::sync::Arc;

use gotmpl::parse::{CommandNode, Expr, PipeNode};
use gotmpl::{FuncMap, TemplateError, Value};

use super::limits::check_len;
use super::value::{go_sprint_bounded, string as text};

pub fn register(m: &mut FuncMap) {
    m.insert("print".into(), Arc::new(|a: &[Value]| Ok(text(sprint(a)?))));
    m.insert(
        "println".into(),
        Arc::new(|a: &[Value]| Ok(text(sprintln(a)?))),
    );
    // gotmpl's printf, with its output bounded first.
    m.insert("printf".into(), Arc::new(super::limits::printf));
}

/// `fmt.Sprint`: a space between two operands when neither is a string.
fn sprint(args: &[Value]) -> Result<String, TemplateError> {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        let is_string = |v: &Value| matches!(v, Value::String(_));
        if i > 0 && !is_string(arg) && !is_string(&args[i - 1]) {
            out.push(' ');
        }
        out.push_str(&go_sprint_bounded(arg, "print")?);
        check_len("print", out.len())?;
    }
    Ok(out)
}

/// `fmt.Sprintln`: spaces between all operands and a final newline.
fn sprintln(args: &[Value]) -> Result<String, TemplateError> {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&go_sprint_bounded(arg, "println")?);
        check_len("println", out.len())?;
    }
    out.push('\n');
    Ok(out)
}

/// For `printf "<literal format>" args…`, routes each argument a plain `%v` consumes through
/// `v_fn`. Returns `None` when the command is not such a call (or the format uses `*` or
/// explicit argument indexes, left as they are), else whether the piped-in value (the
/// argument after the explicit ones, when `receives_pipe`) is consumed by a `%v`.
pub fn wrap_v_args(command: &mut CommandNode, v_fn: &str, receives_pipe: bool) -> Option<bool> {
    let is_printf =
        matches!(command.args.first(), Some(Expr::Identifier(_, name)) if name == "printf");
    if !is_printf {
        return None;
    }
    let Some(Expr::String(_, format)) = command.args.get(1) else {
        return None;
    };
    let v_args = v_argument_indexes(format)?;
    let explicit = command.args.len() - 2;
    let mut piped_is_v = false;
    for index in v_args {
        if index < explicit {
            let slot = &mut command.args[2 + index];
            let pos = slot.pos();
            let original = std::mem::replace(slot, Expr::Nil(pos));
            *slot = Expr::Pipe(
                pos,
                PipeNode {
                    pos,
                    decl: Vec::new(),
                    commands: vec![CommandNode {
                        pos,
                        args: vec![Expr::Identifier(pos, v_fn.into()), original],
                    }],
                    is_assign: false,
                },
            );
        } else if index == explicit && receives_pipe {
            piped_is_v = true;
        }
    }
    Some(piped_is_v)
}

/// The (0-based) arguments that plain `%v` verbs consume; `None` for formats with `*` or
/// `[n]`, whose argument numbering this does not follow.
fn v_argument_indexes(format: &str) -> Option<Vec<usize>> {
    let mut indexes = Vec::new();
    let mut arg = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        let mut sharp_or_plus = false;
        loop {
            match chars.peek() {
                Some('#' | '+') => {
                    sharp_or_plus = true;
                    chars.next();
                }
                Some('-' | ' ' | '0') => {
                    chars.next();
                }
                _ => break,
            }
        }
        while let Some(d) = chars.peek() {
            match d {
                '0'..='9' | '.' => {
                    chars.next();
                }
                '*' | '[' => return None,
                _ => break,
            }
        }
        match chars.next() {
            Some('%') | None => {}
            Some('v') => {
                if !sharp_or_plus {
                    indexes.push(arg);
                }
                arg += 1;
            }
            Some(_) => arg += 1,
        }
    }
    Some(indexes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_arguments_of_v_verbs() {
        assert_eq!(v_argument_indexes("%s-%v %d %5v %%"), Some(vec![1, 3]));
        assert_eq!(v_argument_indexes("%#v %+v %v"), Some(vec![2]));
        assert_eq!(v_argument_indexes("%*d %v"), None);
    }

    #[test]
    fn sprint_spaces_between_non_strings() {
        let args = [text("x"), text("y"), Value::Int(1), Value::Float(2e6)];
        assert_eq!(sprint(&args).ok().as_deref(), Some("xy1 2e+06"));
        assert_eq!(
            sprintln(&[text("a"), Value::Int(1)]).ok().as_deref(),
            Some("a 1\n")
        );
    }
}
