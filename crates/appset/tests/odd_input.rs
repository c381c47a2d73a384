//! Templates and parameters that try to break things get an error or a bounded answer,
//! never a panic or an unbounded allocation.

// A panic in a test is a failed test.
#![allow(clippy::unwrap_used)]

use driftless_appset::gotemplate::{GoTemplateOptions, from_json, render};
use serde_json::json;

fn run(template: &str) -> Result<String, String> {
    let data = from_json(&json!({"l": ["a", "b"], "s": "abc", "n": 1e300}));
    render(template, &data, GoTemplateOptions::default()).map_err(|e| e.to_string())
}

#[test]
fn huge_or_backwards_ranges_are_errors_or_empty() {
    assert!(run("{{ until 9223372036854775807 }}").is_err());
    assert!(run("{{ seq -9223372036854775808 9223372036854775807 }}").is_err());
    assert_eq!(run("{{ seq 3 -1 5 }}").unwrap(), "");
    assert!(run(r#"{{ repeat 1000000000 "x" }}"#).is_err());
}

#[test]
fn out_of_range_arithmetic_and_slicing_are_errors() {
    assert!(run("{{ div 1 0 }}").unwrap_err().contains("divide by zero"));
    assert!(run("{{ mod 1 0 }}").is_err());
    assert!(run("{{ add 9223372036854775807 1 }}").is_err());
    assert!(run("{{ slice .l 2 1 }}").is_err());
    assert!(run("{{ index .l 9 }}").is_err());
    assert!(run(r#"{{ substr 5 2 "abc" }}"#).is_err());
    assert_eq!(run(r#"{{ trunc -100 "abc" }}"#).unwrap(), "abc");
    // A float beyond int64 saturates (Go's conversion is platform-defined there).
    assert_eq!(run("{{ int .n }}").unwrap(), i64::MAX.to_string());
}

#[test]
fn multibyte_strings_are_cut_on_character_boundaries() {
    assert_eq!(run(r#"{{ trunc 2 "éa" }}"#).unwrap(), "é");
    // Go would cut inside "é" and print invalid UTF-8; the cut widens to the character.
    assert_eq!(run(r#"{{ substr 1 3 "éa" }}"#).unwrap(), "éa");
}

#[test]
fn options_other_than_missingkey_are_refused() {
    assert!(GoTemplateOptions::parse(&["missingkey=zero".into()]).is_ok());
    assert!(
        GoTemplateOptions::parse(&["missingkey=error".into()])
            .unwrap()
            .missing_key_error
    );
    assert!(GoTemplateOptions::parse(&["nonsense".into()]).is_err());
}

#[test]
fn bad_regular_expressions_are_errors() {
    assert!(run(r#"{{ regexReplaceAll "(" .s "x" }}"#).is_err());
    assert_eq!(run(r#"{{ regexMatch "(" .s }}"#).unwrap(), "false");
}
