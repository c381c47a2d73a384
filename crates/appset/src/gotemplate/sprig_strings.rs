//! Sprig's string functions (and Argo CD's `normalize` and `slugify`), with Sprig's argument
//! order: the string being worked on comes last, so it can be piped in.

use std::sync::Arc;

use gotmpl::{FuncMap, Value};
use regex::Regex;

use super::args::{FuncResult, at_least, exact, fail, int, string};
use super::limits::{MAX_OUTPUT, check_len, too_long};
use super::value::{go_quote, go_sprint_bounded, string as text};
use crate::names;

/// Sprig's `strval`: strings as they are, anything else as Go's `%v` (bounded).
pub fn strval(value: &Value) -> Result<String, gotmpl::TemplateError> {
    match value {
        Value::String(s) => Ok(s.to_string()),
        other => go_sprint_bounded(other, "strval"),
    }
}

pub fn register(m: &mut FuncMap) {
    unary(m, "lower", |s| s.to_lowercase());
    unary(m, "upper", |s| s.to_uppercase());
    unary(m, "title", title);
    unary(m, "trim", |s| s.trim().to_string());
    unary(m, "nospace", |s| {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    });
    // (prefix, s) / (suffix, s) / (cutset, s): the subject string comes last.
    binary(m, "trimPrefix", |p, s| {
        s.strip_prefix(p).unwrap_or(s).to_string()
    });
    binary(m, "trimSuffix", |p, s| {
        s.strip_suffix(p).unwrap_or(s).to_string()
    });
    binary(m, "trimAll", |cut, s| {
        s.trim_matches(|c| cut.contains(c)).to_string()
    });
    binary_bool(m, "hasPrefix", |p, s| s.starts_with(p));
    binary_bool(m, "hasSuffix", |p, s| s.ends_with(p));
    binary_bool(m, "contains", |sub, s| s.contains(sub));
    m.insert("replace".into(), Arc::new(replace));
    m.insert("quote".into(), Arc::new(|a: &[Value]| quote(a, go_quote)));
    m.insert(
        "squote".into(),
        Arc::new(|a: &[Value]| quote(a, |s| format!("'{s}'"))),
    );
    m.insert("cat".into(), Arc::new(cat));
    m.insert("trunc".into(), Arc::new(trunc));
    m.insert("substr".into(), Arc::new(substr));
    m.insert("repeat".into(), Arc::new(repeat));
    m.insert("indent".into(), Arc::new(|a: &[Value]| indent(a, false)));
    m.insert("nindent".into(), Arc::new(|a: &[Value]| indent(a, true)));
    m.insert("splitList".into(), Arc::new(split_list));
    m.insert("split".into(), Arc::new(split_map));
    m.insert("toString".into(), Arc::new(to_string));
    m.insert("regexReplaceAll".into(), Arc::new(regex_replace_all));
    m.insert("regexMatch".into(), Arc::new(regex_match));
    m.insert("regexFind".into(), Arc::new(regex_find));
    m.insert("regexFindAll".into(), Arc::new(regex_find_all));
    unary(m, "normalize", names::normalize);
    m.insert("slugify".into(), Arc::new(slugify));
}

fn unary(m: &mut FuncMap, name: &'static str, f: fn(&str) -> String) {
    m.insert(
        name.into(),
        Arc::new(move |args: &[Value]| {
            let args = exact(name, args, 1)?;
            Ok(text(f(string(&args[0])?)))
        }),
    );
}

fn binary(m: &mut FuncMap, name: &'static str, f: fn(&str, &str) -> String) {
    m.insert(
        name.into(),
        Arc::new(move |args: &[Value]| {
            let args = exact(name, args, 2)?;
            Ok(text(f(string(&args[0])?, string(&args[1])?)))
        }),
    );
}

fn binary_bool(m: &mut FuncMap, name: &'static str, f: fn(&str, &str) -> bool) {
    m.insert(
        name.into(),
        Arc::new(move |args: &[Value]| {
            let args = exact(name, args, 2)?;
            Ok(Value::Bool(f(string(&args[0])?, string(&args[1])?)))
        }),
    );
}

/// Go's `strings.Title`: upper-case the first letter of every word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_separator = true;
    for c in s.chars() {
        if prev_separator {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_separator = !(c.is_alphanumeric() || c == '_');
    }
    out
}

fn replace(args: &[Value]) -> FuncResult {
    let args = exact("replace", args, 3)?;
    let (old, new, src) = (string(&args[0])?, string(&args[1])?, string(&args[2])?);
    if new.len() > old.len() {
        // Go's Replace with an empty `old` inserts `new` around every character.
        let count = if old.is_empty() {
            src.chars().count() + 1
        } else {
            src.matches(old).count()
        };
        check_len(
            "replace",
            count
                .saturating_mul(new.len() - old.len())
                .saturating_add(src.len()),
        )?;
    }
    Ok(text(src.replace(old, new)))
}

/// `quote`/`squote`: each non-nil argument quoted, joined by spaces.
fn quote(args: &[Value], wrap: fn(&str) -> String) -> FuncResult {
    let mut parts = Vec::new();
    let mut total = 0;
    for v in args.iter().filter(|v| !matches!(v, Value::Nil)) {
        let part = wrap(&strval(v)?);
        total += part.len() + 1;
        check_len("quote", total)?;
        parts.push(part);
    }
    Ok(text(parts.join(" ")))
}

fn cat(args: &[Value]) -> FuncResult {
    let mut parts = Vec::new();
    let mut total = 0;
    for v in args.iter().filter(|v| !matches!(v, Value::Nil)) {
        let part = strval(v)?;
        total += part.len() + 1;
        check_len("cat", total)?;
        parts.push(part);
    }
    Ok(text(parts.join(" ")))
}

/// `trunc n s`: the first n bytes, or with a negative n the last -n.
fn trunc(args: &[Value]) -> FuncResult {
    let args = exact("trunc", args, 2)?;
    let (n, s) = (int(&args[0])?, string(&args[1])?);
    let len = s.len() as i64;
    let out = if n < 0 && len + n > 0 {
        byte_slice(s, (len + n) as usize, s.len())
    } else if n >= 0 && len > n {
        byte_slice(s, 0, n as usize)
    } else {
        s
    };
    Ok(text(out))
}

/// `substr start end s`, Sprig's bounds: a negative start means 0, an end past the string
/// (or negative) means the end.
fn substr(args: &[Value]) -> FuncResult {
    let args = exact("substr", args, 3)?;
    let (start, end, s) = (int(&args[0])?, int(&args[1])?, string(&args[2])?);
    let len = s.len() as i64;
    let out = if start < 0 {
        byte_slice(s, 0, end.clamp(0, len) as usize)
    } else if end < 0 || end > len {
        byte_slice(s, start.min(len) as usize, s.len())
    } else if start > end {
        return Err(fail(format!("slice bounds out of range [{start}:{end}]")));
    } else {
        byte_slice(s, start as usize, end as usize)
    };
    Ok(text(out))
}

/// Slices by bytes as Go does, widened to character boundaries so the result stays UTF-8.
fn byte_slice(s: &str, mut start: usize, mut end: usize) -> &str {
    while start > 0 && !s.is_char_boundary(start) {
        start -= 1;
    }
    while end < s.len() && !s.is_char_boundary(end) {
        end += 1;
    }
    s.get(start..end).unwrap_or("")
}

fn repeat(args: &[Value]) -> FuncResult {
    let args = exact("repeat", args, 2)?;
    let (n, s) = (int(&args[0])?, string(&args[1])?);
    if n < 0 {
        return Err(fail("strings: negative Repeat count"));
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    check_len("repeat", n.saturating_mul(s.len()))?;
    Ok(text(s.repeat(n)))
}

fn indent(args: &[Value], leading_newline: bool) -> FuncResult {
    let name = if leading_newline { "nindent" } else { "indent" };
    let args = exact(name, args, 2)?;
    let (n, s) = (int(&args[0])?, string(&args[1])?);
    // Every line gets the pad: check the total before building it.
    let n = usize::try_from(n).unwrap_or(0);
    let lines = s.bytes().filter(|b| *b == b'\n').count() + 1;
    check_len(name, lines.saturating_mul(n).saturating_add(s.len() + 1))?;
    let pad = " ".repeat(n);
    let body = format!("{pad}{}", s.replace('\n', &format!("\n{pad}")));
    Ok(text(if leading_newline {
        format!("\n{body}")
    } else {
        body
    }))
}

fn split_list(args: &[Value]) -> FuncResult {
    let args = exact("splitList", args, 2)?;
    let (sep, s) = (string(&args[0])?, string(&args[1])?);
    Ok(Value::List(
        go_split(s, sep).into_iter().map(text).collect(),
    ))
}

/// `split sep s`: a map `_0`, `_1`, … of the parts.
fn split_map(args: &[Value]) -> FuncResult {
    let args = exact("split", args, 2)?;
    let (sep, s) = (string(&args[0])?, string(&args[1])?);
    let map = go_split(s, sep)
        .into_iter()
        .enumerate()
        .map(|(i, part)| (Arc::from(format!("_{i}").as_str()), text(part)))
        .collect();
    Ok(Value::Map(Arc::new(map)))
}

/// Go's `strings.Split`: an empty separator splits into characters.
fn go_split<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    if sep.is_empty() {
        return s
            .char_indices()
            .map(|(i, c)| &s[i..i + c.len_utf8()])
            .collect();
    }
    s.split(sep).collect()
}

fn to_string(args: &[Value]) -> FuncResult {
    let args = exact("toString", args, 1)?;
    Ok(text(strval(&args[0])?))
}

fn compile(pattern: &str) -> Result<Regex, gotmpl::TemplateError> {
    Regex::new(pattern).map_err(|e| fail(format!("regexp: Compile({pattern:?}): {e}")))
}

fn regex_replace_all(args: &[Value]) -> FuncResult {
    let args = exact("regexReplaceAll", args, 3)?;
    let (pattern, s, repl) = (string(&args[0])?, string(&args[1])?, string(&args[2])?);
    // Each expansion is at most the replacement plus, per `$`, the whole match: stop as soon
    // as the text so far could pass the limit (`$0$0$0…` of a long match multiplies).
    let dollars = repl.bytes().filter(|b| *b == b'$').count();
    let mut total = s.len();
    let mut over = false;
    let out = compile(pattern)?.replace_all(s, |caps: &regex::Captures<'_>| {
        let whole = caps.get(0).map_or(0, |m| m.len());
        total = total.saturating_add(repl.len().saturating_add(dollars.saturating_mul(whole)));
        if over || total > MAX_OUTPUT {
            over = true;
            return String::new();
        }
        let mut expanded = String::new();
        caps.expand(repl, &mut expanded);
        expanded
    });
    if over {
        return Err(too_long("regexReplaceAll"));
    }
    Ok(text(out))
}

fn regex_match(args: &[Value]) -> FuncResult {
    let args = exact("regexMatch", args, 2)?;
    let (pattern, s) = (string(&args[0])?, string(&args[1])?);
    // Sprig ignores a bad pattern here and answers false.
    Ok(Value::Bool(
        Regex::new(pattern).is_ok_and(|re| re.is_match(s)),
    ))
}

fn regex_find(args: &[Value]) -> FuncResult {
    let args = exact("regexFind", args, 2)?;
    let (pattern, s) = (string(&args[0])?, string(&args[1])?);
    let found = compile(pattern)?.find(s).map(|m| m.as_str().to_string());
    Ok(text(found.unwrap_or_default()))
}

fn regex_find_all(args: &[Value]) -> FuncResult {
    let args = exact("regexFindAll", args, 3)?;
    let (pattern, s, n) = (string(&args[0])?, string(&args[1])?, int(&args[2])?);
    let re = compile(pattern)?;
    let limit = if n < 0 { usize::MAX } else { n as usize };
    Ok(Value::List(
        re.find_iter(s)
            .take(limit)
            .map(|m| text(m.as_str()))
            .collect(),
    ))
}

/// Argo CD's `slugify [maxSize [smartTruncate]] name`.
fn slugify(args: &[Value]) -> FuncResult {
    let args = at_least("slugify", args, 1)?;
    let (name, options) = args.split_last().ok_or_else(|| fail("slugify: no name"))?;
    let name = string(name)?;
    let max_size = match options.first() {
        Some(v) => usize::try_from(int(v)?).map_err(|_| fail("slugify: negative size"))?,
        None => 50,
    };
    let smart = match options.get(1) {
        Some(v) => super::args::boolean(v)?,
        None => true,
    };
    if options.len() > 2 {
        return Err(fail("bad 'slugify' arguments"));
    }
    Ok(text(names::slugify(name, max_size, smart)))
}
