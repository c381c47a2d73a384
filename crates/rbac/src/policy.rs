//! A whole RBAC policy: argocd-rbac-cm's data read once, plus the AppProjects' roles.

use crate::builtin::{BUILTIN_POLICY_CSV, BUILTIN_SOURCE};
use crate::parse::{PolicyError, Rules};
use crate::pattern::MatchMode;
use crate::project::{
    ProjectPolicy, ProjectPolicyError, ProjectProblem, ProjectRoles, parse_role_subject,
};
use crate::subjects::Subjects;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const POLICY_CSV_KEY: &str = "policy.csv";
const DEFAULT_ROLE_KEY: &str = "policy.default";
const MATCH_MODE_KEY: &str = "policy.matchMode";
const SCOPES_KEY: &str = "scopes";

/// The claims checked besides `sub` when `scopes` is absent or empty.
const DEFAULT_SCOPES: [&str; 1] = ["groups"];

/// Argo CD's RBAC policy, ready to answer requests; see [`Policy::enforce`].
#[derive(Debug, Clone)]
pub struct Policy {
    /// The built-in policy, then argocd-rbac-cm's.
    pub(crate) rules: Rules,
    pub(crate) default_role: Option<String>,
    match_mode: MatchMode,
    scopes: Vec<String>,
    pub(crate) projects: BTreeMap<String, ProjectPolicy>,
}

impl Policy {
    /// Reads argocd-rbac-cm's `data` (an absent ConfigMap is an empty map: the built-in
    /// policy alone). Keys: `policy.csv`, then every other `policy.<name>.csv` in byte order
    /// of the key (Argo CD sorts the keys and appends them below `policy.csv`);
    /// `policy.default`, a role every request is checked under first; `policy.matchMode`;
    /// `scopes`, a YAML list of claim names. Any bad line fails the whole policy.
    pub fn from_config_map(data: &BTreeMap<String, String>) -> Result<Policy, PolicyError> {
        let match_mode = MatchMode::from_config(data.get(MATCH_MODE_KEY).map(String::as_str));
        let mut rules = Rules::default();
        // The built-in rules are globs (`*/*`), which are not even valid regular expressions:
        // they are matched as globs in either mode. (In Argo CD's regex mode they fail to
        // compile at request time and the request is refused, which leaves the built-in roles,
        // `admin` included, unusable.)
        rules.add_csv(BUILTIN_SOURCE, BUILTIN_POLICY_CSV, MatchMode::Glob)?;
        for (key, text) in policy_csv_entries(data) {
            rules.add_csv(key, text, match_mode)?;
        }
        Ok(Policy {
            rules,
            default_role: data
                .get(DEFAULT_ROLE_KEY)
                .map(|role| role.trim().to_string())
                .filter(|role| !role.is_empty()),
            match_mode,
            scopes: read_scopes(data.get(SCOPES_KEY).map(String::as_str))?,
            projects: BTreeMap::new(),
        })
    }

    /// This policy with `projects`' roles in place of any loaded before. A project whose
    /// roles fail Argo CD's checks is left out (its roles grant nothing, as when Argo CD cannot
    /// load a project's policy) and its error is returned for the caller to report.
    pub fn with_projects(mut self, projects: &[ProjectRoles]) -> (Policy, Vec<ProjectPolicyError>) {
        let mut errors = Vec::new();
        let mut seen = BTreeSet::new();
        self.projects.clear();
        for project in projects {
            if !seen.insert(project.project.as_str()) {
                errors.push(ProjectPolicyError {
                    project: project.project.clone(),
                    problem: ProjectProblem::DuplicateProject,
                });
                continue;
            }
            match ProjectPolicy::compile(project, self.match_mode) {
                Ok(compiled) => {
                    self.projects.insert(project.project.clone(), compiled);
                }
                Err(error) => errors.push(error),
            }
        }
        (self, errors)
    }

    /// The subjects a token's claims stand for, reading the claims named in `scopes`.
    pub fn subjects_from_claims(&self, claims: &Value) -> Subjects {
        Subjects::from_claims(claims, &self.scopes)
    }

    /// Whether a project token (`sub` = `proj:<project>:<role>`) is still one the project
    /// lists, by `jti` or else by `iat`. Argo CD checks this when it reads the token, before
    /// any RBAC: a token removed from the project is refused even though its role remains.
    pub fn project_token_is_listed(
        &self,
        subject: &str,
        issued_at: i64,
        token_id: Option<&str>,
    ) -> bool {
        parse_role_subject(subject).is_some_and(|(project, role)| {
            self.projects
                .get(project)
                .is_some_and(|project| project.lists_token(role, issued_at, token_id))
        })
    }

    /// `policy.default`, when set.
    pub fn default_role(&self) -> Option<&str> {
        self.default_role.as_deref()
    }

    pub fn match_mode(&self) -> MatchMode {
        self.match_mode
    }

    /// The claims whose values are a user's groups (`scopes`, default `[groups]`).
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
}

/// `policy.csv` first, then the other `policy.*.csv` keys in byte order.
fn policy_csv_entries(data: &BTreeMap<String, String>) -> impl Iterator<Item = (&str, &str)> {
    let main = data.get_key_value(POLICY_CSV_KEY);
    let overlays = data.iter().filter(|(key, _)| {
        key.as_str() != POLICY_CSV_KEY && key.starts_with("policy.") && key.ends_with(".csv")
    });
    main.into_iter()
        .chain(overlays)
        .map(|(key, text)| (key.as_str(), text.as_str()))
}

/// `scopes` as Argo CD reads it: YAML into a list of strings; absent or empty means
/// `[groups]`, while an explicit `[]` means no group claims at all.
fn read_scopes(value: Option<&str>) -> Result<Vec<String>, PolicyError> {
    match value.filter(|v| !v.trim().is_empty()) {
        None => Ok(DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()),
        Some(text) => serde_norway::from_str(text).map_err(|error| PolicyError::Scopes {
            value: text.to_string(),
            reason: error.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::LineProblem;
    use crate::parse::RuleOrigin;
    use pretty_assertions::assert_eq;

    fn config(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn error_of(entries: &[(&str, &str)]) -> PolicyError {
        Policy::from_config_map(&config(entries)).unwrap_err()
    }

    fn line_error(source: &str, line: usize, text: &str, problem: LineProblem) -> PolicyError {
        PolicyError::Line {
            origin: RuleOrigin {
                source: source.into(),
                line,
            },
            text: text.into(),
            problem,
        }
    }

    #[test]
    fn the_built_in_policy_parses_alone() {
        let policy = Policy::from_config_map(&BTreeMap::new()).unwrap();
        assert_eq!(policy.rules.permissions.len(), 42);
        assert_eq!(policy.scopes(), ["groups"]);
        assert_eq!(policy.default_role(), None);
        assert_eq!(policy.match_mode(), MatchMode::Glob);
    }

    #[test]
    fn policy_csv_comes_first_then_overlays_by_key() {
        let data = config(&[
            ("policy.b.csv", "b"),
            ("policy.csv", "main"),
            ("policy.A.csv", "A"),
            ("policy.a.csv", "a"),
            ("policy.default", "x"),
            ("policy.csv.bak", "no"),
            ("other.csv", "no"),
        ]);
        let keys: Vec<_> = policy_csv_entries(&data).map(|(key, _)| key).collect();
        assert_eq!(
            keys,
            ["policy.csv", "policy.A.csv", "policy.a.csv", "policy.b.csv"]
        );
    }

    #[test]
    fn errors_name_the_key_and_line() {
        let text = "# team roles\n\np, role:dev, applications, get, dev/*, allow\np, role:dev, applications, sync\n";
        assert_eq!(
            error_of(&[("policy.csv", "g, a, b"), ("policy.team.csv", text)]),
            line_error(
                "policy.team.csv",
                4,
                "p, role:dev, applications, sync",
                LineProblem::FieldCount {
                    kind: "p",
                    expected: 6,
                    layout: "p, subject, resource, action, object, effect".into(),
                    found: 4,
                }
            )
        );
        assert_eq!(
            error_of(&[("policy.csv", "\n\ng, a, b\ng, a\n")]).to_string(),
            "failed to parse policy.csv line 4 `g, a`: a `g` rule has 3 fields (g, member, role), found 2"
        );
    }

    #[test]
    fn malformed_lines() {
        let problem = |line: &str| match error_of(&[("policy.csv", line)]) {
            PolicyError::Line { problem, .. } => problem,
            other => panic!("unexpected {other}"),
        };
        assert_eq!(
            problem("Some comment"),
            LineProblem::UnknownKind("Some comment".into())
        );
        assert_eq!(
            problem("this\ttoo"),
            LineProblem::UnknownKind("this\ttoo".into())
        );
        assert_eq!(problem("P, a, b"), LineProblem::UnknownKind("P".into()));
        assert_eq!(
            problem(", role:x, applications, *, p/*, allow"),
            LineProblem::UnknownKind("".into())
        );
        assert_eq!(
            problem("p, role:x, applications, *, p/* allow"),
            LineProblem::FieldCount {
                kind: "p",
                expected: 6,
                layout: "p, subject, resource, action, object, effect".into(),
                found: 5
            }
        );
        assert_eq!(
            problem("p, , applications, get, */*, allow"),
            LineProblem::EmptyField("subject")
        );
        assert_eq!(
            problem("p, a, applications, get, */*,"),
            LineProblem::EmptyField("effect")
        );
        assert_eq!(
            problem("p, a, applications, get, */*, Allow"),
            LineProblem::UnknownEffect("Allow".into())
        );
        assert_eq!(
            problem(r#"p, "a, applications, get, */*, allow"#),
            LineProblem::UnterminatedQuote
        );
        assert_eq!(
            problem(r#"p, a"b, applications, get, */*, allow"#),
            LineProblem::BareQuote
        );
        assert_eq!(
            problem(r#"p, "a"b, applications, get, */*, allow"#),
            LineProblem::TextAfterQuote
        );
        assert_eq!(
            problem("p, a, applications, get, proj/[abc, allow"),
            LineProblem::Pattern {
                field: "object",
                pattern: "proj/[abc".into(),
                reason: "unclosed character class; missing ']'".into(),
            }
        );
    }

    #[test]
    fn regex_patterns_are_checked_in_regex_mode() {
        let error = error_of(&[
            ("policy.matchMode", "regex"),
            ("policy.csv", "p, a, applications, get, */*, allow"),
        ]);
        assert!(
            error
                .to_string()
                .starts_with("failed to parse policy.csv line 1 `p, a, applications, get, */*, allow`: the object pattern `*/*` does not compile:"),
            "{error}"
        );
    }

    #[test]
    fn quoted_fields_and_blanks() {
        let policy = Policy::from_config_map(&config(&[(
            "policy.csv",
            "  p,   \"role,admin\" ,  projects, delete, *, allow  \r\n#\n\t\n",
        )]))
        .unwrap();
        let last = policy.rules.permissions.last().unwrap();
        assert_eq!(last.subject, "role,admin");
        assert_eq!(last.origin.line, 1);
    }

    #[test]
    fn scopes() {
        let read = |v: &str| Policy::from_config_map(&config(&[("scopes", v)])).map(|p| p.scopes);
        assert_eq!(read("[groups, email]").unwrap(), ["groups", "email"]);
        assert_eq!(
            read("[cognito:groups, email]").unwrap(),
            ["cognito:groups", "email"]
        );
        assert_eq!(read("- groups\n- roles\n").unwrap(), ["groups", "roles"]);
        assert_eq!(read("").unwrap(), ["groups"]);
        assert!(read("[]").unwrap().is_empty());
        let error = read("groups").unwrap_err();
        assert!(matches!(error, PolicyError::Scopes { .. }), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("failed to parse `scopes` (\"groups\")"),
            "{error}"
        );
    }

    #[test]
    fn default_role_is_trimmed() {
        let policy =
            Policy::from_config_map(&config(&[("policy.default", " role:readonly\n")])).unwrap();
        assert_eq!(policy.default_role(), Some("role:readonly"));
        let blank = Policy::from_config_map(&config(&[("policy.default", "  ")])).unwrap();
        assert_eq!(blank.default_role(), None);
    }
}
