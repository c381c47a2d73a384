//! Label selectors as `kubectl -l` writes them: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
//! `a notin (x,y)`, `a`, `!a`, joined by commas. Pure.

use kube::core::{Expression, Selector};
use std::collections::BTreeSet;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("failed to read the label selector {selector:?}: {reason}")]
pub struct SelectorError {
    pub selector: String,
    pub reason: String,
}

pub fn parse(text: &str) -> Result<Selector, SelectorError> {
    let error = |reason: &str| SelectorError {
        selector: text.to_string(),
        reason: reason.to_string(),
    };
    let mut expressions = Vec::new();
    for requirement in split_top_level(text) {
        let requirement = requirement.trim();
        if requirement.is_empty() {
            continue;
        }
        let expression = if let Some(key) = requirement.strip_prefix('!') {
            Expression::DoesNotExist(key.trim().to_string())
        } else if let Some((key, value)) = requirement.split_once("!=") {
            Expression::NotEqual(key.trim().to_string(), value.trim().to_string())
        } else if let Some((key, value)) = requirement
            .split_once("==")
            .or_else(|| requirement.split_once('='))
        {
            Expression::Equal(key.trim().to_string(), value.trim().to_string())
        } else if let Some((key, values)) = set_requirement(requirement, " notin ") {
            Expression::NotIn(key, values.map_err(&error)?)
        } else if let Some((key, values)) = set_requirement(requirement, " in ") {
            Expression::In(key, values.map_err(&error)?)
        } else if requirement.contains(char::is_whitespace) || requirement.contains('(') {
            return Err(error(
                "expected key, !key, key=value, key!=value, key in (…) or key notin (…)",
            ));
        } else {
            Expression::Exists(requirement.to_string())
        };
        expressions.push(expression);
    }
    Ok(expressions.into_iter().collect())
}

fn set_requirement(
    requirement: &str,
    operator: &str,
) -> Option<(String, Result<BTreeSet<String>, &'static str>)> {
    let (key, rest) = requirement.split_once(operator)?;
    let values = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(|inner| {
            inner
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        })
        .ok_or("a set of values is written (a,b)");
    Some((key.trim().to_string(), values))
}

/// Splits at commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::SelectorExt;
    use std::collections::BTreeMap;

    #[test]
    fn selectors_match_as_kubectl_reads_them() {
        let labels: BTreeMap<String, String> = [("team", "pay"), ("tier", "web")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let cases = [
            ("team=pay", true),
            ("team==pay", true),
            ("team!=pay", false),
            ("team in (pay, search)", true),
            ("team notin (pay)", false),
            ("tier,team=pay", true),
            ("!tier", false),
            ("!env", true),
            ("team in (pay,search),tier=db", false),
            ("", true),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).unwrap().matches(&labels), expected, "{text}");
        }
        assert!(parse("team in pay").is_err());
        assert!(parse("team pay").is_err());
    }
}
