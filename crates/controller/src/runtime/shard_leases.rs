//! `--shard-leases S`: replicas share the apps through `S` shard Leases
//! (`driftless-shard-<i>` in the app namespace) instead of a fixed `--shard` index. Each
//! replica renews a membership Lease of its own (`driftless-member-<identity>`) and the shard
//! Leases it holds every third of the lease duration; each round it lists both kinds and asks
//! [`driftless_decisions::shard_leases::shard_moves`] which shards to claim or give back.
//!
//! Writes are compare-and-swaps on the resourceVersion listed, so two replicas never both
//! take one Lease. A replica gives a shard up before anyone may take it: when releasing it
//! first stops the shard's work ([`Ownership::give_up`]) and only then clears the holder; when
//! it cannot renew a shard for two thirds of the duration it stops that shard's work, and if
//! the work does not stop before the Lease expires the controller stops altogether (its
//! process restarts), as with the leader Lease.
//!
//! [`Ownership::give_up`]: crate::runtime::ownership::Ownership::give_up

use crate::runtime::config::ShardLeases;
use crate::runtime::context::Context;
use driftless_decisions::shard_leases::{
    self as plan, LEASE_LABEL, MEMBER, Member, SHARD, ShardLease,
};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams, Preconditions};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The work on a shard did not stop before its Lease could be taken by another replica.
#[derive(Debug, thiserror::Error)]
#[error("failed to stop the work on shard {shard} before its Lease expired")]
pub struct StuckShard {
    shard: u32,
}

/// A Lease request that failed or got no answer in time (a hung request must not keep the
/// renew deadline from being checked).
#[derive(Debug, thiserror::Error)]
enum RequestError {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error("failed to get an answer from the API server within {0:?}")]
    TimedOut(Duration),
}

impl RequestError {
    /// Someone else wrote the Lease since it was read.
    fn is_conflict(&self) -> bool {
        matches!(self, RequestError::Kube(kube::Error::Api(status)) if status.code == 409)
    }
}

/// Keeps the membership and shard Leases until the work on a lost shard cannot be stopped in
/// time (then the controller must stop).
pub async fn keep(ctx: Arc<Context>, config: ShardLeases) -> &'static str {
    let mut keeper = Keeper::new(ctx, config);
    loop {
        let next_round = Instant::now() + keeper.config.renew_period();
        // A round slowed down by the API server must not let a renew deadline pass unseen:
        // it is cut short at the first deadline, which is dealt with first.
        let deadline = keeper.earliest_deadline();
        let outcome = tokio::select! {
            outcome = keeper.round() => outcome,
            () = tokio::time::sleep_until(deadline) => Ok(()),
        };
        if let Err(error) = outcome {
            tracing::error!(%error, "stopping the controller");
            return "shard leases";
        }
        loop {
            if let Err(error) = keeper.drop_overdue().await {
                tracing::error!(%error, "stopping the controller");
                return "shard leases";
            }
            let now = Instant::now();
            if now >= next_round {
                break;
            }
            tokio::time::sleep_until(next_round.min(keeper.earliest_deadline())).await;
        }
    }
}

/// Gives back the shard Leases held and deletes the membership Lease (a clean stop, once no
/// work runs any more): the other replicas take the shards at once.
pub async fn release_all(ctx: &Context, config: &ShardLeases) {
    let api = leases(ctx);
    for shard in ctx.ownership.held() {
        let name = plan::shard_lease_name(shard);
        tracing::info!(shard, "releasing shard {shard}: its work has stopped");
        match crate::runtime::lease::give_back(&api, &name, &config.identity).await {
            Ok(true) => {
                ctx.metrics.shard_moved("released");
                tracing::info!(shard, "released shard {shard}");
            }
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, shard, "cannot release shard {shard}; its Lease expires after its duration")
            }
        }
    }
    let member = plan::member_lease_name(&config.identity);
    match api.delete(&member, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(error) => tracing::warn!(%error, lease = %member, "cannot delete the membership Lease"),
    }
}

fn leases(ctx: &Context) -> Api<Lease> {
    Api::namespaced(ctx.client.clone(), &ctx.config.app_namespace)
}

struct Keeper {
    ctx: Arc<Context>,
    config: ShardLeases,
    api: Api<Lease>,
    /// When each held shard's Lease was last renewed: the instant of the renewTime written,
    /// from which the other replicas count its expiry.
    renewed: HashMap<u32, Instant>,
    /// Shards whose work is being stopped, with the instant their Lease may be taken by
    /// others: checked again until the work has stopped (a round cut short leaves them so).
    stopping: HashMap<u32, Instant>,
    /// Each held shard's Lease as last written, renewed from it.
    mine: HashMap<u32, Lease>,
}

impl Keeper {
    fn new(ctx: Arc<Context>, config: ShardLeases) -> Self {
        let api = leases(&ctx);
        Self {
            ctx,
            config,
            api,
            renewed: HashMap::new(),
            stopping: HashMap::new(),
            mine: HashMap::new(),
        }
    }

    /// The first instant a held shard's work must stop unless renewed meanwhile (or a
    /// stopping shard's Lease may be taken); a renew period away when there is none.
    fn earliest_deadline(&self) -> Instant {
        let now = Instant::now();
        let deadline = self.config.renew_deadline();
        let held = self.ctx.ownership.held();
        let renewals = held.iter().map(|shard| {
            self.renewed
                .get(shard)
                .map_or(now, |renewed| *renewed + deadline)
        });
        renewals
            .chain(self.stopping.values().copied())
            .min()
            .unwrap_or(now + self.config.renew_period())
            .max(now)
    }

    async fn round(&mut self) -> Result<(), StuckShard> {
        let (now, at) = (Timestamp::now(), Instant::now());
        self.renew_held(now, at).await?;
        if let Err(error) = self.renew_membership(now).await {
            tracing::warn!(%error, "cannot renew the membership Lease");
        }
        let listed = futures::try_join!(self.list(MEMBER), self.list(SHARD));
        let (members, shards) = match listed {
            Ok(listed) => listed,
            Err(error) => {
                tracing::warn!(%error, "cannot list the shard Leases");
                return self.drop_overdue().await;
            }
        };
        let by_shard: BTreeMap<u32, Lease> = shards
            .into_iter()
            .filter_map(|lease| {
                let name = lease.metadata.name.as_deref()?;
                Some((plan::shard_of_lease(name, self.config.shards)?, lease))
            })
            .collect();
        // A held shard whose Lease now names someone else (or is gone) is not ours any more.
        let me = self.config.identity.clone();
        for shard in self.ctx.ownership.held() {
            if by_shard.get(&shard).and_then(holder_of) != Some(me.as_str()) {
                self.mine.remove(&shard);
                self.lose(shard, "its Lease is held by another replica or gone")
                    .await?;
            }
        }
        self.drop_overdue().await?;
        let seen_members: Vec<Member> = members.iter().map(member_of).collect();
        let seen_shards: Vec<ShardLease> = by_shard
            .iter()
            .map(|(shard, lease)| shard_seen(*shard, lease))
            .collect();
        let moves = plan::shard_moves(
            &seen_members,
            &seen_shards,
            self.config.shards,
            &me,
            now.as_second(),
        );
        self.release(&moves.release).await;
        // Leases naming this replica that it does not work on (it restarted under the same
        // identity) are taken up again like free ones.
        let held = self.ctx.ownership.held();
        let adopted = by_shard.iter().filter(|(shard, lease)| {
            holder_of(lease) == Some(me.as_str())
                && !held.contains(shard)
                && !moves.release.contains(shard)
        });
        let claims: BTreeSet<u32> = moves
            .claim
            .iter()
            .copied()
            .chain(adopted.map(|(shard, _)| *shard))
            .collect();
        for shard in claims {
            self.claim(shard, by_shard.get(&shard), at).await;
        }
        self.forget_dead(&seen_members, &members, now.as_second())
            .await;
        self.ctx
            .metrics
            .shards_held(self.ctx.ownership.held().len());
        Ok(())
    }

    /// `request`, given up after a renew period.
    async fn bounded<T>(
        &self,
        request: impl std::future::Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, RequestError> {
        let within = self.config.renew_period();
        match tokio::time::timeout(within, request).await {
            Ok(answer) => Ok(answer?),
            Err(_) => Err(RequestError::TimedOut(within)),
        }
    }

    async fn list(&self, kind: &str) -> Result<Vec<Lease>, RequestError> {
        let params = ListParams::default().labels(&format!("{LEASE_LABEL}={kind}"));
        Ok(self.bounded(self.api.list(&params)).await?.items)
    }

    async fn renew_membership(&self, now: Timestamp) -> Result<(), RequestError> {
        let name = plan::member_lease_name(&self.config.identity);
        let Some(mut lease) = self.bounded(self.api.get_opt(&name)).await? else {
            let lease = self.new_lease(&name, MEMBER, now);
            return match self
                .bounded(self.api.create(&PostParams::default(), &lease))
                .await
            {
                Ok(_) => Ok(()),
                // Created meanwhile: renewed next round.
                Err(error) if error.is_conflict() => Ok(()),
                Err(error) => Err(error),
            };
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        spec.holder_identity = Some(self.config.identity.clone());
        spec.renew_time = Some(MicroTime(now));
        spec.lease_duration_seconds = Some(self.duration_secs());
        self.bounded(self.api.replace(&name, &PostParams::default(), &lease))
            .await
            .map(|_| ())
    }

    /// Renews the Leases of the shards held, all at once and first thing in the round (from
    /// the Lease last written, so nothing is read before), so that a slow listing cannot make
    /// them late; a shard whose Lease someone else wrote meanwhile is given up at once.
    async fn renew_held(&mut self, now: Timestamp, at: Instant) -> Result<(), StuckShard> {
        let held: Vec<(u32, Lease)> = self
            .ctx
            .ownership
            .held()
            .into_iter()
            .filter_map(|shard| Some((shard, self.mine.get(&shard)?.clone())))
            .collect();
        let duration = self.duration_secs();
        let this = &*self;
        let renewals = held.into_iter().map(|(shard, mut lease)| {
            if let Some(spec) = lease.spec.as_mut() {
                spec.renew_time = Some(MicroTime(now));
                spec.lease_duration_seconds = Some(duration);
            }
            let name = plan::shard_lease_name(shard);
            async move {
                // The resourceVersion last written makes this a compare-and-swap.
                let answer = this
                    .bounded(this.api.replace(&name, &PostParams::default(), &lease))
                    .await;
                (shard, answer)
            }
        });
        let answers = futures::future::join_all(renewals).await;
        for (shard, answer) in answers {
            match answer {
                Ok(lease) => {
                    self.mine.insert(shard, lease);
                    self.renewed.insert(shard, at);
                }
                Err(error) if error.is_conflict() => {
                    self.mine.remove(&shard);
                    self.lose(shard, "another replica wrote its Lease").await?;
                }
                Err(error) => {
                    tracing::warn!(%error, shard, "cannot renew the Lease of shard {shard}")
                }
            }
        }
        Ok(())
    }

    /// Gives up the held shards not renewed within the renew deadline.
    async fn drop_overdue(&mut self) -> Result<(), StuckShard> {
        let stopping: Vec<(u32, Instant)> = self.stopping.iter().map(|(s, at)| (*s, *at)).collect();
        for (shard, expires) in stopping {
            let left = expires.saturating_duration_since(Instant::now());
            if !self.ctx.ownership.give_up(shard, left).await {
                return Err(StuckShard { shard });
            }
            self.stopping.remove(&shard);
        }
        let deadline = self.config.renew_deadline();
        for shard in self.ctx.ownership.held() {
            if self
                .renewed
                .get(&shard)
                .is_none_or(|renewed| renewed.elapsed() >= deadline)
            {
                self.lose(shard, "its Lease was not renewed within the renew deadline")
                    .await?;
            }
        }
        Ok(())
    }

    /// Stops the work on a shard this replica may no longer hold, before its Lease expires
    /// (a whole duration after the renewTime last written).
    async fn lose(&mut self, shard: u32, why: &str) -> Result<(), StuckShard> {
        let expires = self
            .renewed
            .remove(&shard)
            .map(|renewed| renewed + self.config.lease_duration);
        let expires = expires.unwrap_or_else(Instant::now);
        self.stopping.insert(shard, expires);
        let left = expires.saturating_duration_since(Instant::now());
        let stopped = self.ctx.ownership.give_up(shard, left).await;
        self.ctx.metrics.shard_moved("lost");
        tracing::warn!(shard, why, "lost shard {shard}");
        if stopped {
            self.stopping.remove(&shard);
            Ok(())
        } else {
            Err(StuckShard { shard })
        }
    }

    /// Gives back surplus shards: first their work stops (bounded, so that the other shards'
    /// renewals are not late), then their Leases are cleared. A shard whose work did not stop
    /// in time is kept, and given back in a later round.
    async fn release(&mut self, shards: &[u32]) {
        let held = self.ctx.ownership.held();
        let shards: Vec<u32> = shards
            .iter()
            .copied()
            .filter(|s| held.contains(s))
            .collect();
        let within = self.config.renew_period();
        for shard in &shards {
            let expires = self
                .renewed
                .get(shard)
                .map_or_else(Instant::now, |renewed| {
                    *renewed + self.config.lease_duration
                });
            self.stopping.insert(*shard, expires);
        }
        let ownership = &self.ctx.ownership;
        let stopped =
            futures::future::join_all(shards.iter().map(|s| ownership.give_up(*s, within))).await;
        for (shard, stopped) in shards.into_iter().zip(stopped) {
            if !stopped {
                tracing::info!(
                    shard,
                    "keeping shard {shard} for now: its syncs did not reach a safe point in time"
                );
                self.stopping.remove(&shard);
                ownership.gain(shard);
                continue;
            }
            self.stopping.remove(&shard);
            self.renewed.remove(&shard);
            tracing::info!(shard, "releasing shard {shard}: its work has stopped");
            let name = plan::shard_lease_name(shard);
            let given = self.bounded(crate::runtime::lease::give_back(
                &self.api,
                &name,
                &self.config.identity,
            ));
            match given.await {
                Ok(true) => {
                    self.ctx.metrics.shard_moved("released");
                    tracing::info!(shard, "released shard {shard}");
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, shard, "cannot release shard {shard}; its Lease expires after its duration")
                }
            }
        }
    }

    /// Takes shard `shard`'s Lease (free or expired, as listed in `existing`) and starts on
    /// its apps; a rival's write since the listing wins. Its `acquireTime` is the time of this
    /// write, not the round's start: a released shard's previous holder had stopped before the
    /// listing, so the Leases record tenures that follow each other.
    async fn claim(&mut self, shard: u32, existing: Option<&Lease>, at: Instant) {
        let now = Timestamp::now();
        let name = plan::shard_lease_name(shard);
        let me = self.config.identity.clone();
        let written = match existing {
            Some(lease) => {
                let mut lease = lease.clone();
                let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
                if spec.holder_identity.as_deref() != Some(me.as_str()) {
                    spec.holder_identity = Some(me.clone());
                    spec.acquire_time = Some(MicroTime(now));
                    spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
                }
                spec.renew_time = Some(MicroTime(now));
                spec.lease_duration_seconds = Some(self.duration_secs());
                self.bounded(self.api.replace(&name, &PostParams::default(), &lease))
                    .await
            }
            None => {
                let lease = self.new_lease(&name, SHARD, now);
                self.bounded(self.api.create(&PostParams::default(), &lease))
                    .await
            }
        };
        match written {
            Ok(lease) => {
                self.mine.insert(shard, lease);
                self.renewed.insert(shard, at);
                self.stopping.remove(&shard);
                self.ctx.metrics.shard_moved("claimed");
                tracing::info!(shard, "claimed shard {shard}");
                self.ctx.ownership.gain(shard);
            }
            Err(error) if error.is_conflict() => {
                tracing::debug!(shard, "another replica claimed shard {shard} first");
            }
            Err(error) => tracing::warn!(%error, shard, "cannot claim shard {shard}"),
        }
    }

    /// Deletes the membership Leases of replicas gone long ago (killed, never to come back
    /// under that identity), unless renewed meanwhile.
    async fn forget_dead(&self, seen: &[Member], members: &[Lease], now: i64) {
        for (member, lease) in seen.iter().zip(members) {
            if !plan::member_forgotten(member, now) {
                continue;
            }
            let Some(name) = lease.metadata.name.as_deref() else {
                continue;
            };
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    resource_version: lease.metadata.resource_version.clone(),
                    uid: lease.metadata.uid.clone(),
                }),
                ..DeleteParams::default()
            };
            if let Err(error) = self.bounded(self.api.delete(name, &params)).await {
                tracing::debug!(%error, lease = name, "cannot delete a dead member's Lease");
            }
        }
    }

    fn new_lease(&self, name: &str, kind: &str, now: Timestamp) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                labels: Some([(LEASE_LABEL.to_string(), kind.to_string())].into()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.config.identity.clone()),
                lease_duration_seconds: Some(self.duration_secs()),
                acquire_time: Some(MicroTime(now)),
                renew_time: Some(MicroTime(now)),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        }
    }

    fn duration_secs(&self) -> i32 {
        i32::try_from(self.config.lease_duration.as_secs())
            .unwrap_or(i32::MAX)
            .max(1)
    }
}

fn holder_of(lease: &Lease) -> Option<&str> {
    lease
        .spec
        .as_ref()?
        .holder_identity
        .as_deref()
        .filter(|h| !h.is_empty())
}

/// A membership Lease as the planner reads it (one without a renewal counts as renewed long
/// ago).
fn member_of(lease: &Lease) -> Member {
    let spec = lease.spec.as_ref();
    Member {
        identity: spec
            .and_then(|s| s.holder_identity.clone())
            .or_else(|| lease.metadata.name.clone())
            .unwrap_or_default(),
        renewed: spec
            .and_then(|s| s.renew_time.as_ref())
            .map_or(0, |t| t.0.as_second()),
        duration_secs: spec
            .and_then(|s| s.lease_duration_seconds)
            .map_or(1, i64::from),
    }
}

fn shard_seen(shard: u32, lease: &Lease) -> ShardLease {
    let spec = lease.spec.as_ref();
    ShardLease {
        shard,
        holder: holder_of(lease).map(str::to_string),
        renewed: spec
            .and_then(|s| s.renew_time.as_ref())
            .map(|t| t.0.as_second()),
        duration_secs: spec
            .and_then(|s| s.lease_duration_seconds)
            .map_or(1, i64::from),
    }
}
