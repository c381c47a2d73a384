//! The policy a request is judged by: argocd-rbac-cm's (from [`crate::settings`]) with the
//! AppProjects' roles added, built once per change of either and shared by every request.

use crate::auth::identity::Caller;
use crate::error::ApiError;
use crate::state::{Shared, lock};
use driftless_model::project::AppProject;
use driftless_rbac::{Policy, ProjectRoles, Subjects};
use std::sync::Arc;

/// What the combined policy was built from: the base policy's identity and each project's
/// name and resourceVersion.
pub type PolicyKey = (usize, Vec<(String, String)>);

/// One caller's permissions, for the length of a request.
pub struct Judge {
    policy: Arc<Policy>,
    subjects: Subjects,
}

impl Judge {
    pub async fn new(state: &Shared, caller: &Caller) -> Result<Self, ApiError> {
        let snapshot = state
            .settings
            .snapshot()
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
        let projects = state.stores.projects.state();
        let key: PolicyKey = (
            Arc::as_ptr(&snapshot.policy) as usize,
            projects
                .iter()
                .map(|p| {
                    (
                        p.metadata.name.clone().unwrap_or_default(),
                        p.metadata.resource_version.clone().unwrap_or_default(),
                    )
                })
                .collect(),
        );
        let policy = {
            let mut cached = lock(&state.combined_policy);
            match cached.as_ref() {
                Some((built_from, policy)) if *built_from == key => policy.clone(),
                _ => {
                    let policy = Arc::new(combine(&snapshot.policy, &projects));
                    *cached = Some((key, policy.clone()));
                    policy
                }
            }
        };
        Ok(Self {
            policy,
            subjects: Subjects::new(caller.name.clone(), caller.groups.iter().cloned()),
        })
    }

    pub fn allows(&self, resource: &str, action: &str, object: &str) -> bool {
        self.policy
            .enforce(&self.subjects, resource, action, object)
            .is_allowed()
    }

    /// 403 naming the missing permission unless allowed.
    pub fn check(&self, resource: &str, action: &str, object: &str) -> Result<(), ApiError> {
        self.policy
            .enforce(&self.subjects, resource, action, object)
            .into_result()
            .map_err(|denial| ApiError::forbidden(denial.to_string()))
    }
}

fn combine(base: &Policy, projects: &[Arc<AppProject>]) -> Policy {
    let roles: Vec<ProjectRoles> = projects.iter().filter_map(|p| project_roles(p)).collect();
    let (policy, errors) = base.clone().with_projects(&roles);
    for error in errors {
        tracing::warn!(%error, "a project's roles grant nothing");
    }
    policy
}

/// A project's roles as the policy reads them; the tokens listed are the union of
/// `status.jwtTokensByRole` (Argo CD 3) and the legacy `spec.roles[].jwtTokens`.
pub(crate) fn project_roles(project: &AppProject) -> Option<ProjectRoles> {
    let value = serde_json::to_value(project).ok()?;
    let mut roles: ProjectRoles = serde_json::from_value(serde_json::json!({
        "project": project.metadata.name,
        "roles": value["spec"]["roles"].as_array().cloned().unwrap_or_default(),
    }))
    .map_err(|error| tracing::warn!(project = ?project.metadata.name, %error, "failed to read a project's roles"))
    .ok()?;
    for role in &mut roles.roles {
        let by_role = &value["status"]["jwtTokensByRole"][&role.name]["items"];
        if let Ok(more) =
            serde_json::from_value::<Vec<driftless_rbac::ProjectToken>>(by_role.clone())
        {
            role.jwt_tokens.extend(more);
        }
    }
    Some(roles)
}
