//! Where entries live: the [`Store`] trait, and [`open`], which picks SQLite or PostgreSQL by
//! URL.

use crate::checkpoint::{Anchor, Checkpoint};
use crate::entry::{Entry, Head, Record};
use crate::filter::Filter;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("failed to {action} in the SQLite audit database")]
    Sqlite {
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("failed to {action} in the PostgreSQL audit database")]
    Postgres {
        action: &'static str,
        #[source]
        source: postgres::Error,
    },
    /// `url` never carries a password.
    #[error("failed to open the audit database {url}: {reason}")]
    Url { url: String, reason: String },
    #[error("failed to record an audit entry: {0}")]
    Invalid(String),
    #[error("failed to read audit entry {seq}: its stored record is not valid JSON of an entry")]
    Corrupt {
        seq: u64,
        #[source]
        source: serde_json::Error,
    },
    /// The columns a listing filters on say otherwise than the (hashed) record, so filtered
    /// listings could hide or show the wrong entries.
    #[error(
        "failed to read audit entry {seq}: its {column} column does not match its record (the database was edited)"
    )]
    Mismatch { seq: u64, column: &'static str },
    #[error("failed to connect to the PostgreSQL audit database {url}")]
    Connect {
        /// Never carries a password.
        url: String,
        #[source]
        source: postgres::Error,
    },
    #[error("failed to read audit entry {seq}: {reason}")]
    BadRow { seq: i64, reason: &'static str },
    #[error("failed to create the directory of the audit database {path}")]
    Directory {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// An audit log's storage. Appends chain from the stored head, so several writers (replicas)
/// serialize on the database, not on memory.
pub trait Store: Send {
    /// In one transaction: chains `records` from the head, seq = head+1.., and returns them as
    /// stored. Refuses a record without a kind.
    fn append(&mut self, records: &[Record]) -> Result<Vec<Entry>, AuditError>;
    fn head(&mut self) -> Result<Option<Head>, AuditError>;
    fn len(&mut self) -> Result<u64, AuditError>;
    fn is_empty(&mut self) -> Result<bool, AuditError> {
        Ok(self.len()? == 0)
    }
    /// Seq order, oldest first from `after_seq`, at most `limit`.
    fn list(&mut self, filter: &Filter) -> Result<Vec<Entry>, AuditError>;
    fn get(&mut self, seq: u64) -> Result<Option<Entry>, AuditError>;
    /// Every entry in seq order, for verify and export.
    fn all(&mut self) -> Result<Vec<Entry>, AuditError>;
    fn save_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), AuditError>;
    /// In seq order.
    fn checkpoints(&mut self) -> Result<Vec<Checkpoint>, AuditError>;
    fn anchor(&mut self) -> Result<Option<Anchor>, AuditError>;
    /// Deletes entries older than `before` (RFC 3339) in one transaction, keeping at least the
    /// newest entry, and stores the anchor `sign` makes (from the first kept entry's seq and
    /// prev_hash); returns how many were deleted. Checkpoints older than the anchor go too.
    fn retain(
        &mut self,
        before: &str,
        sign: &dyn Fn(u64, &str) -> Anchor,
    ) -> Result<u64, AuditError>;
}

/// Where the controller and the CLI keep the log unless told otherwise:
/// `sqlite://$HOME/.cache/driftless/audit.db`.
pub fn default_database_url() -> String {
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".to_string());
    format!("sqlite://{home}/.cache/driftless/audit.db")
}

/// Opens (creating its schema if missing) the log at `url`: `sqlite:///abs/path.db`,
/// `sqlite://relative.db`, `sqlite::memory:`, a bare path, or `postgres://…` /
/// `postgresql://…`.
pub fn open(url: &str) -> Result<Box<dyn Store>, AuditError> {
    match location(url)? {
        Location::Postgres => Ok(Box::new(crate::postgres_store::PostgresStore::connect(
            url,
        )?)),
        Location::Sqlite(path) => Ok(Box::new(crate::sqlite_store::SqliteStore::open(
            path.as_deref(),
        )?)),
    }
}

/// [`open`], but a SQLite file that does not exist is an error rather than a new, empty log:
/// for readers, to whom a mistyped path must not verify as an empty log.
pub fn open_existing(url: &str) -> Result<Box<dyn Store>, AuditError> {
    if let Location::Sqlite(Some(path)) = location(url)?
        && !path.exists()
    {
        return Err(AuditError::Url {
            url: redact(url),
            reason: format!("there is no file {}", path.display()),
        });
    }
    open(url)
}

enum Location {
    Postgres,
    /// `None`: in memory.
    Sqlite(Option<std::path::PathBuf>),
}

fn location(url: &str) -> Result<Location, AuditError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Location::Postgres);
    }
    let path = if url == "sqlite::memory:" {
        return Ok(Location::Sqlite(None));
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        path
    } else if let Some(path) = url.strip_prefix("sqlite:") {
        path
    } else if url.contains("://") {
        return Err(AuditError::Url {
            url: redact(url),
            reason: "the scheme is not sqlite, postgres or postgresql".to_string(),
        });
    } else {
        url
    };
    if path.is_empty() {
        return Err(AuditError::Url {
            url: redact(url),
            reason: "it names no file".to_string(),
        });
    }
    Ok(Location::Sqlite(Some(path.into())))
}

/// `url` with any password replaced by `***`, fit for an error message.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return redact_query(url);
    };
    let user = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => userinfo.to_string(),
    };
    redact_query(&format!("{scheme}://{user}@{host}{tail}"))
}

// libpq URLs may carry the password as a query parameter too.
fn redact_query(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// `before` in the stored time format, so it compares as text.
pub(crate) fn cutoff(before: &str) -> Result<String, AuditError> {
    crate::entry::normalize_time(before).map_err(|e| AuditError::Invalid(e.to_string()))
}

/// The first entry retention keeps, given the log's first and last seq and the oldest at or
/// after the cutoff: never past the newest; None when nothing is to be deleted.
pub(crate) fn first_kept(first: i64, last: i64, at_cutoff: Option<i64>) -> Option<i64> {
    let keep = at_cutoff.unwrap_or(last).min(last);
    (keep > first).then_some(keep)
}

/// A record as stored: refused without a kind, its JSON text.
pub(crate) fn record_json(record: &Record) -> Result<String, AuditError> {
    if record.kind.is_none() {
        return Err(AuditError::Invalid("a record has no kind".to_string()));
    }
    if record.time.is_empty() {
        return Err(AuditError::Invalid("a record has no time".to_string()));
    }
    serde_json::to_string(record)
        .map_err(|_| AuditError::Invalid("a record does not serialize".to_string()))
}

/// The columns a row stores beside its record; what listings filter on.
pub(crate) struct Columns<'a> {
    pub time: &'a str,
    pub kind: Option<String>,
    pub app: Option<&'a str>,
    pub project: Option<&'a str>,
    pub user: Option<&'a str>,
    pub object: Option<&'a str>,
}

impl<'a> Columns<'a> {
    pub fn of(record: &'a Record) -> Self {
        Columns {
            time: &record.time,
            kind: record.kind.map(|k| k.to_string()),
            app: record.app.as_deref(),
            project: record.project.as_deref(),
            user: record.user.as_deref(),
            object: record.object.as_deref(),
        }
    }
}

/// A stored row back into an entry, refusing one whose filter columns disagree with its
/// record.
pub(crate) struct Row {
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub time: String,
    pub kind: Option<String>,
    pub app: Option<String>,
    pub project: Option<String>,
    pub user: Option<String>,
    pub object: Option<String>,
    pub record: String,
}

impl Row {
    pub fn into_entry(self) -> Result<Entry, AuditError> {
        let seq = u64::try_from(self.seq).map_err(|_| AuditError::BadRow {
            seq: self.seq,
            reason: "its seq is negative",
        })?;
        let record: Record = serde_json::from_str(&self.record)
            .map_err(|source| AuditError::Corrupt { seq, source })?;
        let stored = Columns::of(&record);
        let mismatch = |column| Err(AuditError::Mismatch { seq, column });
        if stored.time != self.time {
            return mismatch("time");
        }
        if stored.kind != self.kind {
            return mismatch("kind");
        }
        if stored.app != self.app.as_deref() {
            return mismatch("app");
        }
        if stored.project != self.project.as_deref() {
            return mismatch("project");
        }
        if stored.user != self.user.as_deref() {
            return mismatch("user");
        }
        if stored.object != self.object.as_deref() {
            return mismatch("object");
        }
        Ok(Entry {
            seq,
            prev_hash: self.prev_hash,
            hash: self.hash,
            record,
        })
    }
}

/// The tables and indexes, alike in both databases but for the integer type of the sequence
/// numbers (`INTEGER` in SQLite, whose primary key it makes the row id; `BIGINT` in PostgreSQL).
const SCHEMA_TEMPLATE: &str = r#"
CREATE TABLE IF NOT EXISTS audit_entries (
    seq {integer} PRIMARY KEY,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    time TEXT NOT NULL,
    kind TEXT NOT NULL,
    app TEXT,
    project TEXT,
    "user" TEXT,
    object TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_entries_app ON audit_entries (app, seq);
CREATE INDEX IF NOT EXISTS audit_entries_user ON audit_entries ("user", seq);
CREATE INDEX IF NOT EXISTS audit_entries_time ON audit_entries (time);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq {integer} PRIMARY KEY,
    hash TEXT NOT NULL,
    time TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq {integer} NOT NULL,
    prev_hash TEXT NOT NULL,
    time TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL
);
"#;

pub(crate) fn schema(integer: &str) -> String {
    SCHEMA_TEMPLATE.replace("{integer}", integer)
}

/// A sequence number as both databases store it.
pub(crate) fn seq_value(seq: u64) -> Result<i64, AuditError> {
    i64::try_from(seq).map_err(|_| AuditError::Invalid(format!("seq {seq} is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            redact("postgres://u:s3cret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("postgresql://h/db?user=u&password=s3cret&sslmode=disable"),
            "postgresql://h/db?user=u&password=***&sslmode=disable"
        );
        assert_eq!(redact("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn unknown_schemes_are_refused_without_the_password() {
        let Err(e) = open("mysql://root:s3cret@h/db") else {
            panic!("opened a mysql URL")
        };
        assert!(matches!(e, AuditError::Url { .. }));
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
