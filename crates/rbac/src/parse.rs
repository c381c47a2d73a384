//! Policy CSV text into rules: `p, subject, resource, action, object, effect` and
//! `g, member, role`, one a line.
//!
//! Fields split as Go's `encoding/csv` does with `TrimLeadingSpace` (what Argo CD uses): a
//! field may be quoted (`"a, b"`, with `""` for a quote) and leading blanks are dropped. Blank
//! lines and lines starting with `#` are skipped. Stricter or more lenient than Argo CD, on
//! purpose: trailing blanks of a field are dropped too (Argo CD keeps them, so `alice ` would
//! silently never match), and empty fields, effects other than `allow`/`deny` (Argo CD loads
//! them and they never take effect) and patterns that do not compile (Argo CD logs them and
//! never matches) are errors, so a policy that cannot mean what it says is refused.

use crate::pattern::{MatchMode, Pattern};
use std::collections::BTreeMap;
use thiserror::Error;

/// Where a rule was written, for errors and for explaining a denial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOrigin {
    /// The ConfigMap key (`policy.csv`, `policy.team.csv`), `the built-in policy`, or
    /// `project <name> role <role>`.
    pub source: String,
    /// 1-based line within that source (for a project role, the position in `policies`;
    /// 0 for the `projects, get` rule Argo CD implies for every role).
    pub line: usize,
}

impl std::fmt::Display for RuleOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} line {}", self.source, self.line)
    }
}

/// A policy that could not be read. Argo CD refuses a policy with a bad line as a whole
/// (`argocd admin settings rbac validate` fails, and the server cannot build an enforcer
/// from it, so its requests fail); so does this crate: nothing of a policy with an error is
/// used. Whether to keep the last good policy meanwhile is the caller's choice.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    #[error("failed to parse {origin} `{text}`: {problem}")]
    Line {
        origin: RuleOrigin,
        text: String,
        problem: LineProblem,
    },
    #[error("failed to parse `scopes` ({value:?}) as a YAML list of claim names: {reason}")]
    Scopes { value: String, reason: String },
}

/// What is wrong with one policy line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LineProblem {
    #[error("a quoted field has no closing quote")]
    UnterminatedQuote,
    #[error("a quote appears inside an unquoted field (quote the whole field)")]
    BareQuote,
    #[error("text follows the closing quote of a field")]
    TextAfterQuote,
    #[error("the rule kind `{0}` is neither `p` (a permission) nor `g` (a role assignment)")]
    UnknownKind(String),
    #[error("a `{kind}` rule has {expected} fields ({layout}), found {found}")]
    FieldCount {
        kind: &'static str,
        expected: usize,
        layout: String,
        found: usize,
    },
    #[error("the {0} field is empty")]
    EmptyField(&'static str),
    #[error("the effect `{0}` is neither `allow` nor `deny`")]
    UnknownEffect(String),
    #[error("the {field} pattern `{pattern}` does not compile: {reason}")]
    Pattern {
        field: &'static str,
        pattern: String,
        reason: String,
    },
}

/// Whether a matching `p` rule grants or refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

/// A `p` rule, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Permission {
    pub(crate) subject: String,
    pub(crate) resource: Pattern,
    pub(crate) action: Pattern,
    pub(crate) object: Pattern,
    pub(crate) effect: Effect,
    pub(crate) origin: RuleOrigin,
}

/// The rules of one or more policy texts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    pub(crate) permissions: Vec<Permission>,
    /// The `g` rules, `g, member, role`, as each member's roles: a member has every
    /// permission of its roles and of theirs in turn.
    pub(crate) roles_of: BTreeMap<String, Vec<String>>,
}

impl Rules {
    pub(crate) fn add_permission(&mut self, permission: Permission) {
        self.permissions.push(permission);
    }

    pub(crate) fn add_grant(&mut self, member: String, role: String) {
        self.roles_of.entry(member).or_default().push(role);
    }

    /// Adds the rules of `text`, which `source` names in errors; stops at the first bad line.
    pub(crate) fn add_csv(
        &mut self,
        source: &str,
        text: &str,
        mode: MatchMode,
    ) -> Result<(), PolicyError> {
        for (index, raw) in text.split('\n').enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let origin = RuleOrigin {
                source: source.to_string(),
                line: index + 1,
            };
            self.add_line(line, origin, mode)?;
        }
        Ok(())
    }

    /// Adds one non-blank, non-comment line.
    pub(crate) fn add_line(
        &mut self,
        line: &str,
        origin: RuleOrigin,
        mode: MatchMode,
    ) -> Result<(), PolicyError> {
        self.parse_line(line, &origin, mode)
            .map_err(|problem| PolicyError::Line {
                origin,
                text: line.to_string(),
                problem,
            })
    }

    fn parse_line(
        &mut self,
        line: &str,
        origin: &RuleOrigin,
        mode: MatchMode,
    ) -> Result<(), LineProblem> {
        let fields = split_fields(line)?;
        match fields[0].as_str() {
            "p" => {
                let permission = parse_permission(fields, origin, mode)?;
                self.add_permission(permission);
            }
            "g" => {
                let [_, member, role] = exact_fields(fields, GRANT_LAYOUT)?;
                self.add_grant(member, role);
            }
            other => return Err(LineProblem::UnknownKind(other.to_string())),
        }
        Ok(())
    }
}

/// The fields of each rule kind, in order; they name fields in errors.
const PERMISSION_LAYOUT: [&str; 6] = ["p", "subject", "resource", "action", "object", "effect"];
const GRANT_LAYOUT: [&str; 3] = ["g", "member", "role"];

fn parse_permission(
    fields: Vec<String>,
    origin: &RuleOrigin,
    mode: MatchMode,
) -> Result<Permission, LineProblem> {
    let [_, subject, resource, action, object, effect] = exact_fields(fields, PERMISSION_LAYOUT)?;
    let effect = match effect.as_str() {
        "allow" => Effect::Allow,
        "deny" => Effect::Deny,
        _ => return Err(LineProblem::UnknownEffect(effect)),
    };
    let pattern = |field: &'static str, text: String| {
        Pattern::compile(&text, mode).map_err(|reason| LineProblem::Pattern {
            field,
            pattern: text,
            reason,
        })
    };
    Ok(Permission {
        subject,
        resource: pattern("resource", resource)?,
        action: pattern("action", action)?,
        object: pattern("object", object)?,
        effect,
        origin: origin.clone(),
    })
}

/// The fields of a rule laid out as `layout`, none of them empty.
fn exact_fields<const N: usize>(
    fields: Vec<String>,
    layout: [&'static str; N],
) -> Result<[String; N], LineProblem> {
    let found = fields.len();
    let fields: [String; N] = fields.try_into().map_err(|_| LineProblem::FieldCount {
        kind: layout[0],
        expected: N,
        layout: layout.join(", "),
        found,
    })?;
    match fields.iter().position(String::is_empty) {
        Some(position) => Err(LineProblem::EmptyField(layout[position])),
        None => Ok(fields),
    }
}

/// Splits a line at commas outside quotes, as Go's `encoding/csv` reads one record.
fn split_fields(line: &str) -> Result<Vec<String>, LineProblem> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start();
        let (field, after) = match rest.strip_prefix('"') {
            Some(quoted) => quoted_field(quoted)?,
            None => {
                let end = rest.find(',').unwrap_or(rest.len());
                let field = &rest[..end];
                if field.contains('"') {
                    return Err(LineProblem::BareQuote);
                }
                (field.trim_end().to_string(), &rest[end..])
            }
        };
        fields.push(field);
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None => return Ok(fields),
        }
    }
}

/// Reads a quoted field (its opening quote already taken): the value, and what follows the
/// closing quote, which may only be blanks before a comma or the end of the line.
fn quoted_field(text: &str) -> Result<(String, &str), LineProblem> {
    let mut value = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '"' {
            value.push(c);
            continue;
        }
        // `""` inside quotes is one quote.
        if chars.next_if(|&(_, next)| next == '"').is_some() {
            value.push('"');
            continue;
        }
        let after = &text[at + 1..];
        let after = after.trim_start();
        return if after.is_empty() || after.starts_with(',') {
            Ok((value, after))
        } else {
            Err(LineProblem::TextAfterQuote)
        };
    }
    Err(LineProblem::UnterminatedQuote)
}
