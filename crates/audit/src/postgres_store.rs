//! The shared store: PostgreSQL, for several controller replicas appending to one log.
//!
//! Uses the sync client, which must not run on a tokio runtime's thread: async callers wrap
//! calls in `tokio::task::spawn_blocking`.

use postgres::{Client, NoTls, Transaction};

use crate::checkpoint::{Anchor, Checkpoint};
use crate::entry::{Entry, GENESIS, Head, Record, entry_hash};
use crate::filter::Filter;
use crate::store::{AuditError, Columns, Row, Store, cutoff, record_json, redact, seq_value};

/// The advisory lock every append, retention and schema creation takes, so replicas chain
/// one after another ("driftaud" in ASCII).
const LOCK: i64 = 0x6472_6966_7461_7564;

const COLUMNS: &str = r#"seq, prev_hash, hash, time, kind, app, project, "user", object, record"#;

pub(crate) struct PostgresStore {
    client: Client,
}

fn err(action: &'static str) -> impl FnOnce(postgres::Error) -> AuditError {
    move |source| AuditError::Postgres { action, source }
}

fn seq_of(seq: i64) -> Result<u64, AuditError> {
    u64::try_from(seq).map_err(|_| AuditError::BadRow {
        seq,
        reason: "its seq is negative",
    })
}

fn row(r: &postgres::Row) -> Result<Row, postgres::Error> {
    Ok(Row {
        seq: r.try_get(0)?,
        prev_hash: r.try_get(1)?,
        hash: r.try_get(2)?,
        time: r.try_get(3)?,
        kind: r.try_get(4)?,
        app: r.try_get(5)?,
        project: r.try_get(6)?,
        user: r.try_get(7)?,
        object: r.try_get(8)?,
        record: r.try_get(9)?,
    })
}

fn lock(tx: &mut Transaction<'_>) -> Result<(), AuditError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .map_err(err("take the append lock"))?;
    Ok(())
}

fn head_in(tx: &mut Transaction<'_>) -> Result<Option<Head>, AuditError> {
    tx.query_opt(
        "SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1",
        &[],
    )
    .map_err(err("read the head"))?
    .map(|r| {
        let seq: i64 = r.try_get(0).map_err(err("read the head"))?;
        Ok(Head {
            seq: seq_of(seq)?,
            hash: r.try_get(1).map_err(err("read the head"))?,
        })
    })
    .transpose()
}

impl PostgresStore {
    pub fn connect(url: &str) -> Result<Self, AuditError> {
        let mut client = Client::connect(url, NoTls).map_err(|source| AuditError::Connect {
            url: redact(url),
            source,
        })?;
        let mut tx = client
            .transaction()
            .map_err(err("begin creating the schema"))?;
        // Replicas starting together would race on CREATE ... IF NOT EXISTS otherwise.
        lock(&mut tx)?;
        tx.batch_execute(&crate::store::schema("BIGINT"))
            .map_err(err("create the schema"))?;
        tx.commit().map_err(err("commit the schema"))?;
        Ok(PostgresStore { client })
    }

    fn entries(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Entry>, AuditError> {
        let rows = self
            .client
            .query(sql, params)
            .map_err(err("read entries"))?;
        rows.iter()
            .map(|r| row(r).map_err(err("read an entry"))?.into_entry())
            .collect()
    }
}

impl Store for PostgresStore {
    fn append(&mut self, records: &[Record]) -> Result<Vec<Entry>, AuditError> {
        let jsons = records
            .iter()
            .map(record_json)
            .collect::<Result<Vec<_>, _>>()?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.client.transaction().map_err(err("begin an append"))?;
        lock(&mut tx)?;
        let (mut seq, mut prev_hash) = match head_in(&mut tx)? {
            Some(head) => (head.seq, head.hash),
            None => (0, GENESIS.to_string()),
        };
        let mut appended = Vec::with_capacity(records.len());
        for record in records {
            seq += 1;
            let hash = entry_hash(seq, &prev_hash, record);
            appended.push(Entry {
                seq,
                prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
                hash,
                record: record.clone(),
            });
        }
        // One round trip for the whole batch: a column array each, unnested into rows.
        let seqs = appended
            .iter()
            .map(|e| seq_value(e.seq))
            .collect::<Result<Vec<_>, _>>()?;
        let prev: Vec<&str> = appended.iter().map(|e| e.prev_hash.as_str()).collect();
        let hashes: Vec<&str> = appended.iter().map(|e| e.hash.as_str()).collect();
        let columns: Vec<Columns<'_>> = records.iter().map(Columns::of).collect();
        let times: Vec<&str> = columns.iter().map(|c| c.time).collect();
        let kinds: Vec<Option<&str>> = columns.iter().map(|c| c.kind.as_deref()).collect();
        let apps: Vec<Option<&str>> = columns.iter().map(|c| c.app).collect();
        let projects: Vec<Option<&str>> = columns.iter().map(|c| c.project).collect();
        let users: Vec<Option<&str>> = columns.iter().map(|c| c.user).collect();
        let objects: Vec<Option<&str>> = columns.iter().map(|c| c.object).collect();
        tx.execute(
            &format!(
                "INSERT INTO audit_entries ({COLUMNS})
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],
                   $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])"
            ),
            &[
                &seqs, &prev, &hashes, &times, &kinds, &apps, &projects, &users, &objects, &jsons,
            ],
        )
        .map_err(err("append entries"))?;
        tx.commit().map_err(err("commit an append"))?;
        Ok(appended)
    }

    fn head(&mut self) -> Result<Option<Head>, AuditError> {
        let mut tx = self
            .client
            .transaction()
            .map_err(err("begin reading the head"))?;
        let head = head_in(&mut tx)?;
        tx.commit().map_err(err("read the head"))?;
        Ok(head)
    }

    fn len(&mut self) -> Result<u64, AuditError> {
        let n: i64 = self
            .client
            .query_one("SELECT count(*) FROM audit_entries", &[])
            .and_then(|r| r.try_get(0))
            .map_err(err("count entries"))?;
        Ok(n.max(0) as u64)
    }

    fn list(&mut self, filter: &Filter) -> Result<Vec<Entry>, AuditError> {
        let kind = filter.kind.map(|k| k.to_string());
        let after = filter.after_seq.map(seq_value).transpose()?;
        let before = filter.before_seq.map(seq_value).transpose()?;
        let limit = filter.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let mut sql = format!("SELECT {COLUMNS} FROM audit_entries WHERE true");
        let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = Vec::new();
        let conditions: [(&str, Option<&(dyn postgres::types::ToSql + Sync)>); 8] = [
            (" AND app = $", filter.app.as_ref().map(|v| v as _)),
            (r#" AND "user" = $"#, filter.user.as_ref().map(|v| v as _)),
            (
                " AND strpos(object, $) > 0",
                filter.object.as_ref().map(|v| v as _),
            ),
            (" AND kind = $", kind.as_ref().map(|v| v as _)),
            (" AND time >= $", filter.since.as_ref().map(|v| v as _)),
            (" AND time < $", filter.until.as_ref().map(|v| v as _)),
            (" AND seq > $", after.as_ref().map(|v| v as _)),
            (" AND seq < $", before.as_ref().map(|v| v as _)),
        ];
        let mut add = |sql: &mut String, clause: &str, value| {
            params.push(value);
            sql.push_str(&clause.replace('$', &format!("${}", params.len())));
        };
        for (clause, value) in conditions {
            if let Some(value) = value {
                add(&mut sql, clause, value);
            }
        }
        sql.push_str(if filter.newest_first {
            " ORDER BY seq DESC"
        } else {
            " ORDER BY seq"
        });
        if let Some(limit) = &limit {
            add(&mut sql, " LIMIT $", limit);
        }
        self.entries(&sql, &params)
    }

    fn get(&mut self, seq: u64) -> Result<Option<Entry>, AuditError> {
        let seq = seq_value(seq)?;
        let sql = format!("SELECT {COLUMNS} FROM audit_entries WHERE seq = $1");
        Ok(self.entries(&sql, &[&seq])?.pop())
    }

    fn all(&mut self) -> Result<Vec<Entry>, AuditError> {
        self.entries(
            &format!("SELECT {COLUMNS} FROM audit_entries ORDER BY seq"),
            &[],
        )
    }

    fn save_checkpoint(&mut self, c: &Checkpoint) -> Result<(), AuditError> {
        let seq = seq_value(c.seq)?;
        self.client
            .execute(
                "INSERT INTO audit_checkpoints (seq, hash, time, public_key, signature)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (seq) DO UPDATE SET hash = excluded.hash, time = excluded.time,
                   public_key = excluded.public_key, signature = excluded.signature",
                &[&seq, &c.hash, &c.time, &c.public_key, &c.signature],
            )
            .map_err(err("save a checkpoint"))?;
        Ok(())
    }

    fn checkpoints(&mut self) -> Result<Vec<Checkpoint>, AuditError> {
        let rows = self
            .client
            .query(
                "SELECT seq, hash, time, public_key, signature FROM audit_checkpoints ORDER BY seq",
                &[],
            )
            .map_err(err("read checkpoints"))?;
        rows.iter()
            .map(|r| {
                Ok(Checkpoint {
                    seq: r.try_get::<_, i64>(0)?.max(0) as u64,
                    hash: r.try_get(1)?,
                    time: r.try_get(2)?,
                    public_key: r.try_get(3)?,
                    signature: r.try_get(4)?,
                })
            })
            .collect::<Result<_, postgres::Error>>()
            .map_err(err("read a checkpoint"))
    }

    fn anchor(&mut self) -> Result<Option<Anchor>, AuditError> {
        let row = self
            .client
            .query_opt(
                "SELECT seq, prev_hash, time, public_key, signature FROM audit_anchor WHERE id = 1",
                &[],
            )
            .map_err(err("read the anchor"))?;
        row.map(|r| {
            Ok(Anchor {
                seq: r.try_get::<_, i64>(0)?.max(0) as u64,
                prev_hash: r.try_get(1)?,
                time: r.try_get(2)?,
                public_key: r.try_get(3)?,
                signature: r.try_get(4)?,
            })
        })
        .transpose()
        .map_err(err("read the anchor"))
    }

    fn retain(
        &mut self,
        before: &str,
        sign: &dyn Fn(u64, &str) -> Anchor,
    ) -> Result<u64, AuditError> {
        let before = cutoff(before)?;
        let mut tx = self.client.transaction().map_err(err("begin retention"))?;
        lock(&mut tx)?;
        let bounds = tx
            .query_opt(
                "SELECT min(seq), max(seq), (SELECT min(seq) FROM audit_entries WHERE time >= $1)
                 FROM audit_entries HAVING count(*) > 0",
                &[&before],
            )
            .map_err(err("find the entries to delete"))?;
        let Some(bounds) = bounds else {
            return Ok(0);
        };
        let read = |i| {
            bounds
                .try_get::<_, Option<i64>>(i)
                .map_err(err("find the entries to delete"))
        };
        let (Some(first), Some(last), kept) = (read(0)?, read(1)?, read(2)?) else {
            return Ok(0);
        };
        let Some(keep) = crate::store::first_kept(first, last, kept) else {
            return Ok(0);
        };
        let prev_hash: String = tx
            .query_one(
                "SELECT prev_hash FROM audit_entries WHERE seq = $1",
                &[&keep],
            )
            .and_then(|r| r.try_get(0))
            .map_err(err("read the first kept entry"))?;
        let deleted = tx
            .execute("DELETE FROM audit_entries WHERE seq < $1", &[&keep])
            .map_err(err("delete old entries"))?;
        tx.execute("DELETE FROM audit_checkpoints WHERE seq < $1", &[&keep])
            .map_err(err("delete old checkpoints"))?;
        let a = sign(seq_of(keep)?, &prev_hash);
        let anchor_seq = seq_value(a.seq)?;
        tx.execute(
            "INSERT INTO audit_anchor (id, seq, prev_hash, time, public_key, signature)
             VALUES (1, $1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, prev_hash = excluded.prev_hash,
               time = excluded.time, public_key = excluded.public_key, signature = excluded.signature",
            &[&anchor_seq, &a.prev_hash, &a.time, &a.public_key, &a.signature],
        )
        .map_err(err("store the anchor"))?;
        tx.commit().map_err(err("commit retention"))?;
        Ok(deleted)
    }
}
