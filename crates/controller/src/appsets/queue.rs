//! The ApplicationSet loop: requests (from the watches and the git poll) go through the shared
//! [`WorkQueue`] (kube-runtime's scheduler), which runs one reconcile per ApplicationSet at a time.

use super::AppSets;
use super::reconcile::reconcile;
use crate::runtime::queue::{Job, WorkQueue};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Wait before reconciling again an ApplicationSet whose reconcile failed.
const ERROR_BACKOFF: Duration = Duration::from_secs(5);

pub async fn run(
    sets: Arc<AppSets>,
    mut requests: mpsc::UnboundedReceiver<String>,
) -> &'static str {
    let job_sets = sets.clone();
    let job: Job = Arc::new(move |name: String| {
        let sets = job_sets.clone();
        Box::pin(async move {
            // Held to the end: giving the set's shard up waits for this reconcile.
            let ownership = &sets.ctx.ownership;
            let Some(_tenure) = ownership.enter(&sets.ctx.config.app_namespace, &name).await else {
                return Ok(None);
            };
            reconcile(&sets, &name).await.map_err(Into::into)
        })
    });
    let mut queue = WorkQueue::new("applicationset", ERROR_BACKOFF, job);
    let (ctx, control) = (&sets.ctx, &sets.ctx.config.app_namespace);
    loop {
        tokio::select! {
            request = requests.recv() => match request {
                Some(name) if ctx.ownership.owns(control, &name) => queue.request(name),
                Some(_) => {}
                None => return "applicationset loop",
            },
            () = queue.step() => {}
        }
    }
}
