//! The embedded store: one SQLite file in WAL mode.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};

use crate::checkpoint::{Anchor, Checkpoint};
use crate::entry::{Entry, GENESIS, Head, Record, entry_hash};
use crate::filter::Filter;
use crate::store::{AuditError, Columns, Row, Store, cutoff, record_json, seq_value};

const COLUMNS: &str = r#"seq, prev_hash, hash, time, kind, app, project, "user", object, record"#;

pub(crate) struct SqliteStore {
    conn: Connection,
}

fn err(action: &'static str) -> impl FnOnce(rusqlite::Error) -> AuditError {
    move |source| AuditError::Sqlite { action, source }
}

impl SqliteStore {
    /// `None` is an in-memory database.
    pub fn open(path: Option<&Path>) -> Result<Self, AuditError> {
        let conn = match path {
            Some(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| AuditError::Directory {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                Connection::open(path).map_err(err("open the database file"))?
            }
            None => Connection::open_in_memory().map_err(err("open an in-memory database"))?,
        };
        // WAL lets readers (the CLI) go on while the controller appends; NORMAL sync is
        // durable across application crashes and cheap enough for batches.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err("switch to WAL mode"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err("set synchronous"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err("set a busy timeout"))?;
        conn.execute_batch(&crate::store::schema("INTEGER"))
            .map_err(err("create the schema"))?;
        Ok(SqliteStore { conn })
    }

    fn entries(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Entry>, AuditError> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(err("prepare a query"))?;
        let rows = stmt
            .query_map(params_from_iter(params), |r| {
                Ok(Row {
                    seq: r.get(0)?,
                    prev_hash: r.get(1)?,
                    hash: r.get(2)?,
                    time: r.get(3)?,
                    kind: r.get(4)?,
                    app: r.get(5)?,
                    project: r.get(6)?,
                    user: r.get(7)?,
                    object: r.get(8)?,
                    record: r.get(9)?,
                })
            })
            .map_err(err("read entries"))?;
        let mut entries = Vec::new();
        for row in rows {
            entries.push(row.map_err(err("read an entry"))?.into_entry()?);
        }
        Ok(entries)
    }
}

fn head_in(conn: &Connection) -> Result<Option<Head>, AuditError> {
    conn.query_row(
        "SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1",
        [],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
    )
    .optional()
    .map_err(err("read the head"))?
    .map(|(seq, hash)| {
        u64::try_from(seq)
            .map(|seq| Head { seq, hash })
            .map_err(|_| AuditError::BadRow {
                seq,
                reason: "its seq is negative",
            })
    })
    .transpose()
}

impl Store for SqliteStore {
    fn append(&mut self, records: &[Record]) -> Result<Vec<Entry>, AuditError> {
        let jsons = records
            .iter()
            .map(record_json)
            .collect::<Result<Vec<_>, _>>()?;
        // IMMEDIATE takes the write lock before reading the head, so two processes appending
        // to one file cannot both chain from the same head.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err("begin an append"))?;
        let (mut seq, mut prev_hash) = match head_in(&tx)? {
            Some(head) => (head.seq, head.hash),
            None => (0, GENESIS.to_string()),
        };
        let mut appended = Vec::with_capacity(records.len());
        {
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO audit_entries ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ))
                .map_err(err("prepare the append"))?;
            for (record, json) in records.iter().zip(&jsons) {
                seq += 1;
                let hash = entry_hash(seq, &prev_hash, record);
                let c = Columns::of(record);
                insert
                    .execute(params![
                        seq_value(seq)?,
                        prev_hash,
                        hash,
                        c.time,
                        c.kind,
                        c.app,
                        c.project,
                        c.user,
                        c.object,
                        json
                    ])
                    .map_err(err("append an entry"))?;
                appended.push(Entry {
                    seq,
                    prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
                    hash,
                    record: record.clone(),
                });
            }
        }
        tx.commit().map_err(err("commit an append"))?;
        Ok(appended)
    }

    fn head(&mut self) -> Result<Option<Head>, AuditError> {
        head_in(&self.conn)
    }

    fn len(&mut self) -> Result<u64, AuditError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM audit_entries", [], |r| r.get(0))
            .map_err(err("count entries"))?;
        Ok(n.max(0) as u64)
    }

    fn list(&mut self, filter: &Filter) -> Result<Vec<Entry>, AuditError> {
        let mut sql = format!("SELECT {COLUMNS} FROM audit_entries WHERE 1 = 1");
        let mut params: Vec<Value> = Vec::new();
        let mut add = |sql: &mut String, clause: &str, value: Value| {
            params.push(value);
            sql.push_str(&clause.replace('?', &format!("?{}", params.len())));
        };
        if let Some(app) = &filter.app {
            add(&mut sql, " AND app = ?", Value::Text(app.clone()));
        }
        if let Some(user) = &filter.user {
            add(&mut sql, r#" AND "user" = ?"#, Value::Text(user.clone()));
        }
        if let Some(object) = &filter.object {
            add(
                &mut sql,
                " AND instr(object, ?) > 0",
                Value::Text(object.clone()),
            );
        }
        if let Some(kind) = filter.kind {
            add(&mut sql, " AND kind = ?", Value::Text(kind.to_string()));
        }
        if let Some(since) = &filter.since {
            add(&mut sql, " AND time >= ?", Value::Text(since.clone()));
        }
        if let Some(until) = &filter.until {
            add(&mut sql, " AND time < ?", Value::Text(until.clone()));
        }
        if let Some(after) = filter.after_seq {
            add(&mut sql, " AND seq > ?", Value::Integer(seq_value(after)?));
        }
        if let Some(before) = filter.before_seq {
            add(&mut sql, " AND seq < ?", Value::Integer(seq_value(before)?));
        }
        sql.push_str(if filter.newest_first {
            " ORDER BY seq DESC"
        } else {
            " ORDER BY seq"
        });
        if let Some(limit) = filter.limit {
            add(
                &mut sql,
                " LIMIT ?",
                Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)),
            );
        }
        self.entries(&sql, params)
    }

    fn get(&mut self, seq: u64) -> Result<Option<Entry>, AuditError> {
        let sql = format!("SELECT {COLUMNS} FROM audit_entries WHERE seq = ?1");
        Ok(self
            .entries(&sql, vec![Value::Integer(seq_value(seq)?)])?
            .pop())
    }

    fn all(&mut self) -> Result<Vec<Entry>, AuditError> {
        self.entries(
            &format!("SELECT {COLUMNS} FROM audit_entries ORDER BY seq"),
            Vec::new(),
        )
    }

    fn save_checkpoint(&mut self, c: &Checkpoint) -> Result<(), AuditError> {
        // A head that did not move between checkpoints is signed again: keep the newest.
        self.conn
            .execute(
                "INSERT INTO audit_checkpoints (seq, hash, time, public_key, signature)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (seq) DO UPDATE SET hash = excluded.hash, time = excluded.time,
                   public_key = excluded.public_key, signature = excluded.signature",
                params![seq_value(c.seq)?, c.hash, c.time, c.public_key, c.signature],
            )
            .map_err(err("save a checkpoint"))?;
        Ok(())
    }

    fn checkpoints(&mut self) -> Result<Vec<Checkpoint>, AuditError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, hash, time, public_key, signature FROM audit_checkpoints ORDER BY seq",
            )
            .map_err(err("prepare a query"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                ))
            })
            .map_err(err("read checkpoints"))?;
        let mut checkpoints = Vec::new();
        for row in rows {
            let (seq, hash, time, public_key, signature) = row.map_err(err("read a checkpoint"))?;
            checkpoints.push(Checkpoint {
                seq: seq.max(0) as u64,
                hash,
                time,
                public_key,
                signature,
            });
        }
        Ok(checkpoints)
    }

    fn anchor(&mut self) -> Result<Option<Anchor>, AuditError> {
        self.conn
            .query_row(
                "SELECT seq, prev_hash, time, public_key, signature FROM audit_anchor WHERE id = 1",
                [],
                |r| {
                    Ok(Anchor {
                        seq: r.get::<_, i64>(0)?.max(0) as u64,
                        prev_hash: r.get(1)?,
                        time: r.get(2)?,
                        public_key: r.get(3)?,
                        signature: r.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(err("read the anchor"))
    }

    fn retain(
        &mut self,
        before: &str,
        sign: &dyn Fn(u64, &str) -> Anchor,
    ) -> Result<u64, AuditError> {
        let before = cutoff(before)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err("begin retention"))?;
        // The first entry to keep: the oldest at or after the cutoff, but never past the newest.
        let bounds: Option<(i64, i64, Option<i64>)> = tx
            .query_row(
                "SELECT min(seq), max(seq), (SELECT min(seq) FROM audit_entries WHERE time >= ?1)
                 FROM audit_entries HAVING count(*) > 0",
                params![before],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(err("find the entries to delete"))?;
        let Some((first, last, kept)) = bounds else {
            return Ok(0);
        };
        let Some(keep) = crate::store::first_kept(first, last, kept) else {
            return Ok(0);
        };
        let prev_hash: String = tx
            .query_row(
                "SELECT prev_hash FROM audit_entries WHERE seq = ?1",
                params![keep],
                |r| r.get(0),
            )
            .map_err(err("read the first kept entry"))?;
        let deleted = tx
            .execute("DELETE FROM audit_entries WHERE seq < ?1", params![keep])
            .map_err(err("delete old entries"))?;
        tx.execute(
            "DELETE FROM audit_checkpoints WHERE seq < ?1",
            params![keep],
        )
        .map_err(err("delete old checkpoints"))?;
        let a = sign(keep as u64, &prev_hash);
        tx.execute(
            "INSERT INTO audit_anchor (id, seq, prev_hash, time, public_key, signature)
             VALUES (1, ?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, prev_hash = excluded.prev_hash,
               time = excluded.time, public_key = excluded.public_key, signature = excluded.signature",
            params![seq_value(a.seq)?, a.prev_hash, a.time, a.public_key, a.signature],
        )
        .map_err(err("store the anchor"))?;
        tx.commit().map_err(err("commit retention"))?;
        Ok(deleted as u64)
    }
}
