//! The audit log's writer (an edge): the controller hands records in without waiting, a
//! thread of its own appends them to the store in batches, and now and then signs the chain's
//! head with the audit key and publishes that checkpoint in the cluster.
//!
//! The key is an ed25519 seed in the Secret [`KEY_SECRET`] of the control namespace (made at
//! the first start); the checkpoint goes into the store and into the ConfigMap
//! [`CHECKPOINT_CONFIG_MAP`], where whoever can only edit the database cannot reach it.
//! A record that cannot be queued or written is logged and counted
//! (`driftless_audit_records_unwritten_total`), never silently lost.

use crate::runtime::metrics::Metrics;
use driftless_audit::{AuditError, Checkpoint, Record, Signer, Store};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The Secret holding the audit key's seed (`ed25519-seed`, 32 bytes).
pub const KEY_SECRET: &str = "driftless-audit-key";
const SEED_KEY: &str = "ed25519-seed";
/// The ConfigMap the newest signed checkpoint is published in (`checkpoint`: JSON).
pub const CHECKPOINT_CONFIG_MAP: &str = "driftless-audit-checkpoint";
pub const CHECKPOINT_KEY: &str = "checkpoint";

/// Records queued at most; past that the controller does not wait, it counts them lost.
const QUEUE: usize = 65_536;
/// Records appended in one transaction at most.
const BATCH: usize = 2_000;

#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// `sqlite://…` or `postgres://…` (see `driftless_audit::open`).
    pub database: String,
    /// How often the head is signed and published (when it moved).
    pub checkpoint_interval: Duration,
    /// Entries older than this are deleted (the rest stays verifiable from a signed anchor).
    pub retention: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditStartError {
    #[error("failed to open the audit log: {0}")]
    Open(#[source] AuditError),
    #[error("failed to read or create the audit key (Secret {KEY_SECRET}): {0}")]
    Key(#[source] kube::Error),
    #[error("the audit key (Secret {KEY_SECRET}, {SEED_KEY}) is not a 32-byte seed")]
    BadKey,
    #[error("failed to open the audit log: the opening thread ended")]
    Gone,
}

/// Where the controller records; cheap to clone. A disabled log takes records and drops them.
#[derive(Clone)]
pub struct AuditLog {
    /// Boxed: the channel allocates all its slots at once, and a slot is then one pointer.
    queue: Option<std_mpsc::SyncSender<Box<Record>>>,
    metrics: Arc<Metrics>,
}

impl AuditLog {
    pub fn disabled(metrics: Arc<Metrics>) -> Self {
        Self {
            queue: None,
            metrics,
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.queue.is_some()
    }

    /// Queues `records`; never waits.
    pub fn record(&self, records: impl IntoIterator<Item = Record>) {
        let Some(queue) = &self.queue else { return };
        for record in records {
            if let Err(error) = queue.try_send(Box::new(record)) {
                let record = match error {
                    std_mpsc::TrySendError::Full(r) | std_mpsc::TrySendError::Disconnected(r) => r,
                };
                tracing::error!(kind = ?record.kind, app = ?record.app, object = ?record.object,
                    "failed to queue an audit record: the audit writer is behind or gone");
                self.metrics.audit_unwritten(1);
            }
        }
    }
}

/// Opens the store, loads (or makes) the key, and starts the writer.
pub async fn start(
    client: Client,
    namespace: &str,
    config: AuditConfig,
    metrics: Arc<Metrics>,
) -> Result<AuditLog, AuditStartError> {
    let database = config.database.clone();
    let store = tokio::task::spawn_blocking(move || driftless_audit::open(&database))
        .await
        .map_err(|_| AuditStartError::Gone)?
        .map_err(AuditStartError::Open)?;
    let signer = load_key(&client, namespace).await?;
    // The chain must go on from what was last published: a database rewritten meanwhile is
    // never signed over (its evidence stays).
    let last = match published_checkpoint(&client, namespace).await {
        Ok(last) => last,
        Err(error) => {
            tracing::warn!(%error, "the last published audit checkpoint is not known; going on without it");
            None
        }
    };
    let (queue, records) = std_mpsc::sync_channel(QUEUE);
    let (published, checkpoints) = mpsc::unbounded_channel();
    tokio::spawn(publish(Api::namespaced(client, namespace), checkpoints));
    let writer = Writer {
        store,
        signer,
        last,
        tampered: false,
        config,
        metrics: metrics.clone(),
        published,
    };
    std::thread::Builder::new()
        .name("audit-writer".into())
        .spawn(move || writer.run(records))
        .map_err(|_| AuditStartError::Gone)?;
    Ok(AuditLog {
        queue: Some(queue),
        metrics,
    })
}

async fn load_key(client: &Client, namespace: &str) -> Result<Signer, AuditStartError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let existing = api
        .get_opt(KEY_SECRET)
        .await
        .map_err(AuditStartError::Key)?;
    let secret = match existing {
        Some(secret) => secret,
        None => {
            let signer = Signer::generate();
            let secret = Secret {
                metadata: kube::api::ObjectMeta {
                    name: Some(KEY_SECRET.into()),
                    ..Default::default()
                },
                data: Some(BTreeMap::from([(
                    SEED_KEY.to_string(),
                    ByteString(signer.seed().to_vec()),
                )])),
                ..Default::default()
            };
            match api.create(&PostParams::default(), &secret).await {
                Ok(created) => created,
                // Another replica made it first: use theirs.
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    api.get(KEY_SECRET).await.map_err(AuditStartError::Key)?
                }
                Err(error) => return Err(AuditStartError::Key(error)),
            }
        }
    };
    let seed = secret
        .data
        .as_ref()
        .and_then(|d| d.get(SEED_KEY))
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.0.as_slice()).ok())
        .ok_or(AuditStartError::BadKey)?;
    Ok(Signer::from_seed(&seed))
}

/// Publishes each checkpoint the writer signs in the ConfigMap (the newest wins).
async fn publish(api: Api<ConfigMap>, mut checkpoints: mpsc::UnboundedReceiver<Checkpoint>) {
    while let Some(mut checkpoint) = checkpoints.recv().await {
        while let Ok(newer) = checkpoints.try_recv() {
            checkpoint = newer;
        }
        let text = serde_json::to_string(&checkpoint).unwrap_or_default();
        let patch = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CHECKPOINT_CONFIG_MAP},
            "data": {CHECKPOINT_KEY: text},
        });
        let params = PatchParams::apply(crate::app_loop::status_writer::CONTROLLER_MANAGER).force();
        if let Err(error) = api
            .patch(CHECKPOINT_CONFIG_MAP, &params, &Patch::Apply(&patch))
            .await
        {
            tracing::warn!(%error, seq = checkpoint.seq, "failed to publish the audit checkpoint");
        }
    }
}

struct Writer {
    store: Box<dyn Store>,
    signer: Signer,
    /// The newest checkpoint signed (or found published at start).
    last: Option<Checkpoint>,
    /// The entry `last` signed is gone or changed: nothing is signed any more.
    tampered: bool,
    config: AuditConfig,
    metrics: Arc<Metrics>,
    published: mpsc::UnboundedSender<Checkpoint>,
}

impl Writer {
    fn run(mut self, records: std_mpsc::Receiver<Box<Record>>) {
        let mut signed: Option<u64> = None;
        let mut last_checkpoint = Instant::now();
        let mut last_retention: Option<Instant> = None;
        if let Ok(Some(head)) = self.store.head() {
            self.metrics.audit_chain_length(head.seq);
        }
        loop {
            let wait = self
                .config
                .checkpoint_interval
                .saturating_sub(last_checkpoint.elapsed());
            let mut batch = Vec::new();
            match records.recv_timeout(wait) {
                Ok(record) => batch.push(*record),
                Err(std_mpsc::RecvTimeoutError::Timeout) => {}
                Err(std_mpsc::RecvTimeoutError::Disconnected) => {
                    self.checkpoint(&mut signed);
                    return;
                }
            }
            while batch.len() < BATCH {
                match records.try_recv() {
                    Ok(record) => batch.push(*record),
                    Err(_) => break,
                }
            }
            if !batch.is_empty() {
                self.append(&batch);
            }
            if last_checkpoint.elapsed() >= self.config.checkpoint_interval {
                self.checkpoint(&mut signed);
                last_checkpoint = Instant::now();
                if last_retention.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
                    self.retain();
                    last_retention = Some(Instant::now());
                }
            }
        }
    }

    /// Appends `batch`, retried for a while (a database restarting); then counted as lost.
    fn append(&mut self, batch: &[Record]) {
        for attempt in 0..30u32 {
            match self.store.append(batch) {
                Ok(entries) => {
                    if let Some(last) = entries.last() {
                        self.metrics.audit_chain_length(last.seq);
                    }
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, attempt, records = batch.len(), "failed to append to the audit log; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
        tracing::error!(
            records = batch.len(),
            "failed to append to the audit log: records lost"
        );
        self.metrics.audit_unwritten(batch.len() as u64);
    }

    /// Signs the head if it moved since the last checkpoint, stores and publishes it.
    fn checkpoint(&mut self, signed: &mut Option<u64>) {
        let head = match self.store.head() {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "failed to read the audit log's head");
                return;
            }
        };
        if *signed == Some(head.seq) || self.tampered || !self.follows_last() {
            return;
        }
        let checkpoint = self.signer.sign_head(&head, &driftless_audit::now());
        match self.store.save_checkpoint(&checkpoint) {
            Ok(()) => {
                *signed = Some(head.seq);
                self.last = Some(checkpoint.clone());
                let _ = self.published.send(checkpoint);
            }
            Err(error) => tracing::warn!(%error, "failed to store the audit checkpoint"),
        }
    }

    /// Whether the store still holds, unchanged, the entry the last checkpoint signed.
    fn follows_last(&mut self) -> bool {
        let Some(last) = &self.last else { return true };
        let found = match self.store.get(last.seq) {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(%error, "failed to read the audit log's checkpointed entry");
                return false;
            }
        };
        let kept = match &found {
            Some(entry) => entry.hash == last.hash,
            // Retention may have deleted it: then the anchor starts later.
            None => self
                .store
                .anchor()
                .ok()
                .flatten()
                .is_some_and(|anchor| anchor.seq > last.seq),
        };
        if !kept {
            tracing::error!(
                seq = last.seq,
                "the audit log no longer holds the entry its last checkpoint signed (edited or cut in \
                 the database); no checkpoint is signed over it. If the database is new on purpose, \
                 delete the ConfigMap {CHECKPOINT_CONFIG_MAP} and restart"
            );
            self.tampered = true;
        }
        kept
    }

    fn retain(&mut self) {
        let Some(keep) = self.config.retention else {
            return;
        };
        let Ok(keep) = k8s_openapi::jiff::SignedDuration::try_from(keep) else {
            return;
        };
        let Ok(cutoff) = k8s_openapi::jiff::Timestamp::now().checked_sub(keep) else {
            return;
        };
        let cutoff = driftless_audit::format_time(cutoff);
        let signer = &self.signer;
        let sign = |seq: u64, prev: &str| signer.sign_anchor(seq, prev, &driftless_audit::now());
        match self.store.retain(&cutoff, &sign) {
            Ok(0) => {}
            Ok(deleted) => {
                tracing::info!(deleted, before = %cutoff, "audit entries past retention deleted")
            }
            Err(error) => tracing::warn!(%error, "failed to apply the audit retention"),
        }
    }
}

/// The checkpoint published in the cluster, if any: what `verify` trusts over the database's
/// own copies (whoever can only edit the database cannot change it).
pub async fn published_checkpoint(
    client: &Client,
    namespace: &str,
) -> Result<Option<Checkpoint>, PublishedCheckpointError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let Some(map) = api
        .get_opt(CHECKPOINT_CONFIG_MAP)
        .await
        .map_err(PublishedCheckpointError::Read)?
    else {
        return Ok(None);
    };
    let Some(text) = map.data.as_ref().and_then(|d| d.get(CHECKPOINT_KEY)) else {
        return Ok(None);
    };
    serde_json::from_str(text)
        .map(Some)
        .map_err(PublishedCheckpointError::Parse)
}

#[derive(Debug, thiserror::Error)]
pub enum PublishedCheckpointError {
    #[error(
        "failed to read the published audit checkpoint (ConfigMap {CHECKPOINT_CONFIG_MAP}): {0}"
    )]
    Read(#[source] kube::Error),
    #[error(
        "failed to read the published audit checkpoint (ConfigMap {CHECKPOINT_CONFIG_MAP}): not a checkpoint: {0}"
    )]
    Parse(#[source] serde_json::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_audit::Kind;

    fn record(time: &str, app: &str) -> Record {
        Record {
            time: time.into(),
            kind: Some(Kind::SyncStarted),
            app: Some(app.into()),
            ..Record::default()
        }
    }

    fn writer(
        dir: &std::path::Path,
        retention: Option<Duration>,
    ) -> (Writer, mpsc::UnboundedReceiver<Checkpoint>) {
        let url = format!("sqlite://{}", dir.join("audit.db").display());
        let (published, checkpoints) = mpsc::unbounded_channel();
        let writer = Writer {
            store: driftless_audit::open(&url).unwrap(),
            signer: Signer::generate(),
            last: None,
            tampered: false,
            config: AuditConfig {
                database: url,
                checkpoint_interval: Duration::from_secs(1),
                retention,
            },
            metrics: Arc::new(Metrics::new()),
            published,
        };
        (writer, checkpoints)
    }

    #[test]
    fn a_moved_head_is_signed_once_and_published_and_retention_keeps_the_chain_verifiable() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, mut published) = writer(dir.path(), Some(Duration::from_secs(86_400)));
        let old = "2020-01-01T00:00:00.000Z";
        writer.append(&[record(old, "argocd/a"), record(old, "argocd/b")]);
        writer.append(&[record(&driftless_audit::now(), "argocd/c")]);
        let mut signed = None;
        writer.checkpoint(&mut signed);
        let checkpoint = published.try_recv().expect("the new head is published");
        assert_eq!(checkpoint.seq, 3);
        writer.checkpoint(&mut signed);
        assert!(
            published.try_recv().is_err(),
            "an unmoved head is not signed again"
        );

        writer.retain();
        let store = &mut writer.store;
        assert_eq!(
            store.len().unwrap(),
            1,
            "the entries past retention are gone"
        );
        let verified = driftless_audit::verify(
            store.all().unwrap(),
            store.anchor().unwrap().as_ref(),
            std::slice::from_ref(&checkpoint),
            Some(&checkpoint.public_key),
        )
        .expect("what is left verifies from the signed anchor");
        assert_eq!(verified.first, 3);
        assert!(
            writer.follows_last(),
            "the checkpointed entry is still there"
        );
    }
}
