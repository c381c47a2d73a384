//! Who is asking: the user, and the groups its token's claims put it in.

use serde_json::Value;

/// The names a request is checked under: the user (a local account, an SSO user id, or a
/// project token's `proj:<project>:<role>`) and its groups (values of the claims named in
/// `scopes`). Each is checked on its own, see [`Policy::enforce`](crate::Policy::enforce).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subjects {
    user: String,
    groups: Vec<String>,
}

impl Subjects {
    pub fn new<G: Into<String>>(
        user: impl Into<String>,
        groups: impl IntoIterator<Item = G>,
    ) -> Subjects {
        Subjects {
            user: user.into(),
            groups: groups.into_iter().map(Into::into).collect(),
        }
    }

    /// A subject without groups: a local account, or a project token's role.
    pub fn account(name: impl Into<String>) -> Subjects {
        Subjects {
            user: name.into(),
            groups: Vec::new(),
        }
    }

    /// Reads a token's claims as Argo CD does. The user is `federated_claims.user_id` when it
    /// is a non-empty string (Dex puts the upstream user id there) and `sub` otherwise. The
    /// groups are, for each claim named in `scopes` in order, its value if it is a string or
    /// its string items if it is a list; other values are ignored.
    pub fn from_claims(claims: &Value, scopes: &[String]) -> Subjects {
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let user = claims
            .pointer("/federated_claims/user_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .unwrap_or(sub);
        let groups = scopes
            .iter()
            .filter_map(|scope| claims.get(scope))
            .flat_map(|value| match value {
                Value::String(group) => vec![group.clone()],
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        Subjects {
            user: user.to_string(),
            groups,
        }
    }

    /// The user id; empty for a token without one.
    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn groups(&self) -> &[String] {
        &self.groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scopes(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn sub_and_group_list() {
        let claims = json!({"sub": "alice", "groups": ["a", "b", 3]});
        let subjects = Subjects::from_claims(&claims, &scopes(&["groups"]));
        assert_eq!(subjects, Subjects::new("alice", ["a", "b"]));
    }

    #[test]
    fn federated_user_id_wins_over_sub() {
        let claims = json!({"sub": "CiQwOGE4", "federated_claims": {"user_id": "bob"}});
        assert_eq!(Subjects::from_claims(&claims, &[]).user(), "bob");
        let empty = json!({"sub": "CiQwOGE4", "federated_claims": {"user_id": ""}});
        assert_eq!(Subjects::from_claims(&empty, &[]).user(), "CiQwOGE4");
    }

    #[test]
    fn every_scope_in_order_string_or_list() {
        let claims = json!({"groups": ["team"], "email": "a@example.org", "other": {"x": 1}});
        let subjects =
            Subjects::from_claims(&claims, &scopes(&["email", "groups", "other", "missing"]));
        assert_eq!(subjects.groups(), ["a@example.org", "team"]);
        assert_eq!(subjects.user(), "");
    }
}
