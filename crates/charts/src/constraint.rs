//! Chart version constraints as Helm and Argo CD read `targetRevision`: comparators joined by
//! spaces or commas (all must hold) and `||` (any group), partial versions and `x`/`*` wildcards,
//! `~` and `^` ranges, hyphen ranges. A pre-release version satisfies a comparator only when
//! that comparator's own version has a pre-release (so `*` never picks `2.0.0-rc.1`, while
//! `>=0.0.0-0` does).

use semver::{BuildMetadata, Prerelease, Version};
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    #[error("failed to read version constraint {constraint:?}: {reason}")]
    Invalid { constraint: String, reason: String },
}

/// A parsed constraint; [`Constraint::matches`] tests one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// Alternatives (`||`); each holds when all of its comparisons do.
    groups: Vec<Vec<Comparison>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Comparison {
    op: Op,
    version: Version,
    /// Upper end, for `NotIn` only.
    until: Option<Version>,
    /// The comparator was written with a pre-release, so pre-releases may match it.
    allows_prerelease: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// Outside `[version, until)`: `!=1.2` with a partial version.
    NotIn,
}

/// A version as written, with the parts that were left out or wildcarded.
#[derive(Debug, Clone)]
struct Partial {
    parts: Vec<u64>,
    pre: Prerelease,
}

impl Partial {
    fn is_full(&self) -> bool {
        self.parts.len() == 3
    }

    /// The lowest version the partial covers (`1.2` → `1.2.0`).
    fn lower(&self) -> Version {
        let part = |i: usize| self.parts.get(i).copied().unwrap_or(0);
        Version {
            major: part(0),
            minor: part(1),
            patch: part(2),
            pre: self.pre.clone(),
            build: BuildMetadata::EMPTY,
        }
    }

    /// The first version above the partial's range (`1.2` → `1.3.0`, `1` → `2.0.0`), or `None`
    /// when it covers everything (`*`).
    fn upper(&self) -> Option<Version> {
        let base = |major, minor, patch| Version::new(major, minor, patch);
        match self.parts.as_slice() {
            [] => None,
            [major] => Some(base(major + 1, 0, 0)),
            [major, minor] => Some(base(*major, minor + 1, 0)),
            [major, minor, patch] => Some(base(*major, *minor, patch + 1)),
            _ => None,
        }
    }
}

/// Reads a version leniently, as chart indexes hold them: an optional `v`, one to three
/// numbers (missing ones are 0), then an optional pre-release and build.
pub fn parse_version(text: &str) -> Option<Version> {
    let partial = parse_partial(text, false).ok()?;
    let build = text
        .split_once('+')
        .map(|(_, b)| BuildMetadata::new(b).ok())
        .unwrap_or(Some(BuildMetadata::EMPTY))?;
    Some(Version {
        build,
        ..partial.lower()
    })
}

/// True when `text` names one exact version (no operator, wildcard or missing part).
pub fn is_exact_version(text: &str) -> bool {
    parse_partial(text.trim(), false).is_ok_and(|p| p.is_full())
}

fn parse_partial(text: &str, wildcards: bool) -> Result<Partial, String> {
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let (core, _build) = text.split_once('+').unwrap_or((text, ""));
    let (numbers, pre) = match core.split_once('-') {
        Some((numbers, pre)) => (
            numbers,
            Prerelease::new(pre).map_err(|e| format!("bad pre-release {pre:?}: {e}"))?,
        ),
        None => (core, Prerelease::EMPTY),
    };
    let mut parts = Vec::new();
    let mut wild = false;
    for (i, part) in numbers.split('.').enumerate() {
        if i >= 3 {
            return Err(format!("{text:?} has more than three numbers"));
        }
        if matches!(part, "x" | "X" | "*") && wildcards {
            wild = true;
            continue;
        }
        if wild {
            return Err(format!("{text:?} has a number after a wildcard"));
        }
        let number = part
            .parse::<u64>()
            .map_err(|_| format!("{part:?} in {text:?} is not a number"))?;
        parts.push(number);
    }
    Ok(Partial { parts, pre })
}

const OPERATORS: [&str; 9] = ["~>", ">=", "<=", "!=", ">", "<", "=", "~", "^"];

impl Constraint {
    pub fn parse(text: &str) -> Result<Self, ConstraintError> {
        let invalid = |reason: String| ConstraintError::Invalid {
            constraint: text.to_string(),
            reason,
        };
        let mut groups = Vec::new();
        for group in text.split("||") {
            let tokens = tokens(group);
            if tokens.is_empty() {
                return Err(invalid("an alternative is empty".into()));
            }
            let mut comparisons = Vec::new();
            let mut i = 0;
            while i < tokens.len() {
                if tokens.get(i + 1).map(String::as_str) == Some("-") {
                    let upper = tokens
                        .get(i + 2)
                        .ok_or_else(|| invalid("a range `A - B` has no upper end".into()))?;
                    comparisons.extend(comparator(&format!(">={}", tokens[i])).map_err(invalid)?);
                    comparisons.extend(comparator(&format!("<={upper}")).map_err(invalid)?);
                    i += 3;
                } else {
                    comparisons.extend(comparator(&tokens[i]).map_err(invalid)?);
                    i += 1;
                }
            }
            groups.push(comparisons);
        }
        Ok(Self { groups })
    }

    pub fn matches(&self, version: &Version) -> bool {
        self.groups
            .iter()
            .any(|group| group.iter().all(|c| c.holds(version)))
    }

    /// The newest of `versions` that matches (the first written wins a tie of equal precedence).
    pub fn newest<'a, T>(&self, versions: impl IntoIterator<Item = (&'a Version, T)>) -> Option<T> {
        let mut best: Option<(&Version, T)> = None;
        for (version, item) in versions {
            if !self.matches(version) {
                continue;
            }
            let newer = best
                .as_ref()
                .is_none_or(|(b, _)| version.cmp_precedence(b) == Ordering::Greater);
            if newer {
                best = Some((version, item));
            }
        }
        best.map(|(_, item)| item)
    }
}

/// Splits on spaces and commas, joining an operator written apart from its version (`>= 1.2`).
fn tokens(group: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut pending_operator = false;
    for word in group.split([' ', ',', '\t']).filter(|w| !w.is_empty()) {
        if pending_operator && let Some(last) = out.last_mut() {
            last.push_str(word);
            pending_operator = false;
            continue;
        }
        pending_operator = OPERATORS.contains(&word);
        out.push(word.to_string());
    }
    out
}

fn comparator(token: &str) -> Result<Vec<Comparison>, String> {
    let (op, rest) = OPERATORS
        .iter()
        .find_map(|op| token.strip_prefix(op).map(|rest| (*op, rest)))
        .unwrap_or(("=", token));
    if rest.is_empty() {
        return Err(format!("{token:?} has an operator but no version"));
    }
    let partial = parse_partial(rest, true)?;
    let allows_prerelease = !partial.pre.is_empty();
    let make = |op: Op, version: Version| Comparison {
        op,
        version,
        until: None,
        allows_prerelease,
    };
    let lower = partial.lower();
    let range = |upper: Option<Version>| {
        let mut out = vec![make(Op::Ge, lower.clone())];
        out.extend(upper.map(|u| make(Op::Lt, u)));
        out
    };
    Ok(match op {
        "=" if partial.is_full() => vec![make(Op::Eq, lower)],
        "=" => range(partial.upper()),
        "!=" if partial.is_full() => vec![make(Op::Ne, lower)],
        "!=" => match partial.upper() {
            // `!=*` excludes everything.
            None => vec![make(Op::Lt, Version::new(0, 0, 0))],
            Some(until) => vec![Comparison {
                until: Some(until),
                ..make(Op::NotIn, lower)
            }],
        },
        ">" if partial.is_full() => vec![make(Op::Gt, lower)],
        ">" => match partial.upper() {
            None => vec![make(Op::Lt, Version::new(0, 0, 0))],
            Some(upper) => vec![make(Op::Ge, upper)],
        },
        ">=" => vec![make(Op::Ge, lower)],
        "<" => vec![make(Op::Lt, lower)],
        "<=" if partial.is_full() => vec![make(Op::Le, lower)],
        "<=" => match partial.upper() {
            None => vec![make(Op::Ge, Version::new(0, 0, 0))],
            Some(upper) => vec![make(Op::Lt, upper)],
        },
        "~" | "~>" => {
            let upper = match partial.parts.as_slice() {
                [] => None,
                [major] => Some(Version::new(major + 1, 0, 0)),
                [major, minor, ..] => Some(Version::new(*major, minor + 1, 0)),
            };
            range(upper)
        }
        "^" => {
            let upper = match partial.parts.as_slice() {
                [] => None,
                [0] => Some(Version::new(1, 0, 0)),
                [0, 0] => Some(Version::new(0, 1, 0)),
                [0, 0, patch] => Some(Version::new(0, 0, patch + 1)),
                [0, minor, ..] => Some(Version::new(0, minor + 1, 0)),
                [major, ..] => Some(Version::new(major + 1, 0, 0)),
            };
            range(upper)
        }
        other => return Err(format!("unknown operator {other:?}")),
    })
}

impl Comparison {
    fn holds(&self, version: &Version) -> bool {
        if !version.pre.is_empty() && !self.allows_prerelease {
            return false;
        }
        let order = version.cmp_precedence(&self.version);
        match self.op {
            Op::Eq => order == Ordering::Equal,
            Op::Ne => order != Ordering::Equal,
            Op::Gt => order == Ordering::Greater,
            Op::Ge => order != Ordering::Less,
            Op::Lt => order == Ordering::Less,
            Op::Le => order != Ordering::Greater,
            Op::NotIn => {
                order == Ordering::Less
                    || self
                        .until
                        .as_ref()
                        .is_some_and(|u| version.cmp_precedence(u) != Ordering::Less)
            }
        }
    }
}

#[cfg(test)]
mod tests;
