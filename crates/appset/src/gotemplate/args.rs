//! Argument checks for template functions, as Go's reflective call makes them: a function
//! declared with a `string` parameter refuses a number or a missing value instead of
//! converting it, and the wrong argument count is an error.

use gotmpl::{TemplateError, Value};

use super::value::go_type;

pub type FuncResult = Result<Value, TemplateError>;

/// An execution error with a message.
pub fn fail(message: impl Into<String>) -> TemplateError {
    TemplateError::Exec(message.into())
}

/// Exactly `n` arguments.
pub fn exact<'a>(name: &str, args: &'a [Value], n: usize) -> Result<&'a [Value], TemplateError> {
    if args.len() == n {
        Ok(args)
    } else {
        Err(fail(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        )))
    }
}

/// At least `n` arguments.
pub fn at_least<'a>(name: &str, args: &'a [Value], n: usize) -> Result<&'a [Value], TemplateError> {
    if args.len() >= n {
        Ok(args)
    } else {
        Err(fail(format!(
            "wrong number of args for {name}: want at least {n} got {}",
            args.len()
        )))
    }
}

/// A `string` parameter.
pub fn string(value: &Value) -> Result<&str, TemplateError> {
    match value {
        Value::String(s) => Ok(s),
        Value::Nil => Err(fail("invalid value; expected string")),
        other => Err(wrong_type("string", other)),
    }
}

/// An `int` parameter: integer literals only (a number from the parameters is a `float64`).
pub fn int(value: &Value) -> Result<i64, TemplateError> {
    match value {
        Value::Int(n) => Ok(*n),
        Value::Uint(n) => i64::try_from(*n).map_err(|_| fail("integer out of range")),
        Value::Nil => Err(fail("invalid value; expected int")),
        other => Err(wrong_type("int", other)),
    }
}

/// A `bool` parameter.
pub fn boolean(value: &Value) -> Result<bool, TemplateError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Nil => Err(fail("invalid value; expected bool")),
        other => Err(wrong_type("bool", other)),
    }
}

/// A `map[string]interface{}` parameter.
pub fn map(
    value: &Value,
) -> Result<&std::collections::BTreeMap<std::sync::Arc<str>, Value>, TemplateError> {
    match value {
        Value::Map(m) => Ok(m),
        Value::Nil => Err(fail("invalid value; expected map[string]interface {}")),
        other => Err(wrong_type("map[string]interface {}", other)),
    }
}

fn wrong_type(expected: &str, got: &Value) -> TemplateError {
    fail(format!(
        "wrong type for value; expected {expected}; got {}",
        go_type(got)
    ))
}
