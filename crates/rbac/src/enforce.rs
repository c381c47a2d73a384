//! Answering one request: may these subjects do `action` on `resource` `object`?

use crate::parse::{Effect, Permission, RuleOrigin, Rules};
use crate::policy::Policy;
use crate::project::{ProjectPolicy, parse_role_subject};
use crate::subjects::Subjects;
use std::collections::BTreeSet;
use thiserror::Error;

/// How many `g` hops a subject's roles are followed (casbin's role manager stops at 10, so
/// a role further down a chain is not held).
const MAX_ROLE_HOPS: usize = 10;

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(Denial),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }

    /// `Ok` when allowed, so a handler can `?` it into a permission-denied error.
    pub fn into_result(self) -> Result<(), Denial> {
        match self {
            Decision::Allow => Ok(()),
            Decision::Deny(denial) => Err(denial),
        }
    }
}

/// A refused request: the permission that was missing, for whom, and whether a `deny` rule
/// refused it (rather than no rule granting it). Displays as Argo CD words it:
/// `permission denied: applications, sync, proj-b/web, sub: alice`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("permission denied: {resource}, {action}, {object}{}", user_suffix(.user))]
pub struct Denial {
    pub resource: String,
    pub action: String,
    pub object: String,
    pub user: String,
    /// The first `deny` rule that matched, if one did.
    pub denied_by: Option<RuleOrigin>,
}

impl Denial {
    pub fn is_explicit(&self) -> bool {
        self.denied_by.is_some()
    }
}

fn user_suffix(user: &str) -> String {
    if user.is_empty() {
        String::new()
    } else {
        format!(", sub: {user}")
    }
}

impl Policy {
    /// Decides a request the way Argo CD's API server does (`Enforce`, then `EnforceClaims`):
    ///
    /// 1. The default role (`policy.default`) against the global policy: if it allows the
    ///    request, nothing else is asked.
    /// 2. The project: for `applications`, `applicationsets`, `repositories`, `clusters`,
    ///    `logs` and `exec` the part of `object` before its first `/`; for `projects` the
    ///    object itself. If it is loaded, its roles join the global policy for the rest of
    ///    this request; no other project's roles are consulted.
    /// 3. A project token (user `proj:<project>:<role>`) asking about a loaded project is
    ///    refused if it is another project, else checked as below without groups.
    /// 4. The default role again (now with the project's roles), then the user, then each
    ///    group that is the member of some `g` rule (a group with only `p` rules counts for
    ///    nothing, as Argo CD documents), each on its own; the first allowed allows.
    ///
    /// A subject is allowed when a rule for it or one of its roles (followed through `g`
    /// rules, at most 10 hops) allows the request and none denies it. So `deny` wins over
    /// `allow` within one subject, but not across them: a group's `deny` does not take away
    /// what the user or another group is allowed, nor anything the default role allows.
    pub fn enforce(
        &self,
        subjects: &Subjects,
        resource: &str,
        action: &str,
        object: &str,
    ) -> Decision {
        let mut check = Check {
            global: &self.rules,
            project: None,
            request: [resource, action, object],
            denied_by: None,
        };
        let default_allows = |check: &mut Check<'_>| {
            self.default_role
                .as_deref()
                .is_some_and(|role| check.allows(role))
        };
        let user = subjects.user();
        let project = self.project_of(resource, object);
        let allowed = default_allows(&mut check) || {
            check.project = project.map(|p| &p.rules);
            match (parse_role_subject(user), project) {
                (Some((token_project, _)), Some(project)) => {
                    token_project == project.name
                        && (default_allows(&mut check) || check.allows(user))
                }
                _ => {
                    default_allows(&mut check)
                        || check.allows(user)
                        || subjects
                            .groups()
                            .iter()
                            .any(|group| check.has_roles(group) && check.allows(group))
                }
            }
        };
        if allowed {
            return Decision::Allow;
        }
        Decision::Deny(Denial {
            resource: resource.to_string(),
            action: action.to_string(),
            object: object.to_string(),
            user: user.to_string(),
            denied_by: check.denied_by,
        })
    }

    /// The loaded project a request is about, if any.
    fn project_of(&self, resource: &str, object: &str) -> Option<&ProjectPolicy> {
        let name = match resource {
            "applications" | "applicationsets" | "repositories" | "clusters" | "logs" | "exec" => {
                object.split_once('/')?.0
            }
            "projects" => object,
            _ => return None,
        };
        self.projects.get(name)
    }
}

/// One request against the global rules and, when it concerns one, a project's.
struct Check<'a> {
    global: &'a Rules,
    project: Option<&'a Rules>,
    /// Resource, action, object.
    request: [&'a str; 3],
    denied_by: Option<RuleOrigin>,
}

impl<'a> Check<'a> {
    /// Global rules first, then the project's. Not tied to `&self`, so `allows` can record a
    /// denial while walking them.
    fn rule_sets(&self) -> impl Iterator<Item = &'a Rules> + use<'a> {
        std::iter::once(self.global).chain(self.project)
    }

    /// Whether `subject` is the member of some `g` rule.
    fn has_roles(&self, subject: &str) -> bool {
        self.rule_sets()
            .any(|rules| rules.roles_of.contains_key(subject))
    }

    /// `subject` and every role it reaches through `g` rules within [`MAX_ROLE_HOPS`].
    fn roles_held_by<'s>(&self, subject: &'s str) -> BTreeSet<&'s str>
    where
        'a: 's,
    {
        let mut held = BTreeSet::from([subject]);
        let mut frontier = vec![subject];
        for _ in 0..MAX_ROLE_HOPS {
            let mut next = Vec::new();
            for member in frontier {
                for rules in self.rule_sets() {
                    for role in rules.roles_of.get(member).into_iter().flatten() {
                        if held.insert(role) {
                            next.push(role.as_str());
                        }
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        held
    }

    /// Checks one subject, remembering the first `deny` rule met.
    fn allows(&mut self, subject: &str) -> bool {
        let held = self.roles_held_by(subject);
        let mut allowed = false;
        for permission in self.rule_sets().flat_map(|rules| &rules.permissions) {
            if !held.contains(permission.subject.as_str()) || !self.matches(permission) {
                continue;
            }
            match permission.effect {
                Effect::Allow => allowed = true,
                Effect::Deny => {
                    self.denied_by
                        .get_or_insert_with(|| permission.origin.clone());
                    return false;
                }
            }
        }
        allowed
    }

    fn matches(&self, permission: &Permission) -> bool {
        let [resource, action, object] = self.request;
        permission.resource.matches(resource)
            && permission.action.matches(action)
            && permission.object.matches(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{ProjectRole, ProjectRoles, ProjectToken};
    use std::collections::BTreeMap;

    fn policy(csv: &str) -> Policy {
        let data = BTreeMap::from([("policy.csv".to_string(), csv.to_string())]);
        Policy::from_config_map(&data).unwrap()
    }

    #[test]
    fn a_denial_names_the_deny_rule() {
        let policy = policy(
            "p, role:dev, applications, *, */*, allow\n\np, role:dev, applications, delete, prod/*, deny\ng, alice, role:dev",
        );
        let alice = Subjects::account("alice");
        let denial = policy
            .enforce(&alice, "applications", "delete", "prod/db")
            .into_result()
            .unwrap_err();
        assert_eq!(
            denial.denied_by,
            Some(RuleOrigin {
                source: "policy.csv".into(),
                line: 3
            })
        );
        assert_eq!(
            denial.to_string(),
            "permission denied: applications, delete, prod/db, sub: alice"
        );
        let not_granted = policy.enforce(&alice, "clusters", "get", "https://x");
        assert!(!not_granted.is_allowed());
        assert!(!not_granted.into_result().unwrap_err().is_explicit());
    }

    #[test]
    fn project_tokens_are_listed_by_id_or_issue_time() {
        let roles = ProjectRoles {
            project: "team".into(),
            roles: vec![ProjectRole {
                name: "ci".into(),
                jwt_tokens: vec![
                    ProjectToken {
                        iat: 1234,
                        id: None,
                    },
                    ProjectToken {
                        iat: 5678,
                        id: Some("token-1".into()),
                    },
                ],
                ..ProjectRole::default()
            }],
        };
        // The project alone answers as the loaded policy does.
        assert!(roles.lists_token("ci", 1, Some("token-1")));
        assert!(roles.lists_token("ci", 1234, Some("other")));
        assert!(!roles.lists_token("ci", 1, Some("other")));
        assert!(!roles.lists_token("other", 1234, None));
        let (policy, errors) = policy("").with_projects(&[roles]);
        assert!(errors.is_empty());
        assert!(policy.project_token_is_listed("proj:team:ci", 1234, None));
        assert!(policy.project_token_is_listed("proj:team:ci", 1, Some("token-1")));
        // An unknown id still matches by issue time, as Argo CD's GetJWTToken does.
        assert!(policy.project_token_is_listed("proj:team:ci", 1234, Some("other")));
        assert!(!policy.project_token_is_listed("proj:team:ci", 1, Some("other")));
        assert!(!policy.project_token_is_listed("proj:team:other", 1234, None));
        assert!(!policy.project_token_is_listed("proj:other:ci", 1234, None));
        assert!(!policy.project_token_is_listed("alice", 1234, None));
    }

    #[test]
    fn roles_deserialize_from_an_app_project() {
        let role: ProjectRole = serde_json::from_value(serde_json::json!({
            "name": "ci",
            "description": "CI pipeline",
            "policies": ["p, proj:team:ci, applications, sync, team/*, allow"],
            "groups": ["my-org:ci"],
            "jwtTokens": [{"iat": 1700000000, "exp": 1800000000, "id": "abc"}]
        }))
        .unwrap();
        assert_eq!(role.jwt_tokens[0].id.as_deref(), Some("abc"));
        assert_eq!(role.groups, ["my-org:ci"]);
    }
}
