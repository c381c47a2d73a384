//! A fresh database per test, and raw SQL on it.

use std::path::PathBuf;

pub struct Backend {
    pub url: String,
    kind: Kind,
}

enum Kind {
    Sqlite {
        path: PathBuf,
        _dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        database: String,
    },
}

impl Backend {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.db");
        Backend {
            url: format!("sqlite://{}", path.display()),
            kind: Kind::Sqlite { path, _dir: dir },
        }
    }

    /// A new database `audit_test_<random>` on the server, or `None` (skip) when no server is
    /// named and none is required.
    pub fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("DRIFTLESS_TEST_POSTGRES_URL") else {
            let required = ["CI", "DRIFTLESS_REQUIRE_POSTGRES"]
                .iter()
                .any(|v| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false"));
            assert!(
                !required,
                "DRIFTLESS_TEST_POSTGRES_URL is not set, and CI or DRIFTLESS_REQUIRE_POSTGRES requires the PostgreSQL tests: run `hack/postgres up && eval \"$(hack/postgres env)\"`"
            );
            eprintln!(
                "skipped: DRIFTLESS_TEST_POSTGRES_URL is not set (hack/postgres up; eval \"$(hack/postgres env)\")"
            );
            return None;
        };
        let database = format!("audit_test_{:016x}", rand::random::<u64>());
        let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {database}"))
            .unwrap();
        Some(Backend {
            url: with_database(&admin_url, &database),
            kind: Kind::Postgres {
                admin_url,
                database,
            },
        })
    }

    /// Runs SQL statements directly on the database, as its administrator would.
    pub fn sql(&self, sql: &str) {
        match &self.kind {
            Kind::Sqlite { path, .. } => rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Kind::Postgres { .. } => postgres::Client::connect(&self.url, postgres::NoTls)
                .unwrap()
                .batch_execute(sql)
                .unwrap(),
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Kind::Postgres {
            admin_url,
            database,
        } = &self.kind
            && let Ok(mut admin) = postgres::Client::connect(admin_url, postgres::NoTls)
        {
            let _ =
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
        }
    }
}

/// `url` naming another database: the path after the host replaced, any query kept.
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest[end..].find('?').map_or("", |q| &rest[end + q..]);
    format!("{scheme}://{}/{database}{query}", &rest[..end])
}

#[test]
fn with_database_replaces_only_the_path() {
    assert_eq!(
        with_database("postgres://u@h:1/postgres", "x"),
        "postgres://u@h:1/x"
    );
    assert_eq!(with_database("postgres://u@h:1", "x"), "postgres://u@h:1/x");
    assert_eq!(
        with_database("postgresql://h/db?sslmode=disable", "x"),
        "postgresql://h/x?sslmode=disable"
    );
}
