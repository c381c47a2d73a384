//! Fetching over smart HTTP from `git http-backend` on 127.0.0.1: the cheap ref check, basic
//! auth, and one network fetch for many concurrent callers.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use driftless_source::testing::{GitHttpServer, ScratchRepo};
use driftless_source::{
    CacheError, CacheOptions, CommitId, RemoteError, RepoCache, RepoCredentials,
};
use pretty_assertions::assert_eq;

fn id(hex: &str) -> CommitId {
    hex.parse().expect("a commit id")
}

fn source_with_commit() -> (ScratchRepo, String) {
    let source = ScratchRepo::new();
    source.write("apps/web/deployment.yaml", "kind: Deployment\n");
    let commit = source.commit("first");
    (source, commit)
}

fn new_cache() -> (tempfile::TempDir, RepoCache) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = RepoCache::new(dir.path().join("cache")).expect("cache");
    (dir, cache)
}

#[test]
fn ls_remote_sees_a_moved_branch_without_fetching() {
    let (source, first) = source_with_commit();
    let server = GitHttpServer::start(source.root()).expect("server");
    let url = server.url(&source.name());
    let (_dir, cache) = new_cache();
    let anonymous = RepoCredentials::anonymous();

    let synced = cache.sync(&url, &anonymous, "main").expect("sync");
    assert_eq!((synced.commit, synced.fetched), (id(&first), true));
    assert_eq!(server.count("fetch"), 1);
    let repo = cache.repo(&url).expect("repo");
    assert_eq!(
        repo.read_file(synced.commit, "apps/web/deployment.yaml")
            .expect("file"),
        b"kind: Deployment\n"
    );

    // A new commit is pushed (committed in the served repository).
    source.write(
        "apps/web/deployment.yaml",
        "kind: Deployment\nreplicas: 2\n",
    );
    let second = source.commit("scale");

    server.clear_log();
    let refs = cache.ls_remote(&url, &anonymous).expect("ls-remote");
    assert_eq!(
        refs.resolve("main"),
        Some(id(&second)),
        "the move is visible"
    );
    assert_eq!(refs.resolve("HEAD"), Some(id(&second)));
    assert_eq!(server.count("fetch"), 0, "listing refs downloads no pack");
    assert_eq!(server.count("ls-refs"), 1);
    // The cache itself has not moved yet.
    assert_eq!(cache.resolve(&url, "main").expect("resolve"), id(&first));

    let synced = cache.sync(&url, &anonymous, "main").expect("sync");
    assert_eq!((synced.commit, synced.fetched), (id(&second), true));
    assert_eq!(server.count("fetch"), 1);
    assert_eq!(cache.resolve(&url, "main").expect("resolve"), id(&second));

    // Nothing changed since: the poll is a ref listing only.
    server.clear_log();
    let synced = cache.sync(&url, &anonymous, "main").expect("sync");
    assert_eq!((synced.commit, synced.fetched), (id(&second), false));
    assert_eq!((server.count("ls-refs"), server.count("fetch")), (1, 0));
}

#[test]
fn annotated_tags_are_peeled_in_listings_and_in_the_cache() {
    let (source, first) = source_with_commit();
    let tag_object = source.annotated_tag("v1.0.0", "release");
    assert_ne!(tag_object, first);
    source.write("README.md", "later\n");
    source.commit("later");
    let server = GitHttpServer::start(source.root()).expect("server");
    let url = server.url(&source.name());
    let (_dir, cache) = new_cache();

    let refs = cache
        .ls_remote(&url, &RepoCredentials::anonymous())
        .expect("ls-remote");
    assert_eq!(refs.resolve("v1.0.0"), Some(id(&first)));
    let synced = cache
        .sync(&url, &RepoCredentials::anonymous(), "v1.0.0")
        .expect("sync");
    assert_eq!(synced.commit, id(&first));
}

#[test]
fn basic_auth_credentials_reach_the_server() {
    let (source, first) = source_with_commit();
    let server = GitHttpServer::builder(source.root())
        .basic_auth("alice", "s3cret-pw")
        .start()
        .expect("server");
    let url = server.url(&source.name());
    let (_dir, cache) = new_cache();

    let err = cache
        .fetch(&url, &RepoCredentials::anonymous())
        .expect_err("needs credentials");
    assert!(
        matches!(err, CacheError::Remote(RemoteError::ListRefs { .. })),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("failed to list the refs of {url}")),
        "{err}"
    );

    let err = cache
        .fetch(&url, &RepoCredentials::basic("alice", "wrong-pw"))
        .expect_err("wrong password");
    assert!(!format!("{err} {err:?}").contains("wrong-pw"), "{err:?}");

    let report = cache
        .fetch(&url, &RepoCredentials::basic("alice", "s3cret-pw"))
        .expect("fetch");
    assert_eq!(report.refs.resolve("main"), Some(id(&first)));
    let fetches: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.git_command.as_deref() == Some("fetch"))
        .collect();
    assert_eq!(fetches.len(), 1);
    assert!(
        fetches[0].authorized && fetches[0].status == 200,
        "{fetches:?}"
    );
}

#[test]
fn credentials_inside_the_url_work_and_are_never_shown() {
    let (source, first) = source_with_commit();
    let server = GitHttpServer::builder(source.root())
        .basic_auth("bob", "url-pass-42")
        .start()
        .expect("server");
    let plain = server.url(&source.name());
    let with_creds = plain.replacen("http://", "http://bob:url-pass-42@", 1);
    let (_dir, cache) = new_cache();

    let synced = cache
        .sync(&with_creds, &RepoCredentials::anonymous(), "main")
        .expect("sync");
    assert_eq!(synced.commit, id(&first));
    // The cache entry is the one of the plain URL: credentials do not name cache directories.
    assert_eq!(cache.repo_path(&with_creds), cache.repo_path(&plain));

    let wrong = plain.replacen("http://", "http://bob:not-the-pass-7@", 1);
    let err = cache
        .ls_remote(&wrong, &RepoCredentials::anonymous())
        .expect_err("wrong password");
    let shown = format!("{err} / {err:?}");
    assert!(!shown.contains("not-the-pass-7"), "{shown}");
    assert!(shown.contains(&plain), "names the redacted URL: {shown}");

    let err = cache
        .resolve(&with_creds, "no-such-branch")
        .expect_err("unknown revision");
    let shown = format!("{err} / {err:?}");
    assert!(!shown.contains("url-pass-42"), "{shown}");
    assert!(shown.contains(&plain), "{shown}");
}

#[test]
fn concurrent_fetches_of_one_url_share_one_network_fetch() {
    let (source, first) = source_with_commit();
    let server = GitHttpServer::builder(source.root())
        .fetch_delay(Duration::from_millis(600))
        .start()
        .expect("server");
    let url = server.url(&source.name());
    let (_dir, cache) = new_cache();
    let cache = Arc::new(cache);

    let callers = 8;
    let barrier = Arc::new(Barrier::new(callers));
    let handles: Vec<_> = (0..callers)
        .map(|_| {
            let (cache, barrier, url) = (cache.clone(), barrier.clone(), url.clone());
            std::thread::spawn(move || {
                barrier.wait();
                cache.fetch(&url, &RepoCredentials::anonymous())
            })
        })
        .collect();
    for handle in handles {
        let report = handle.join().expect("thread").expect("fetch");
        assert_eq!(report.refs.resolve("main"), Some(id(&first)));
    }
    assert_eq!(
        server.count("fetch"),
        1,
        "one network fetch for {callers} callers"
    );
    assert_eq!(cache.network_fetches(), 1);
}

#[test]
fn different_urls_fetch_in_parallel() {
    let one = ScratchRepo::named("one");
    one.write("a.yaml", "a: 1\n");
    one.commit("one");
    let two = ScratchRepo::named("two");
    two.write("b.yaml", "b: 1\n");
    two.commit("two");
    // One server for both: its root links to the two repositories.
    let root = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(one.path(), root.path().join("one")).expect("link");
    std::os::unix::fs::symlink(two.path(), root.path().join("two")).expect("link");
    let server = GitHttpServer::builder(root.path())
        .fetch_delay(Duration::from_millis(800))
        .start()
        .expect("server");
    let (_dir, cache) = new_cache();
    let cache = Arc::new(cache);

    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = [server.url("one"), server.url("two")]
        .into_iter()
        .map(|url| {
            let (cache, barrier) = (cache.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                cache.fetch(&url, &RepoCredentials::anonymous())
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("thread").expect("fetch");
    }
    assert_eq!(server.count("fetch"), 2);
    assert_eq!(
        server.max_concurrent_fetches(),
        2,
        "the two fetches overlapped"
    );
    assert_eq!(
        cache.resolve(&server.url("two"), "main").expect("resolve"),
        id(&two.head())
    );
}

#[test]
fn a_stuck_server_times_out_instead_of_hanging() {
    let (source, _first) = source_with_commit();
    let server = GitHttpServer::builder(source.root())
        .fetch_delay(Duration::from_secs(3))
        .start()
        .expect("server");
    let url = server.url(&source.name());
    let dir = tempfile::tempdir().expect("temp dir");
    let options = CacheOptions {
        http_timeout: Duration::from_millis(800),
        ..CacheOptions::default()
    };
    let cache = RepoCache::with_options(dir.path().join("cache"), options).expect("cache");

    // Listing refs is quick and succeeds; the delayed pack request exceeds the limit.
    cache
        .ls_remote(&url, &RepoCredentials::anonymous())
        .expect("ls-remote");
    let started = std::time::Instant::now();
    let err = cache
        .fetch(&url, &RepoCredentials::anonymous())
        .expect_err("times out");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up after {:?}",
        started.elapsed()
    );
    assert!(
        err.to_string()
            .starts_with(&format!("failed to fetch {url}")),
        "{err}"
    );
    assert!(err.to_string().contains("timed out"), "{err}");
}
