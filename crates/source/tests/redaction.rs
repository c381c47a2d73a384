//! Credentials never appear in errors, logs or the cache directory, whichever way they were
//! given (inside the URL or as configured credentials) and whichever way an operation fails.

use std::io::Write;
use std::sync::{Arc, Mutex};

use driftless_source::testing::{GitHttpServer, ScratchRepo};
use driftless_source::{RepoCache, RepoCredentials, redact_url};

/// Collects everything logged at debug level and above.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path)
            } else {
                found.push(path)
            }
        }
    }
    found
}

#[test]
fn secrets_stay_out_of_errors_logs_and_the_cache() {
    const USER: &str = "carol";
    const PASSWORD: &str = "Pa55-word-xyz";
    const WRONG: &str = "wr0ng-secret-abc";
    let source = ScratchRepo::new();
    source.write("app.yaml", "kind: ConfigMap\n");
    source.commit("first");
    let server = GitHttpServer::builder(source.root())
        .basic_auth(USER, PASSWORD)
        .start()
        .expect("server");
    let plain = server.url(&source.name());
    let in_url = plain.replacen("http://", &format!("http://{USER}:{PASSWORD}@"), 1);
    let wrong_in_url = plain.replacen("http://", &format!("http://{USER}:{WRONG}@"), 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = RepoCache::new(dir.path().join("cache")).expect("cache");

    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();

    let mut shown_errors = Vec::new();
    tracing::subscriber::with_default(subscriber, || {
        cache
            .sync(&in_url, &RepoCredentials::anonymous(), "main")
            .expect("sync with credentials in the URL");
        cache
            .fetch(&plain, &RepoCredentials::basic(USER, PASSWORD))
            .expect("fetch with configured credentials");
        let failures = [
            cache
                .ls_remote(&wrong_in_url, &RepoCredentials::anonymous())
                .map(|_| ()),
            cache
                .fetch(&wrong_in_url, &RepoCredentials::anonymous())
                .map(|_| ()),
            cache
                .fetch(&plain, &RepoCredentials::basic(USER, WRONG))
                .map(|_| ()),
            cache.resolve(&in_url, "no-such-branch").map(|_| ()),
            cache
                .sync(&in_url, &RepoCredentials::anonymous(), "no-such-branch")
                .map(|_| ()),
            // Nothing listens on port 1: a connection error that prints the URL it tried.
            cache
                .fetch(
                    &format!("http://{USER}:{PASSWORD}@127.0.0.1:1/repo"),
                    &RepoCredentials::anonymous(),
                )
                .map(|_| ()),
        ];
        for failure in failures {
            let err = failure.expect_err("this operation fails");
            shown_errors.push(format!("{err}"));
            shown_errors.push(format!("{err:?}"));
        }
    });

    for shown in &shown_errors {
        assert!(
            !shown.contains(PASSWORD) && !shown.contains(WRONG),
            "leaked: {shown}"
        );
    }
    assert!(
        shown_errors
            .iter()
            .any(|e| e.contains(&redact_url(&in_url))),
        "errors name the redacted URL"
    );

    let logs = captured.text();
    assert!(logs.contains("fetched"), "the fetch was logged: {logs}");
    assert!(logs.contains(&plain), "logs name the redacted URL: {logs}");
    assert!(
        !logs.contains(PASSWORD) && !logs.contains(WRONG),
        "leaked into logs: {logs}"
    );

    for file in files_under(dir.path()) {
        let bytes = std::fs::read(&file).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(PASSWORD),
            "{} holds the password",
            file.display()
        );
        assert!(!text.contains(&plain), "{} holds the URL", file.display());
    }
}
