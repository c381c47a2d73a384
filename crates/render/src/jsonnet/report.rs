//! Evaluator errors as one line: what went wrong and where (`file:line:column`).

use rsjsonnet_lang::lexer::LexError;
use rsjsonnet_lang::parser::ParseError;
use rsjsonnet_lang::program::{
    AnalyzeError, EvalError, EvalErrorKind, EvalStackTraceItem, LoadError,
};
use rsjsonnet_lang::span::{SpanContextId, SpanId, SpanManager};
use std::collections::HashMap;

/// A loaded source: a repository file, or a variable's code (`dir` is `None`).
pub(super) struct Source {
    pub name: String,
    pub dir: Option<String>,
    pub text: Vec<u8>,
}

type Sources = HashMap<SpanContextId, Source>;

pub(super) fn load_error(error: &LoadError, spans: &SpanManager, sources: &Sources) -> String {
    let (what, span) = match error {
        LoadError::Lex(e) => lex_error(e),
        LoadError::Parse(ParseError::Expected {
            span,
            expected,
            instead,
        }) => (
            format!("syntax error: found {instead:?}, expected one of {expected:?}"),
            *span,
        ),
        LoadError::Analyze(e) => analyze_error(e),
    };
    match location(span, spans, sources) {
        Some(at) => format!("{what} at {at}"),
        None => what,
    }
}

fn lex_error(error: &LexError) -> (String, SpanId) {
    let span = match error {
        LexError::InvalidChar { span, .. }
        | LexError::InvalidUtf8 { span, .. }
        | LexError::UnfinishedMultilineComment { span }
        | LexError::LeadingZeroInNumber { span }
        | LexError::MissingFracDigits { span }
        | LexError::MissingExpDigits { span }
        | LexError::MissingDigitAfterUnderscore { span }
        | LexError::ExpOverflow { span }
        | LexError::InvalidEscapeInString { span, .. }
        | LexError::IncompleteUnicodeEscape { span }
        | LexError::InvalidUtf16EscapeSequence { span, .. }
        | LexError::UnfinishedString { span }
        | LexError::MissingLineBreakAfterTextBlockStart { span }
        | LexError::MissingWhitespaceTextBlockStart { span }
        | LexError::InvalidTextBlockTermination { span } => *span,
    };
    (format!("syntax error: {}", variant_words(error)), span)
}

fn analyze_error(error: &AnalyzeError) -> (String, SpanId) {
    match error {
        AnalyzeError::UnknownVariable { span, name } => (format!("unknown variable {name}"), *span),
        AnalyzeError::SelfOutsideObject { self_span } => {
            ("`self` outside an object".into(), *self_span)
        }
        AnalyzeError::SuperOutsideObject { super_span } => {
            ("`super` outside an object".into(), *super_span)
        }
        AnalyzeError::DollarOutsideObject { dollar_span } => {
            ("`$` outside an object".into(), *dollar_span)
        }
        AnalyzeError::RepeatedLocalName {
            repeated_span,
            name,
            ..
        }
        | AnalyzeError::RepeatedFieldName {
            repeated_span,
            name,
            ..
        }
        | AnalyzeError::RepeatedParamName {
            repeated_span,
            name,
            ..
        } => (format!("{name} is defined twice"), *repeated_span),
        AnalyzeError::PositionalArgAfterNamed { arg_span } => {
            ("positional argument after a named one".into(), *arg_span)
        }
        AnalyzeError::TextBlockAsImportPath { span }
        | AnalyzeError::ComputedImportPath { span } => (
            "an import path must be a plain string literal".into(),
            *span,
        ),
    }
}

/// The error, where it happened (innermost place in a known file), and an import's reason.
pub(super) fn eval_error(
    error: &EvalError,
    spans: &SpanManager,
    sources: &Sources,
    import_failure: Option<String>,
) -> String {
    let (what, span) = describe(&error.kind);
    let trace = error.stack_trace.iter().rev().filter_map(trace_span);
    let at = span
        .into_iter()
        .chain(trace)
        .find_map(|s| location(s, spans, sources));
    let what = match at {
        Some(at) => format!("{what} at {at}"),
        None => what,
    };
    match (&error.kind, import_failure) {
        (EvalErrorKind::ImportFailed { .. }, Some(reason)) => format!("{what}: {reason}"),
        _ => what,
    }
}

fn describe(kind: &EvalErrorKind) -> (String, Option<SpanId>) {
    match kind {
        EvalErrorKind::StackOverflow => (
            format!(
                "max stack frames exceeded ({}): the recursion is too deep or never ends",
                super::MAX_STACK
            ),
            None,
        ),
        EvalErrorKind::InfiniteRecursion => {
            ("infinite recursion: a value depends on itself".into(), None)
        }
        EvalErrorKind::ExplicitError { span, message } => {
            (format!("error: {message}"), Some(*span))
        }
        EvalErrorKind::AssertFailed { span, message } => (
            format!("assertion failed: {}", message.as_deref().unwrap_or("")),
            Some(*span),
        ),
        EvalErrorKind::AssertEqualFailed { lhs, rhs } => {
            (format!("assertion failed: {lhs} != {rhs}"), None)
        }
        EvalErrorKind::UnknownObjectField { span, field_name } => {
            (format!("field {field_name:?} does not exist"), Some(*span))
        }
        EvalErrorKind::ImportFailed { span, path } => {
            (format!("failed to import {path:?}"), Some(*span))
        }
        EvalErrorKind::UnknownExtVar { name } => {
            (format!("undefined external variable {name:?}"), None)
        }
        EvalErrorKind::CallParamNotBound { span, param_name } => {
            (format!("missing argument {param_name:?}"), *span)
        }
        EvalErrorKind::UnknownCallParam { span, param_name } => (
            format!("the function has no parameter {param_name:?}"),
            *span,
        ),
        EvalErrorKind::InvalidBinaryOpTypes {
            span,
            op,
            lhs_type,
            rhs_type,
        } => (
            format!("operator {op:?} does not take {lhs_type:?} and {rhs_type:?}"),
            *span,
        ),
        EvalErrorKind::InvalidStdFuncArgType {
            func_name,
            arg_index,
            expected_types,
            got_type,
        } => (
            format!(
                "std.{func_name} argument {arg_index}: expected {expected_types:?}, got {got_type:?}"
            ),
            None,
        ),
        EvalErrorKind::ManifestFunction => ("a function cannot be turned into JSON".into(), None),
        EvalErrorKind::Other { span, message } => (message.clone(), *span),
        other => (variant_words(other), None),
    }
}

fn trace_span(item: &EvalStackTraceItem) -> Option<SpanId> {
    match item {
        EvalStackTraceItem::Expr { span }
        | EvalStackTraceItem::Variable { span, .. }
        | EvalStackTraceItem::Import { span } => Some(*span),
        EvalStackTraceItem::Call { span, .. }
        | EvalStackTraceItem::ArrayItem { span, .. }
        | EvalStackTraceItem::ObjectField { span, .. } => *span,
        _ => None,
    }
}

/// `file:line:column` of a span in a loaded source; `None` for the standard library.
fn location(span: SpanId, spans: &SpanManager, sources: &Sources) -> Option<String> {
    let (ctx, start, _) = spans.get_span(span);
    let source = sources.get(&ctx)?;
    let before = source.text.get(..start)?;
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Some(format!("{}:{line}:{column}", source.name))
}

/// `UnfinishedString { .. }` as "unfinished string": the variant name, in words.
fn variant_words(value: &impl std::fmt::Debug) -> String {
    let debug = format!("{value:?}");
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    let mut words = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}
