//! Sprig's list, dict and default functions. Values are immutable here, so `set` and
//! `unset` (which mutate a dict in Go) are not provided; `merge` returns the merged dict.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::{FuncMap, Value};

use super::args::{FuncResult, at_least, boolean, exact, fail, int, map, string};
use super::limits::check_len;
use super::sprig_numbers::cast_int;
use super::sprig_strings::strval;
use super::value::{go_type, is_empty, string as text};

type Dict = BTreeMap<Arc<str>, Value>;

pub fn register(m: &mut FuncMap) {
    m.insert(
        "list".into(),
        Arc::new(|a: &[Value]| Ok(Value::List(a.into()))),
    );
    m.insert(
        "first".into(),
        Arc::new(|a: &[Value]| pick_end(a, "first", true)),
    );
    m.insert(
        "last".into(),
        Arc::new(|a: &[Value]| pick_end(a, "last", false)),
    );
    m.insert(
        "rest".into(),
        Arc::new(|a: &[Value]| drop_end(a, "rest", true)),
    );
    m.insert(
        "initial".into(),
        Arc::new(|a: &[Value]| drop_end(a, "initial", false)),
    );
    // Sprig's `slice` replaces Go's builtin: lists only, indexes read with `cast`.
    m.insert("slice".into(), Arc::new(slice));
    m.insert("has".into(), Arc::new(has));
    m.insert("without".into(), Arc::new(without));
    m.insert("uniq".into(), Arc::new(uniq));
    m.insert(
        "append".into(),
        Arc::new(|a: &[Value]| push(a, "append", false)),
    );
    m.insert(
        "push".into(),
        Arc::new(|a: &[Value]| push(a, "push", false)),
    );
    m.insert(
        "prepend".into(),
        Arc::new(|a: &[Value]| push(a, "prepend", true)),
    );
    m.insert("concat".into(), Arc::new(concat));
    m.insert("reverse".into(), Arc::new(reverse));
    m.insert("compact".into(), Arc::new(compact));
    m.insert("sortAlpha".into(), Arc::new(sort_alpha));
    m.insert("join".into(), Arc::new(join));
    m.insert("until".into(), Arc::new(until));
    m.insert("seq".into(), Arc::new(seq));
    m.insert("dict".into(), Arc::new(dict));
    m.insert("get".into(), Arc::new(get));
    m.insert("hasKey".into(), Arc::new(has_key));
    m.insert("keys".into(), Arc::new(keys));
    m.insert("values".into(), Arc::new(values));
    m.insert(
        "pick".into(),
        Arc::new(|a: &[Value]| select_keys(a, "pick", true)),
    );
    m.insert(
        "omit".into(),
        Arc::new(|a: &[Value]| select_keys(a, "omit", false)),
    );
    m.insert(
        "merge".into(),
        Arc::new(|a: &[Value]| merge(a, "merge", false)),
    );
    m.insert(
        "mergeOverwrite".into(),
        Arc::new(|a: &[Value]| merge(a, "mergeOverwrite", true)),
    );
    m.insert("dig".into(), Arc::new(dig));
    m.insert("default".into(), Arc::new(default));
    m.insert("empty".into(), Arc::new(empty));
    m.insert("coalesce".into(), Arc::new(coalesce));
    m.insert("ternary".into(), Arc::new(ternary));
    m.insert("fail".into(), Arc::new(fail_fn));
}

fn list<'a>(value: &'a Value, name: &str) -> Result<&'a [Value], gotmpl::TemplateError> {
    match value {
        Value::List(items) => Ok(items),
        other => Err(fail(format!("Cannot {name} on type {}", go_type(other)))),
    }
}

fn pick_end(args: &[Value], name: &str, first: bool) -> FuncResult {
    let args = exact(name, args, 1)?;
    let items = list(&args[0], &format!("find {name}"))?;
    let picked = if first { items.first() } else { items.last() };
    Ok(picked.cloned().unwrap_or(Value::Nil))
}

fn drop_end(args: &[Value], name: &str, from_front: bool) -> FuncResult {
    let args = exact(name, args, 1)?;
    let items = list(&args[0], &format!("find {name}"))?;
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let kept = if from_front {
        &items[1..]
    } else {
        &items[..items.len() - 1]
    };
    Ok(Value::List(kept.into()))
}

fn slice(args: &[Value]) -> FuncResult {
    let args = at_least("slice", args, 1)?;
    let items = match &args[0] {
        Value::List(items) => items,
        other => {
            return Err(fail(format!(
                "list should be type of slice or array but {}",
                go_kind(other)
            )));
        }
    };
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let start = args.get(1).map(cast_int).unwrap_or(0);
    let end = args.get(2).map(cast_int).unwrap_or(items.len() as i64);
    let in_range = 0 <= start && start <= end && end <= items.len() as i64;
    if !in_range {
        return Err(fail(format!("slice bounds out of range [{start}:{end}]")));
    }
    Ok(Value::List(items[start as usize..end as usize].into()))
}

/// Go's `reflect.Kind` name of a value.
fn go_kind(value: &Value) -> &'static str {
    match value {
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Nil => "invalid",
        Value::Float(_) => "float64",
        other => go_type(other),
    }
}

fn has(args: &[Value]) -> FuncResult {
    let args = exact("has", args, 2)?;
    match &args[1] {
        Value::Nil => Ok(Value::Bool(false)),
        haystack => Ok(Value::Bool(
            list(haystack, "find has")?.iter().any(|v| v == &args[0]),
        )),
    }
}

fn without(args: &[Value]) -> FuncResult {
    let args = at_least("without", args, 1)?;
    let items = list(&args[0], "find without")?;
    let omit = &args[1..];
    Ok(Value::List(
        items
            .iter()
            .filter(|v| !omit.contains(v))
            .cloned()
            .collect(),
    ))
}

fn uniq(args: &[Value]) -> FuncResult {
    let args = exact("uniq", args, 1)?;
    let mut out: Vec<Value> = Vec::new();
    for v in list(&args[0], "find uniq")? {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    Ok(Value::List(out.into()))
}

fn push(args: &[Value], name: &str, front: bool) -> FuncResult {
    let args = exact(name, args, 2)?;
    let mut out: Vec<Value> = list(&args[0], name)?.to_vec();
    if front {
        out.insert(0, args[1].clone());
    } else {
        out.push(args[1].clone());
    }
    Ok(Value::List(out.into()))
}

fn concat(args: &[Value]) -> FuncResult {
    let mut out = Vec::new();
    for arg in args {
        out.extend(list(arg, "concat")?.iter().cloned());
    }
    Ok(Value::List(out.into()))
}

fn reverse(args: &[Value]) -> FuncResult {
    let args = exact("reverse", args, 1)?;
    let mut out = list(&args[0], "find reverse")?.to_vec();
    out.reverse();
    Ok(Value::List(out.into()))
}

fn compact(args: &[Value]) -> FuncResult {
    let args = exact("compact", args, 1)?;
    let items = list(&args[0], "compact")?;
    Ok(Value::List(
        items.iter().filter(|v| !is_empty(v)).cloned().collect(),
    ))
}

/// Sprig's `strslice`: a list's non-nil items as strings; a single value as one string.
/// `sep` bytes go between the items (for `join`); all of it within the output limit, since
/// a list may hold one long string many times.
fn strslice(value: &Value, name: &str, sep: usize) -> Result<Vec<String>, gotmpl::TemplateError> {
    let items: Vec<&Value> = match value {
        Value::List(items) => items.iter().filter(|v| !matches!(v, Value::Nil)).collect(),
        Value::Nil => Vec::new(),
        other => vec![other],
    };
    let mut out = Vec::with_capacity(items.len());
    let mut total = 0usize;
    for item in items {
        let part = strval(item)?;
        total = total.saturating_add(part.len()).saturating_add(sep);
        check_len(name, total)?;
        out.push(part);
    }
    Ok(out)
}

fn sort_alpha(args: &[Value]) -> FuncResult {
    let args = exact("sortAlpha", args, 1)?;
    let mut items = strslice(&args[0], "sortAlpha", 0)?;
    items.sort();
    Ok(Value::List(items.into_iter().map(text).collect()))
}

fn join(args: &[Value]) -> FuncResult {
    let args = exact("join", args, 2)?;
    let sep = string(&args[0])?;
    Ok(text(strslice(&args[1], "join", sep.len())?.join(sep)))
}

/// A bound on generated ranges, so a template cannot allocate without limit.
const MAX_RANGE: i64 = 100_000;

fn int_range(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, gotmpl::TemplateError> {
    // i128: no overflow whatever the template asks for.
    let (start, stop, step) = (i128::from(start), i128::from(stop), i128::from(step));
    if step == 0 || (stop - start).abs() / step.abs() > i128::from(MAX_RANGE) {
        return Err(fail("range too large"));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i64::try_from(i).map_err(|_| fail("range out of bounds"))?);
        i += step;
    }
    Ok(out)
}

fn until(args: &[Value]) -> FuncResult {
    let args = exact("until", args, 1)?;
    let count = int(&args[0])?;
    let step = if count < 0 { -1 } else { 1 };
    Ok(Value::List(
        int_range(0, count, step)?
            .into_iter()
            .map(Value::Int)
            .collect(),
    ))
}

/// Sprig's `seq`: like the shell's, numbers joined by spaces.
fn seq(args: &[Value]) -> FuncResult {
    let params: Vec<i64> = args.iter().map(int).collect::<Result<_, _>>()?;
    let numbers = match params.as_slice() {
        [] => Vec::new(),
        [end] => {
            if *end < 1 {
                int_range(1, end.saturating_sub(1), -1)?
            } else {
                int_range(1, end.saturating_add(1), 1)?
            }
        }
        [start, end] => {
            if end < start {
                int_range(*start, end.saturating_sub(1), -1)?
            } else {
                int_range(*start, end.saturating_add(1), 1)?
            }
        }
        [start, step, end] => {
            if (end < start && *step >= 0) || (end > start && *step <= 0) {
                Vec::new()
            } else if end < start {
                int_range(*start, end.saturating_sub(1), *step)?
            } else {
                int_range(*start, end.saturating_add(1), *step)?
            }
        }
        _ => return Err(fail("wrong number of args for seq")),
    };
    let parts: Vec<String> = numbers.iter().map(i64::to_string).collect();
    Ok(text(parts.join(" ")))
}

fn dict(args: &[Value]) -> FuncResult {
    let mut out = Dict::new();
    for pair in args.chunks(2) {
        let key = Arc::from(strval(&pair[0])?.as_str());
        let value = pair.get(1).cloned().unwrap_or_else(|| text(""));
        out.insert(key, value);
    }
    Ok(Value::Map(Arc::new(out)))
}

fn get(args: &[Value]) -> FuncResult {
    let args = exact("get", args, 2)?;
    let (d, key) = (map(&args[0])?, string(&args[1])?);
    Ok(d.get(key).cloned().unwrap_or_else(|| text("")))
}

fn has_key(args: &[Value]) -> FuncResult {
    let args = exact("hasKey", args, 2)?;
    let (d, key) = (map(&args[0])?, string(&args[1])?);
    Ok(Value::Bool(d.contains_key(key)))
}

/// The keys of every dict given, sorted (Go returns them in random order).
fn keys(args: &[Value]) -> FuncResult {
    let mut out: Vec<Value> = Vec::new();
    for arg in args {
        out.extend(map(arg)?.keys().map(|k| Value::String(k.clone())));
    }
    Ok(Value::List(out.into()))
}

/// The values of a dict, in key order (Go returns them in random order).
fn values(args: &[Value]) -> FuncResult {
    let args = exact("values", args, 1)?;
    Ok(Value::List(map(&args[0])?.values().cloned().collect()))
}

fn select_keys(args: &[Value], name: &str, keep: bool) -> FuncResult {
    let args = at_least(name, args, 1)?;
    let d = map(&args[0])?;
    let chosen: Vec<&str> = args[1..].iter().map(string).collect::<Result<_, _>>()?;
    let out: Dict = d
        .iter()
        .filter(|(k, _)| chosen.contains(&k.as_ref()) == keep)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Value::Map(Arc::new(out)))
}

/// `merge dst src…` keeps what `dst` has; `mergeOverwrite` lets later dicts win. Nested
/// dicts merge key by key, as mergo does.
fn merge(args: &[Value], name: &str, overwrite: bool) -> FuncResult {
    let args = at_least(name, args, 1)?;
    let mut out = map(&args[0])?.clone();
    for src in &args[1..] {
        merge_into(&mut out, map(src)?, overwrite);
    }
    Ok(Value::Map(Arc::new(out)))
}

fn merge_into(dst: &mut Dict, src: &Dict, overwrite: bool) {
    for (k, v) in src {
        match (dst.get_mut(k), v) {
            (Some(Value::Map(d)), Value::Map(s)) => {
                let mut merged = d.as_ref().clone();
                merge_into(&mut merged, s, overwrite);
                *d = Arc::new(merged);
            }
            (Some(existing), _) => {
                if overwrite || is_empty(existing) {
                    *existing = v.clone();
                }
            }
            (None, _) => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `dig "a" "b" default dict`: the value at a path of keys, or the default.
fn dig(args: &[Value]) -> FuncResult {
    let args = at_least("dig", args, 3)?;
    let (d, rest) = args.split_last().ok_or_else(|| fail("dig: no dict"))?;
    let (fallback, path) = rest.split_last().ok_or_else(|| fail("dig: no default"))?;
    let mut current = d.clone();
    for key in path {
        let key = string(key)?;
        let next = match &current {
            Value::Map(m) => m.get(key).cloned(),
            _ => None,
        };
        match next {
            Some(v) => current = v,
            None => return Ok(fallback.clone()),
        }
    }
    Ok(current)
}

fn default(args: &[Value]) -> FuncResult {
    let args = at_least("default", args, 1)?;
    match args.get(1) {
        Some(given) if !is_empty(given) => Ok(given.clone()),
        _ => Ok(args[0].clone()),
    }
}

fn empty(args: &[Value]) -> FuncResult {
    let args = exact("empty", args, 1)?;
    Ok(Value::Bool(is_empty(&args[0])))
}

fn coalesce(args: &[Value]) -> FuncResult {
    Ok(args
        .iter()
        .find(|v| !is_empty(v))
        .cloned()
        .unwrap_or(Value::Nil))
}

fn ternary(args: &[Value]) -> FuncResult {
    let args = exact("ternary", args, 3)?;
    Ok(if boolean(&args[2])? {
        args[0].clone()
    } else {
        args[1].clone()
    })
}

fn fail_fn(args: &[Value]) -> FuncResult {
    let args = exact("fail", args, 1)?;
    Err(fail(string(&args[0])?.to_string()))
}
