//! What the double render of volatile fields ([`driftless_decisions::volatile`]) found per app,
//! kept for the life of the process: one double render per app and revision.

use driftless_guard::Finding;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The revisions a double render was done at, and what it found.
type Detected = (Vec<String>, Arc<Vec<Finding>>);

/// What the double render found per app.
#[derive(Default)]
pub struct Detections {
    by_app: Mutex<HashMap<String, Detected>>,
}

impl Detections {
    /// The findings for `app` at `revisions`, if they were detected already.
    pub fn get(&self, app: &str, revisions: &[String]) -> Option<Arc<Vec<Finding>>> {
        let all = crate::runtime::mutex::lock(&self.by_app);
        all.get(app)
            .filter(|(at, _)| at.as_slice() == revisions)
            .map(|(_, found)| found.clone())
    }

    pub fn insert(
        &self,
        app: &str,
        revisions: &[String],
        found: Vec<Finding>,
    ) -> Arc<Vec<Finding>> {
        let found = Arc::new(found);
        crate::runtime::mutex::lock(&self.by_app)
            .insert(app.to_string(), (revisions.to_vec(), found.clone()));
        found
    }

    pub fn forget(&self, app: &str) {
        crate::runtime::mutex::lock(&self.by_app).remove(app);
    }
}
