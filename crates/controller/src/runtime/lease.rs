//! Leader election on a `coordination.k8s.io` Lease: only the replica holding the Lease
//! reconciles. The holder renews it every third of its duration; another replica takes it
//! over once it has not been renewed for a whole duration. A holder that fails to renew
//! stops within its renew deadline, before anyone may take over (its process restarts and
//! competes again), so two leaders never act at once.

use crate::runtime::config::LeaderElection;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use std::time::Duration;

/// Whether a Lease held by `holder`, last renewed at `renewed`, may be taken by `me` at `now`.
pub fn may_take(
    holder: Option<&str>,
    renewed: Option<Timestamp>,
    duration_secs: i32,
    me: &str,
    now: Timestamp,
) -> bool {
    match (holder.filter(|h| !h.is_empty()), renewed) {
        (None, _) | (_, None) => true,
        (Some(holder), _) if holder == me => true,
        (Some(_), Some(renewed)) => {
            renewed + SignedDuration::from_secs(i64::from(duration_secs.max(1))) < now
        }
    }
}

/// Waits until this replica holds the Lease.
pub async fn acquire(client: &Client, namespace: &str, election: &LeaderElection) {
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    loop {
        match try_hold(&api, election).await {
            Ok(true) => {
                tracing::info!(lease = %election.lease_name, identity = %election.identity, "became the leader");
                return;
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "cannot read or write the leader lease"),
        }
        tokio::time::sleep(retry_period(election)).await;
    }
}

/// Renews the Lease until that fails; returns when leadership is lost. A holder that has not
/// renewed for the renew deadline (two thirds of the lease duration) gives up before any other
/// replica may take the Lease, so two leaders never act at once.
pub async fn keep(client: Client, namespace: String, election: LeaderElection) -> &'static str {
    let api: Api<Lease> = Api::namespaced(client, &namespace);
    let mut renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(retry_period(&election)).await;
        match try_hold(&api, &election).await {
            Ok(true) => renewed = tokio::time::Instant::now(),
            Ok(false) => {
                tracing::error!(lease = %election.lease_name, "another replica took the leader lease");
                return "leader lease";
            }
            Err(error) => {
                tracing::warn!(%error, "cannot renew the leader lease");
                if renewed.elapsed() >= renew_deadline(&election) {
                    tracing::error!(lease = %election.lease_name, "failed to renew the leader lease within its renew deadline");
                    return "leader lease";
                }
            }
        }
    }
}

/// Gives the Lease back if this replica holds it (a clean stop): the holder is cleared, so the
/// next replica may take it at once instead of after a lease duration.
pub async fn release(client: &Client, namespace: &str, election: &LeaderElection) {
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    match give_back(&api, &election.lease_name, &election.identity).await {
        Ok(true) => tracing::info!(lease = %election.lease_name, "released the leader lease"),
        Ok(false) => {}
        Err(error) => {
            tracing::warn!(%error, lease = %election.lease_name, "cannot release the leader lease; it expires after its duration")
        }
    }
}

/// Clears the holder of Lease `name` when it is `identity`; Ok(false) when someone else holds
/// it (or it is gone).
pub(crate) async fn give_back(
    api: &Api<Lease>,
    name: &str,
    identity: &str,
) -> Result<bool, kube::Error> {
    let Some(mut lease) = api.get_opt(name).await? else {
        return Ok(false);
    };
    let Some(spec) = lease.spec.as_mut() else {
        return Ok(false);
    };
    if spec.holder_identity.as_deref() != Some(identity) {
        return Ok(false);
    }
    spec.holder_identity = None;
    spec.renew_time = Some(MicroTime(Timestamp::now()));
    match api.replace(name, &PostParams::default(), &lease).await {
        Ok(_) => Ok(true),
        // Changed meanwhile: someone else took it.
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(error) => Err(error),
    }
}

/// How long a holder keeps acting without a renewal: shorter than the lease duration, after
/// which another replica may take over.
fn renew_deadline(election: &LeaderElection) -> Duration {
    election.lease_duration * 2 / 3
}

fn retry_period(election: &LeaderElection) -> Duration {
    (election.lease_duration / 3).max(Duration::from_millis(200))
}

/// Takes or renews the Lease; Ok(false) when someone else holds it.
async fn try_hold(api: &Api<Lease>, election: &LeaderElection) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let duration = i32::try_from(election.lease_duration.as_secs())
        .unwrap_or(i32::MAX)
        .max(1);
    let existing = api.get_opt(&election.lease_name).await?;
    let Some(mut lease) = existing else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(election.lease_name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(election.identity.clone()),
                lease_duration_seconds: Some(duration),
                acquire_time: Some(MicroTime(now)),
                renew_time: Some(MicroTime(now)),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        return match api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(error),
        };
    };
    let mut spec = lease.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.clone();
    let renewed = spec.renew_time.as_ref().map(|t| t.0);
    let held_duration = spec.lease_duration_seconds.unwrap_or(duration);
    if !may_take(
        holder.as_deref(),
        renewed,
        held_duration,
        &election.identity,
        now,
    ) {
        return Ok(false);
    }
    if holder.as_deref() != Some(election.identity.as_str()) {
        spec.acquire_time = Some(MicroTime(now));
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        spec.holder_identity = Some(election.identity.clone());
    }
    spec.renew_time = Some(MicroTime(now));
    spec.lease_duration_seconds = Some(duration);
    lease.spec = Some(spec);
    // The resourceVersion read above makes this a compare-and-swap: a rival's write wins.
    match api
        .replace(&election.lease_name, &PostParams::default(), &lease)
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_taken_only_when_free_ours_or_expired() {
        let t = |s: i64| Timestamp::from_second(s).unwrap();
        assert!(may_take(None, None, 15, "me", t(100)));
        assert!(may_take(Some("me"), Some(t(99)), 15, "me", t(100)));
        assert!(!may_take(Some("other"), Some(t(90)), 15, "me", t(100)));
        assert!(may_take(Some("other"), Some(t(80)), 15, "me", t(100)));
    }
}
