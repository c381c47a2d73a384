//! Edits seen by the controller's watches, handed to the audit log (the glue between the
//! watches and [`super::edits`]).

use super::edits::{EditTracker, Observed};
use super::sink::AuditLog;
use crate::runtime::stores::ProjectChange;
use driftless_audit::Kind;
use driftless_model::project::AppProject;
use kube::api::DynamicObject;
use std::sync::Mutex;

pub struct EditRecorder {
    log: AuditLog,
    apps: Mutex<EditTracker>,
    projects: Mutex<EditTracker>,
}

impl EditRecorder {
    pub fn new(log: AuditLog) -> Self {
        Self {
            log,
            apps: Mutex::default(),
            projects: Mutex::default(),
        }
    }

    pub fn project(&self, project: &AppProject, change: ProjectChange) {
        if !self.log.is_enabled() {
            return;
        }
        let name = project.metadata.name.clone().unwrap_or_default();
        let spec = serde_json::to_value(&project.spec).unwrap_or_default();
        let observed = Observed {
            kind: Kind::ProjectEdited,
            key: &name,
            project: &name,
            metadata: &project.metadata,
            spec: &spec,
        };
        let now = driftless_audit::now();
        let mut tracker = crate::runtime::mutex::lock(&self.projects);
        let record = match change {
            ProjectChange::Listed { first } => tracker.applied(observed, !first, &now),
            ProjectChange::Applied => tracker.applied(observed, true, &now),
            ProjectChange::Deleted => tracker.deleted(observed, &now),
        };
        self.log.record(record);
    }

    /// An Application as the app watch delivered it; `listed`: its first listing is over;
    /// `deleted`: it went.
    pub fn application(&self, object: &DynamicObject, listed: bool, deleted: bool) {
        if !self.log.is_enabled() {
            return;
        }
        let key = format!(
            "{}/{}",
            object.metadata.namespace.as_deref().unwrap_or_default(),
            object.metadata.name.as_deref().unwrap_or_default()
        );
        let key = key.as_str();
        let spec = object.data.get("spec").cloned().unwrap_or_default();
        let project = spec
            .get("project")
            .and_then(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or(driftless_decisions::validate::DEFAULT_PROJECT)
            .to_string();
        let observed = Observed {
            kind: Kind::ApplicationEdited,
            key,
            project: &project,
            metadata: &object.metadata,
            spec: &spec,
        };
        let now = driftless_audit::now();
        let mut tracker = crate::runtime::mutex::lock(&self.apps);
        let record = if deleted {
            tracker.deleted(observed, &now)
        } else {
            tracker.applied(observed, listed, &now)
        };
        self.log.record(record);
    }
}
