//! Bounds on what one template execution may build. Argo CD sets none: Go's `text/template`
//! writes into an unbounded buffer and Sprig's `repeat`, `indent` and friends allocate
//! whatever they are asked for, so a template can make the ApplicationSet controller
//! allocate gigabytes (or, nesting lists in a loop, overflow its stack when they are
//! dropped). Here:
//!
//! - The output of one template is at most [`MAX_OUTPUT`] bytes (1.5 MiB): etcd's default
//!   request limit, so no longer field could be part of an Application the API server
//!   stores anyway. A template every field of which fits is never refused.
//! - No function returns a string longer than that; the functions whose result can be much
//!   larger than their input (`repeat`, `indent`/`nindent`, `replace`, `regexReplaceAll`,
//!   `join`, `printf` with widths or repeated argument indexes, `toJson`, `toYaml`, printing
//!   lists that hold the same big value many times) check before they allocate.
//! - No function returns a list or map of more than [`MAX_ITEMS`] entries it did not get as
//!   an argument (`splitList "" $s`, `regexFindAll`, ranges), and lists and maps nest at
//!   most [`MAX_DEPTH`] deep (generator data, read as JSON, nests 128 at most).
//! - `range` runs at most gotmpl's default of 10 million iterations per execution.

use std::sync::{Arc, Mutex, OnceLock};

use gotmpl::{FuncMap, Template, TemplateError, Value};

use super::args::{FuncResult, fail};

/// Bytes one template may print, and the longest string a function may return.
pub const MAX_OUTPUT: usize = 1_572_864;
/// Entries a function may put in a list or map it builds.
pub const MAX_ITEMS: usize = 100_000;
/// How deep lists and maps may nest.
pub const MAX_DEPTH: usize = 1_000;

/// The error for a value that would pass [`MAX_OUTPUT`].
pub fn too_long(what: &str) -> TemplateError {
    fail(format!(
        "{what}: the result would be longer than {MAX_OUTPUT} bytes (1.5 MiB), the most a template may produce"
    ))
}

/// Fails when `bytes` is over [`MAX_OUTPUT`].
pub fn check_len(what: &str, bytes: usize) -> Result<(), TemplateError> {
    if bytes > MAX_OUTPUT {
        Err(too_long(what))
    } else {
        Ok(())
    }
}

/// Where a template's output goes: refuses to grow past [`MAX_OUTPUT`].
#[derive(Debug, Default)]
pub struct Output {
    pub text: String,
    pub overflowed: bool,
}

impl std::fmt::Write for Output {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.text.len() + s.len() > MAX_OUTPUT {
            self.overflowed = true;
            return Err(std::fmt::Error);
        }
        self.text.push_str(s);
        Ok(())
    }
}

/// The message for an output that grew too long.
pub fn output_too_long() -> String {
    format!(
        "the output would be longer than {MAX_OUTPUT} bytes (1.5 MiB), more than an Application can hold"
    )
}

/// Wraps every function of `map` so that what it returns stays within the bounds above.
pub fn bound_all(map: &mut FuncMap) {
    for (name, f) in map.iter_mut() {
        let inner = f.clone();
        let name: Arc<str> = Arc::from(name.as_str());
        *f = Arc::new(move |args: &[Value]| {
            let value = inner(args)?;
            check_result(&name, args, &value)?;
            Ok(value)
        });
    }
}

/// Functions that put their arguments inside a new list or map: one level deeper.
const NESTING: [&str; 5] = ["list", "dict", "append", "push", "prepend"];

fn check_result(name: &str, args: &[Value], value: &Value) -> Result<(), TemplateError> {
    match value {
        Value::String(s) => check_len(name, s.len()),
        Value::List(_) | Value::Map(_) => {
            let len = entries(value);
            if len > MAX_ITEMS && args.iter().all(|a| entries(a) < len) {
                return Err(fail(format!(
                    "{name}: the result would have {len} entries, more than the {MAX_ITEMS} a template may build"
                )));
            }
            if NESTING.contains(&name) && deeper_than(value, MAX_DEPTH) {
                return Err(fail(format!(
                    "{name}: the result would nest lists and maps deeper than {MAX_DEPTH} levels"
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn entries(value: &Value) -> usize {
    match value {
        Value::List(items) => items.len(),
        Value::Map(map) => map.len(),
        _ => 0,
    }
}

/// True when lists and maps in `value` nest more than `limit` levels; looks no deeper.
pub fn deeper_than(value: &Value, limit: usize) -> bool {
    let children: Box<dyn Iterator<Item = &Value>> = match value {
        Value::List(items) => Box::new(items.iter()),
        Value::Map(map) => Box::new(map.values()),
        _ => return false,
    };
    if limit == 0 {
        return true;
    }
    let mut children = children;
    children.any(|child| deeper_than(child, limit - 1))
}

/// About how many bytes `value` takes printed (Go's `%v`), counted up to `limit`: the
/// strings and numbers it holds, with separators. Stops once past `limit`.
pub fn printed_len(value: &Value, limit: usize) -> usize {
    fn walk(value: &Value, total: &mut usize, limit: usize) {
        if *total > limit {
            return;
        }
        match value {
            Value::String(s) => *total += s.len(),
            Value::List(items) => {
                *total += 2;
                for item in items.iter() {
                    *total += 1;
                    walk(item, total, limit);
                    if *total > limit {
                        return;
                    }
                }
            }
            Value::Map(map) => {
                *total += 5;
                for (key, child) in map.iter() {
                    *total += key.len() + 2;
                    walk(child, total, limit);
                    if *total > limit {
                        return;
                    }
                }
            }
            // Numbers, booleans, nil: at most 24 characters.
            _ => *total += 24,
        }
    }
    let mut total = 0;
    walk(value, &mut total, limit);
    total
}

/// Go's `printf`, as gotmpl implements it, after checking that the result fits: each verb
/// prints its width (at most 65535, gotmpl's clamp) and precision plus its argument, so a
/// format repeating `%[1]65535d`, or `%[1]s` of a long string, is refused before it runs.
pub fn printf(args: &[Value]) -> FuncResult {
    let Some(Value::String(format)) = args.first() else {
        // Not a string format: gotmpl reports it.
        return gotmpl_printf(args);
    };
    let rest = &args[1..];
    let sizes: Vec<usize> = rest
        .iter()
        .map(|a| printed_len(a, MAX_OUTPUT + 1))
        .collect();
    check_len("printf", printf_bound(format, &sizes))?;
    gotmpl_printf(args)
}

/// An upper bound of what `format` prints with arguments of `sizes` bytes.
fn printf_bound(format: &str, sizes: &[usize]) -> usize {
    const MAX_WIDTH: usize = 65_535;
    let bytes = format.as_bytes();
    let mut total = 0usize;
    let mut next_arg = 0usize;
    let mut i = 0;
    let number = |i: &mut usize| {
        let mut n = 0usize;
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            n = n
                .saturating_mul(10)
                .saturating_add(usize::from(bytes[*i] - b'0'));
            *i += 1;
        }
        n.min(MAX_WIDTH)
    };
    let index = |i: &mut usize, next_arg: &mut usize| {
        if *i < bytes.len() && bytes[*i] == b'[' {
            *i += 1;
            let n = number(i);
            if *i < bytes.len() && bytes[*i] == b']' {
                *i += 1;
            }
            *next_arg = n.saturating_sub(1);
        }
    };
    while i < bytes.len() {
        if bytes[i] != b'%' {
            total += 1;
            i += 1;
            continue;
        }
        i += 1;
        while i < bytes.len() && matches!(bytes[i], b'#' | b'0' | b'+' | b'-' | b' ') {
            i += 1;
        }
        let mut width = 0;
        for part in 0..2 {
            if part == 1 {
                if i < bytes.len() && bytes[i] == b'.' {
                    i += 1;
                } else {
                    break;
                }
            }
            index(&mut i, &mut next_arg);
            if i < bytes.len() && bytes[i] == b'*' {
                i += 1;
                next_arg += 1;
                width += MAX_WIDTH;
            } else {
                width += number(&mut i);
            }
        }
        index(&mut i, &mut next_arg);
        if i >= bytes.len() {
            total += 16;
            break;
        }
        let verb = bytes[i];
        i += 1;
        if verb == b'%' {
            total += 1;
            continue;
        }
        // An argument, or `%!v(MISSING)`; 32 covers a number's digits and Go's error texts.
        let argument = sizes.get(next_arg).copied().unwrap_or(0);
        next_arg += 1;
        total = total
            .saturating_add(width)
            .saturating_add(argument.saturating_mul(if verb == b'q' { 6 } else { 2 }))
            .saturating_add(32);
        if total > MAX_OUTPUT {
            return total;
        }
    }
    // Arguments no verb used are printed as `%!(EXTRA type=value, …)`.
    if next_arg < sizes.len() {
        total = total.saturating_add(sizes[next_arg..].iter().map(|s| s + 32).sum());
    }
    total
}

/// gotmpl's own `printf` (a builtin we cannot call directly), through a one-action template
/// per argument count: `{{printf (index . 0) (index . 1) …}}`.
fn gotmpl_printf(args: &[Value]) -> FuncResult {
    static BY_ARITY: OnceLock<Mutex<Vec<Option<Arc<Template>>>>> = OnceLock::new();
    let n = args.len();
    let cached = BY_ARITY
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .ok()
        .and_then(|cache| cache.get(n).cloned().flatten());
    let template = match cached {
        Some(template) => template,
        None => {
            let call: Vec<String> = (0..n).map(|i| format!("(index . {i})")).collect();
            let template = Arc::new(
                Template::new("printf").parse(&format!("{{{{printf {}}}}}", call.join(" ")))?,
            );
            // Only small argument counts are kept; a template may not call with thousands.
            if n < 64
                && let Some(mut cache) = BY_ARITY.get().and_then(|c| c.lock().ok())
            {
                if cache.len() <= n {
                    cache.resize(n + 1, None);
                }
                cache[n] = Some(template.clone());
            }
            template
        }
    };
    let mut out = Output::default();
    let data = Value::List(args.into());
    match template.execute_fmt(&mut out, &data) {
        Ok(()) => Ok(super::value::string(out.text)),
        Err(_) if out.overflowed => Err(too_long("printf")),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{GoTemplateOptions, from_json, render};
    use std::time::{Duration, Instant};

    fn run(template: &str) -> Result<String, String> {
        let data = from_json(&serde_json::json!({"s": "abc", "l": [1, 2]}));
        render(template, &data, GoTemplateOptions::default()).map_err(|e| e.to_string())
    }

    /// Runs `template` on a thread with a small stack, as the controller's workers have,
    /// and checks it fails with `fragment` quickly.
    fn refused(template: &str, fragment: &str) {
        let text = template.to_string();
        let started = Instant::now();
        let result = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || run(&text))
            .expect("thread")
            .join()
            .expect("no crash");
        let error = result.expect_err(template);
        assert!(error.contains(fragment), "{template}: {error}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{template} took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn output_past_the_limit_is_an_error() {
        refused(
            r#"{{ range until 100000 }}{{ repeat 1000 "x" }}{{ end }}"#,
            "the output would be longer than 1572864 bytes",
        );
        let fits = run(r#"{{ range until 1000 }}{{ repeat 1000 "x" }}{{ end }}"#).expect("fits");
        assert_eq!(fits.len(), 1_000_000);
    }

    #[test]
    fn functions_that_multiply_their_input_check_before_allocating() {
        let big = r#"{{ $s := repeat 1000000 "x" }}"#;
        refused(r#"{{ repeat 1000000000 "x" }}"#, "repeat");
        let nl = "{{ $s := repeat 500000 \"\\n\" }}";
        refused(&format!("{nl}{{{{ indent 1000000 $s }}}}"), "indent");
        refused(&format!("{nl}{{{{ nindent 100 $s }}}}"), "nindent");
        refused(&format!("{big}{{{{ replace \"\" $s $s }}}}"), "replace");
        refused(
            &format!("{big}{{{{ replace \"x\" \"yy\" $s }}}}"),
            "replace",
        );
        refused(
            &format!("{big}{{{{ regexReplaceAll \"x\" $s \"$0$0$0$0\" }}}}"),
            "regexReplaceAll",
        );
        refused(&format!("{big}{{{{ join $s (list 1 2 3) }}}}"), "join");
        refused(&format!("{big}{{{{ cat $s $s }}}}"), "cat");
        // Go's printf clamps widths to 65535; repeating an argument index still multiplies.
        refused(r#"{{ printf (repeat 100000 "%[1]65535d") 1 }}"#, "printf");
        refused(
            &format!("{big}{{{{ printf \"%[1]s%[1]s\" $s }}}}"),
            "printf",
        );
        refused(
            &format!("{big}{{{{ $s | printf \"%s %[1]s\" }}}}"),
            "printf",
        );
    }

    #[test]
    fn printing_a_list_that_shares_one_big_value_is_bounded() {
        let build = r#"{{ $s := repeat 1000000 "x" }}{{ $l := list $s $s $s $s $s $s $s $s }}"#;
        for use_of in [
            "{{ $l }}",
            "{{ toJson $l }}",
            "{{ toPrettyJson $l }}",
            "{{ toYaml $l }}",
            "{{ print $l }}",
            "{{ toString $l }}",
            "{{ quote $l }}",
            "{{ printf \"%v\" $l }}",
            "{{ sha256sum (toString $l) }}",
        ] {
            refused(&format!("{build}{use_of}"), "1572864 bytes");
        }
    }

    #[test]
    fn lists_built_in_loops_are_bounded_in_size_and_depth() {
        refused(
            "{{ $l := list }}{{ range until 100000 }}{{ $l = list $l }}{{ end }}",
            "deeper than 1000 levels",
        );
        refused(
            "{{ $d := dict }}{{ range until 100000 }}{{ $d = dict \"a\" $d }}{{ end }}",
            "deeper than 1000 levels",
        );
        refused(
            r#"{{ $s := repeat 1000000 "x" }}{{ splitList "" $s }}"#,
            "more than the 100000",
        );
        // Shallow nesting and data passed through stay as they are.
        assert_eq!(run("{{ len (list (list (list 1))) }}").expect("fine"), "1");
        assert_eq!(run("{{ (dict \"a\" .l).a }}").expect("fine"), "[1 2]");
    }

    #[test]
    fn ordinary_printf_is_unchanged() {
        assert_eq!(
            run(r#"{{ printf "%s-%05d|%-4s|%.2f" .s 42 "x" 3.14159 }}"#).expect("ok"),
            "abc-00042|x   |3.14"
        );
        assert_eq!(
            run(r#"{{ .s | printf "%s/%s" "a" }}"#).expect("ok"),
            "a/abc"
        );
        assert_eq!(
            run(r#"{{ printf "%[2]s %[1]s" "a" "b" }}"#).expect("ok"),
            "b a"
        );
        assert_eq!(run(r#"{{ printf "%d%%" 5 }}"#).expect("ok"), "5%");
        assert_eq!(run(r#"{{ printf "%v" .l }}"#).expect("ok"), "[1 2]");
        assert!(run(r#"{{ printf 1 }}"#).is_err());
    }

    #[test]
    fn range_iterations_are_capped_by_gotmpl() {
        refused(
            "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}",
            "range",
        );
    }
}
