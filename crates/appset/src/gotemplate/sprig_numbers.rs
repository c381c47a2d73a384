//! Sprig's number functions. Their arguments go through `spf13/cast` as in Go: a float is
//! truncated, a string is parsed (`0x` and leading-zero octal included) or counts as 0.

use std::sync::Arc;

use gotmpl::{FuncMap, Value};

use super::args::{FuncResult, at_least, exact, fail, string};

pub fn register(m: &mut FuncMap) {
    m.insert("int".into(), Arc::new(|a: &[Value]| to_int(a, "int")));
    m.insert("int64".into(), Arc::new(|a: &[Value]| to_int(a, "int64")));
    m.insert("float64".into(), Arc::new(float64));
    m.insert("atoi".into(), Arc::new(atoi));
    m.insert("add".into(), Arc::new(add));
    m.insert("add1".into(), Arc::new(add1));
    m.insert(
        "sub".into(),
        Arc::new(|a: &[Value]| arith(a, "sub", i64::checked_sub)),
    );
    m.insert("mul".into(), Arc::new(mul));
    m.insert(
        "div".into(),
        Arc::new(|a: &[Value]| arith(a, "div", i64::checked_div)),
    );
    m.insert(
        "mod".into(),
        Arc::new(|a: &[Value]| arith(a, "mod", i64::checked_rem)),
    );
    m.insert(
        "max".into(),
        Arc::new(|a: &[Value]| extreme(a, "max", true)),
    );
    m.insert(
        "min".into(),
        Arc::new(|a: &[Value]| extreme(a, "min", false)),
    );
}

/// `cast.ToInt64`: never fails, 0 for what it cannot read.
pub fn cast_int(value: &Value) -> i64 {
    match value {
        Value::Int(n) => *n,
        Value::Uint(n) => *n as i64,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => go_parse_int(trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// `cast.ToFloat64`.
fn cast_float(value: &Value) -> f64 {
    match value {
        Value::Int(n) => *n as f64,
        Value::Uint(n) => *n as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// `"12.000"` reads as 12, as cast does.
fn trim_zero_decimal(s: &str) -> &str {
    match s.split_once('.') {
        Some((int_part, frac)) if !frac.is_empty() && frac.bytes().all(|b| b == b'0') => int_part,
        _ => s,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`: sign, then `0x`, `0o`, `0b` or a leading-zero octal
/// prefix; underscores only after a prefix.
pub fn go_parse_int(s: &str) -> Option<i64> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (digits, radix) = if let Some(rest) = lower.strip_prefix("0x") {
        (rest.replace('_', ""), 16)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (rest.replace('_', ""), 8)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (rest.replace('_', ""), 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (lower[1..].replace('_', ""), 8)
    } else if lower.contains('_') {
        return None;
    } else {
        (lower.clone(), 10)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = i128::from_str_radix(&digits, radix).ok()?;
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).ok()
}

fn to_int(args: &[Value], name: &str) -> FuncResult {
    let args = exact(name, args, 1)?;
    Ok(Value::Int(cast_int(&args[0])))
}

fn float64(args: &[Value]) -> FuncResult {
    let args = exact("float64", args, 1)?;
    Ok(Value::Float(cast_float(&args[0])))
}

/// `strconv.Atoi`, 0 when the text is not a decimal integer.
fn atoi(args: &[Value]) -> FuncResult {
    let args = exact("atoi", args, 1)?;
    let s = string(&args[0])?;
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let valid = !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit());
    Ok(Value::Int(if valid { s.parse().unwrap_or(0) } else { 0 }))
}

fn add(args: &[Value]) -> FuncResult {
    args.iter()
        .map(cast_int)
        .try_fold(0i64, i64::checked_add)
        .map(Value::Int)
        .ok_or_else(|| fail("integer overflow in add"))
}

fn add1(args: &[Value]) -> FuncResult {
    let args = exact("add1", args, 1)?;
    cast_int(&args[0])
        .checked_add(1)
        .map(Value::Int)
        .ok_or_else(|| fail("integer overflow in add1"))
}

fn mul(args: &[Value]) -> FuncResult {
    let args = at_least("mul", args, 1)?;
    args.iter()
        .map(cast_int)
        .try_fold(1i64, i64::checked_mul)
        .map(Value::Int)
        .ok_or_else(|| fail("integer overflow in mul"))
}

/// `sub`, `div`, `mod` of two numbers; dividing by zero is an error (a panic in Go).
fn arith(args: &[Value], name: &str, op: fn(i64, i64) -> Option<i64>) -> FuncResult {
    let args = exact(name, args, 2)?;
    let (a, b) = (cast_int(&args[0]), cast_int(&args[1]));
    if b == 0 && name != "sub" {
        return Err(fail("runtime error: integer divide by zero"));
    }
    op(a, b)
        .map(Value::Int)
        .ok_or_else(|| fail(format!("integer overflow in {name}")))
}

fn extreme(args: &[Value], name: &str, largest: bool) -> FuncResult {
    let args = at_least(name, args, 1)?;
    let numbers = args.iter().map(cast_int);
    let picked = if largest {
        numbers.max()
    } else {
        numbers.min()
    };
    Ok(Value::Int(picked.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ints_like_go() {
        assert_eq!(go_parse_int("42"), Some(42));
        assert_eq!(go_parse_int("-0x1f"), Some(-31));
        assert_eq!(go_parse_int("017"), Some(15));
        assert_eq!(go_parse_int("08"), None);
        assert_eq!(go_parse_int("1_000"), None);
        assert_eq!(go_parse_int("0x1_0"), Some(16));
        assert_eq!(cast_int(&Value::String("12.00".into())), 12);
        assert_eq!(cast_int(&Value::Float(2.7)), 2);
    }
}
