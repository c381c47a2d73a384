//! AppProject roles (`spec.roles`): each role is the subject `proj:<project>:<role>`, its
//! `policies` are `p` rules for that subject, and each of its `groups` is a member of it.
//!
//! Argo CD keeps these rules from reaching outside their project twice over, and so does this
//! crate: a project's rules are only consulted for requests on that project's objects (see
//! `Policy::enforce`), and every policy line must pass the checks Argo CD's API applies to an
//! AppProject (`validatePolicy`): the subject is the role itself, the resource is one a
//! project scopes, and the object is `<project>/<app>` or `<project>/<namespace>/<app>` (`*`
//! allowed in either part). A project failing them loads no role at all and its error is
//! returned: that is Argo CD's own fallback for a project policy it cannot load, and loading
//! the rest could drop a `deny` line and grant more than was written.

use crate::parse::{Effect, Permission, PolicyError, RuleOrigin, Rules};
use crate::pattern::{MatchMode, Pattern};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// One AppProject's roles: its name and `spec.roles`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ProjectRoles {
    pub project: String,
    pub roles: Vec<ProjectRole>,
}

/// One entry of `spec.roles` (it deserializes from the AppProject's JSON as it stands).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProjectRole {
    pub name: String,
    /// `p, proj:<project>:<role>, <resource>, <action>, <object>, <effect>` lines.
    pub policies: Vec<String>,
    /// SSO groups (claim values) that hold this role.
    pub groups: Vec<String>,
    /// Tokens issued for the role. Argo CD 3.x accepts a project token only when it is listed
    /// in `status.jwtTokensByRole[<role>]`; pass those here (`spec.roles[].jwtTokens` is the
    /// legacy copy).
    pub jwt_tokens: Vec<ProjectToken>,
}

/// An issued project token, as `jwtTokens` records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ProjectToken {
    /// Issued at, seconds since the epoch (the token's `iat`).
    pub iat: i64,
    /// The token's `jti`, for tokens issued with one.
    pub id: Option<String>,
}

/// A project whose roles could not be loaded; none of its roles grant anything.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("failed to load the roles of project `{project}`: {problem}")]
pub struct ProjectPolicyError {
    pub project: String,
    pub problem: ProjectProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProjectProblem {
    #[error("another project has the same name")]
    DuplicateProject,
    #[error(
        "the role name `{0}` may only hold letters, digits, `-` and `_`, and must start and end with a letter or digit"
    )]
    InvalidRoleName(String),
    #[error("the role `{0}` is defined twice")]
    DuplicateRole(String),
    #[error("role `{role}` lists the policy `{policy}` twice")]
    DuplicatePolicy { role: String, policy: String },
    #[error("role `{role}`, policy `{policy}`: {problem}")]
    InvalidPolicy {
        role: String,
        policy: String,
        problem: RolePolicyProblem,
    },
    #[error("role `{role}`, group `{group}`: {problem}")]
    InvalidGroup {
        role: String,
        group: String,
        problem: &'static str,
    },
}

/// Why a role's policy line is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RolePolicyProblem {
    #[error("it must read `p, {subject}, <resource>, <action>, <object>, <effect>`")]
    NotAPermission { subject: String },
    #[error("the subject must be the role itself, `{expected}`, not `{found}`")]
    WrongSubject { expected: String, found: String },
    #[error(
        "the resource must be one a project scopes (applications, applicationsets, repositories, clusters, logs, exec), not `{0}`"
    )]
    ResourceNotInProject(String),
    #[error(
        "the action must be get, create, update, delete, sync, override, rollback, *, action/…, update/… or delete/…, not `{0}`"
    )]
    InvalidAction(String),
    #[error(
        "the object must be `{project}/*`, `{project}/<app>` or `{project}/<namespace>/<app>`, not `{found}`"
    )]
    ObjectOutsideProject { project: String, found: String },
    #[error("the effect must be `allow` or `deny`, not `{0}`")]
    InvalidEffect(String),
    #[error("{0}")]
    Unreadable(PolicyError),
}

/// A project's roles, compiled.
#[derive(Debug, Clone)]
pub(crate) struct ProjectPolicy {
    pub(crate) name: String,
    pub(crate) rules: Rules,
    /// Each role's issued tokens.
    tokens: BTreeMap<String, Vec<ProjectToken>>,
}

impl ProjectPolicy {
    /// Checks and compiles `project`'s roles, the way Argo CD builds a project's runtime
    /// policy (`ProjectPoliciesString`).
    pub(crate) fn compile(
        project: &ProjectRoles,
        mode: MatchMode,
    ) -> Result<ProjectPolicy, ProjectPolicyError> {
        let failed = |problem| ProjectPolicyError {
            project: project.project.clone(),
            problem,
        };
        let mut rules = Rules::default();
        let mut role_names = BTreeSet::new();
        for role in &project.roles {
            if !is_valid_role_name(&role.name) {
                return Err(failed(ProjectProblem::InvalidRoleName(role.name.clone())));
            }
            if !role_names.insert(role.name.as_str()) {
                return Err(failed(ProjectProblem::DuplicateRole(role.name.clone())));
            }
            let subject = role_subject(&project.project, &role.name);
            // Every role may read its own project (Argo CD adds this rule itself).
            rules.add_permission(Permission {
                subject: subject.clone(),
                resource: Pattern::Exact("projects".into()),
                action: Pattern::Exact("get".into()),
                object: Pattern::Exact(project.project.clone()),
                effect: Effect::Allow,
                origin: RuleOrigin {
                    source: format!("project {} role {} (implied)", project.project, role.name),
                    line: 0,
                },
            });
            let mut seen = BTreeSet::new();
            for (index, policy) in role.policies.iter().enumerate() {
                if !seen.insert(policy.as_str()) {
                    return Err(failed(ProjectProblem::DuplicatePolicy {
                        role: role.name.clone(),
                        policy: policy.clone(),
                    }));
                }
                let origin = RuleOrigin {
                    source: format!("project {} role {}", project.project, role.name),
                    line: index + 1,
                };
                check_role_policy(&project.project, &subject, policy)
                    .and_then(|()| {
                        rules
                            .add_line(policy.trim(), origin, mode)
                            .map_err(RolePolicyProblem::Unreadable)
                    })
                    .map_err(|problem| {
                        failed(ProjectProblem::InvalidPolicy {
                            role: role.name.clone(),
                            policy: policy.clone(),
                            problem,
                        })
                    })?;
            }
            for group in &role.groups {
                let member = group_member(group).map_err(|problem| {
                    failed(ProjectProblem::InvalidGroup {
                        role: role.name.clone(),
                        group: group.clone(),
                        problem,
                    })
                })?;
                rules.add_grant(member, subject.clone());
            }
        }
        Ok(ProjectPolicy {
            name: project.project.clone(),
            rules,
            tokens: project
                .roles
                .iter()
                .map(|role| (role.name.clone(), role.jwt_tokens.clone()))
                .collect(),
        })
    }

    /// Whether `role` lists a token with this `jti` or, failing that, this `iat` (Argo CD's
    /// `GetJWTToken`: tokens issued before ids existed are known by their issue time).
    pub(crate) fn lists_token(&self, role: &str, issued_at: i64, token_id: Option<&str>) -> bool {
        self.tokens
            .get(role)
            .is_some_and(|tokens| token_listed(tokens, issued_at, token_id))
    }
}

impl ProjectRoles {
    /// Whether `role` lists a token with this `jti` or, failing that, this `iat`, as a loaded
    /// policy would answer ([`crate::Policy::project_token_is_listed`]), for a caller that
    /// has the project but not the policy.
    pub fn lists_token(&self, role: &str, issued_at: i64, token_id: Option<&str>) -> bool {
        self.roles
            .iter()
            .filter(|r| r.name == role)
            .any(|r| token_listed(&r.jwt_tokens, issued_at, token_id))
    }
}

fn token_listed(tokens: &[ProjectToken], issued_at: i64, token_id: Option<&str>) -> bool {
    let by_id = token_id
        .filter(|id| !id.is_empty())
        .is_some_and(|id| tokens.iter().any(|token| token.id.as_deref() == Some(id)));
    by_id || tokens.iter().any(|token| token.iat == issued_at)
}

/// The subject a project role's rules are written for.
pub(crate) fn role_subject(project: &str, role: &str) -> String {
    format!("proj:{project}:{role}")
}

/// `proj:<project>:<role>` split into its project and role (exactly three `:` parts, as
/// Argo CD's `GetProjectRoleFromSubject`).
pub(crate) fn parse_role_subject(subject: &str) -> Option<(&str, &str)> {
    let mut parts = subject.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("proj"), Some(project), Some(role), None) => Some((project, role)),
        _ => None,
    }
}

/// Resources whose objects start with a project name, so a project role may grant them.
const PROJECT_SCOPED_RESOURCES: [&str; 6] = [
    "applications",
    "applicationsets",
    "repositories",
    "clusters",
    "logs",
    "exec",
];

/// Argo CD's `validatePolicy`: split at every comma (no quoting) and trimmed of spaces.
fn check_role_policy(project: &str, subject: &str, policy: &str) -> Result<(), RolePolicyProblem> {
    let fields: Vec<&str> = policy.split(',').map(|f| f.trim_matches(' ')).collect();
    let [kind, found_subject, resource, action, object, effect] = fields[..] else {
        return Err(RolePolicyProblem::NotAPermission {
            subject: subject.to_string(),
        });
    };
    if kind != "p" {
        return Err(RolePolicyProblem::NotAPermission {
            subject: subject.to_string(),
        });
    }
    if found_subject != subject {
        return Err(RolePolicyProblem::WrongSubject {
            expected: subject.to_string(),
            found: found_subject.to_string(),
        });
    }
    if !PROJECT_SCOPED_RESOURCES.contains(&resource) {
        return Err(RolePolicyProblem::ResourceNotInProject(
            resource.to_string(),
        ));
    }
    if !is_valid_role_action(action) {
        return Err(RolePolicyProblem::InvalidAction(action.to_string()));
    }
    if !is_project_object(project, object) {
        return Err(RolePolicyProblem::ObjectOutsideProject {
            project: project.to_string(),
            found: object.to_string(),
        });
    }
    if effect != "allow" && effect != "deny" {
        return Err(RolePolicyProblem::InvalidEffect(effect.to_string()));
    }
    Ok(())
}

/// Argo CD accepts the plain actions and anything containing `action/`, `update/` or
/// `delete/` (its patterns are unanchored regular expressions).
fn is_valid_role_action(action: &str) -> bool {
    const PLAIN: [&str; 8] = [
        "get", "create", "update", "delete", "sync", "override", "rollback", "*",
    ];
    PLAIN.contains(&action)
        || ["action/", "update/", "delete/"]
            .iter()
            .any(|p| action.contains(p))
}

/// `^<project>(/[*\w.-]+)?/[*\w.-]+$`: the project, then one or two parts of word
/// characters, `.`, `-` or `*`.
fn is_project_object(project: &str, object: &str) -> bool {
    let Some(rest) = object
        .strip_prefix(project)
        .and_then(|rest| rest.strip_prefix('/'))
    else {
        return false;
    };
    let is_part = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '*'))
    };
    let parts: Vec<&str> = rest.split('/').collect();
    matches!(parts[..], [app] if is_part(app))
        || matches!(parts[..], [namespace, app] if is_part(namespace) && is_part(app))
}

/// `^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$`.
fn is_valid_role_name(name: &str) -> bool {
    let alphanumeric = |c: char| c.is_ascii_alphanumeric();
    name.starts_with(alphanumeric)
        && name.ends_with(alphanumeric)
        && name
            .chars()
            .all(|c| alphanumeric(c) || c == '-' || c == '_')
}

/// The member a role's `groups` entry makes, checked as Argo CD's `validateGroupName`: a
/// group holding a comma must be quoted (the quotes are not part of it), and none may be
/// empty, hold quotes, tabs or line breaks, or start or end with a blank.
fn group_member(group: &str) -> Result<String, &'static str> {
    let trimmed = group.trim();
    let name = match trimmed
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
    {
        Some(inner) if trimmed.len() > 1 => inner,
        _ if trimmed.contains(',') => return Err("a group holding a comma must be quoted"),
        _ => trimmed,
    };
    if name.is_empty() {
        return Err("the group is empty");
    }
    if name.contains(['"', '\n', '\r', '\t']) {
        return Err("the group holds a quote, tab or line break");
    }
    let multi_char = group.chars().count() > 1;
    if multi_char && group.starts_with(char::is_whitespace) {
        return Err("the group starts with a blank");
    }
    if multi_char && group.ends_with(char::is_whitespace) {
        return Err("the group ends with a blank");
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_objects() {
        assert!(is_project_object("team", "team/*"));
        assert!(is_project_object("team", "team/web"));
        assert!(is_project_object("team", "team/ns-1/web.v2"));
        assert!(is_project_object("team", "team/*/*"));
        assert!(!is_project_object("team", "*"));
        assert!(!is_project_object("team", "team"));
        assert!(!is_project_object("team", "team/"));
        assert!(!is_project_object("team", "other/*"));
        assert!(!is_project_object("team", "team-b/*"));
        assert!(!is_project_object("team", "team/a/b/c"));
        assert!(!is_project_object(
            "team",
            "team/https://github.com/org/repo"
        ));
    }

    #[test]
    fn role_names() {
        assert!(is_valid_role_name("ci"));
        assert!(is_valid_role_name("ci_bot-2"));
        assert!(!is_valid_role_name(""));
        assert!(!is_valid_role_name("-ci"));
        assert!(!is_valid_role_name("ci-"));
        assert!(!is_valid_role_name("c:i"));
    }

    #[test]
    fn group_names() {
        assert_eq!(group_member("my-org:team").unwrap(), "my-org:team");
        assert_eq!(group_member("\"a, b\"").unwrap(), "a, b");
        assert!(group_member("a, b").is_err());
        assert!(group_member("").is_err());
        assert!(group_member(" a").is_err());
        assert!(group_member("a\tb").is_err());
    }

    #[test]
    fn role_subjects() {
        assert_eq!(parse_role_subject("proj:team:ci"), Some(("team", "ci")));
        assert_eq!(parse_role_subject("proj:team"), None);
        assert_eq!(parse_role_subject("proj:a:b:c"), None);
        assert_eq!(parse_role_subject("user:a:b"), None);
    }

    #[test]
    fn actions() {
        assert!(is_valid_role_action("sync"));
        assert!(is_valid_role_action("action/apps/Deployment/restart"));
        assert!(is_valid_role_action("delete/*/Pod/*/*"));
        assert!(!is_valid_role_action("invoke"));
        assert!(!is_valid_role_action("Get"));
    }
}
