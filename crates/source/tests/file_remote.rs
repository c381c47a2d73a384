//! Fetching over file:// into the cache and reading what was fetched: revisions, trees, files,
//! globs and exports, against repositories built with the git CLI.

use std::os::unix::fs::PermissionsExt;

use driftless_source::testing::ScratchRepo;
use driftless_source::{
    CacheError, CommitId, ExportError, PathKind, ReadError, RepoCache, RepoCredentials,
};
use pretty_assertions::assert_eq;

/// main: two commits (v1.0.0 annotated and `light` lightweight on the first); feature: one more.
struct Fixture {
    source: ScratchRepo,
    first: String,
    second: String,
    feature: String,
}

fn fixture() -> Fixture {
    let source = ScratchRepo::new();
    source
        .write("README.md", "hello\n")
        .write("apps/guestbook/deployment.yaml", "kind: Deployment\n")
        .write("apps/guestbook/service.yaml", "kind: Service\n")
        .write("apps/redis/values.yaml", "replicas: 1\n")
        .write("charts/demo/Chart.yaml", "name: demo\n")
        .write("charts/demo/values.yaml", "a: 1\n")
        .write("charts/demo/templates/cm.yaml", "kind: ConfigMap\n")
        .symlink("charts/demo/values-prod.yaml", "values.yaml")
        .write("cluster-config/dev/config.json", "{\"env\":\"dev\"}\n")
        .write("cluster-config/prod/eu/config.json", "{\"env\":\"prod\"}\n")
        .write("scripts/run.sh", "#!/bin/sh\necho hi\n")
        .make_executable("scripts/run.sh");
    let first = source.commit("first");
    source.annotated_tag("v1.0.0", "release 1");
    source.tag("light");
    source.write("README.md", "hello again\n");
    let second = source.commit("second");
    source.checkout_new_branch("feature");
    source.write("apps/new/app.yaml", "kind: Namespace\n");
    let feature = source.commit("feature work");
    source.checkout("main");
    Fixture {
        source,
        first,
        second,
        feature,
    }
}

fn id(hex: &str) -> CommitId {
    hex.parse().expect("a commit id")
}

fn fetched(fx: &Fixture) -> (tempfile::TempDir, RepoCache) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = RepoCache::new(dir.path().join("cache")).expect("cache");
    let report = cache
        .fetch(&fx.source.file_url(), &RepoCredentials::anonymous())
        .expect("fetch");
    assert!(report.received_pack, "the first fetch downloads objects");
    (dir, cache)
}

#[test]
fn resolves_every_kind_of_revision() {
    let fx = fixture();
    let (_dir, cache) = fetched(&fx);
    let url = fx.source.file_url();
    let short = &fx.first[..7];
    let cases = [
        ("", &fx.second),
        ("HEAD", &fx.second),
        ("main", &fx.second),
        ("feature", &fx.feature),
        ("refs/heads/feature", &fx.feature),
        ("v1.0.0", &fx.first),
        ("light", &fx.first),
        (fx.first.as_str(), &fx.first),
        (short, &fx.first),
    ];
    for (revision, expected) in cases {
        let resolved = cache
            .resolve(&url, revision)
            .unwrap_or_else(|e| panic!("{revision:?}: {e}"));
        assert_eq!(resolved, id(expected), "revision {revision:?}");
    }
}

#[test]
fn an_unknown_revision_is_a_clear_error() {
    let fx = fixture();
    let (_dir, cache) = fetched(&fx);
    let err = cache
        .resolve(&fx.source.file_url(), "no-such-branch")
        .expect_err("unknown");
    let text = err.to_string();
    assert!(
        text.starts_with("failed to resolve revision \"no-such-branch\""),
        "{text}"
    );
    assert!(
        text.contains(&fx.source.file_url()),
        "names the repository: {text}"
    );
    assert!(matches!(
        err,
        CacheError::Read(ReadError::UnknownRevision { .. })
    ));

    // A commit id that is not in the repository at all.
    let missing = "0123456789abcdef0123456789abcdef01234567";
    assert!(cache.resolve(&fx.source.file_url(), missing).is_err());
}

#[test]
fn tree_ids_follow_content_not_commits() {
    let fx = fixture();
    let (_dir, cache) = fetched(&fx);
    let repo = cache.repo(&fx.source.file_url()).expect("repo");
    let (first, second) = (id(&fx.first), id(&fx.second));

    let apps_first = repo.tree_id(first, "apps/guestbook").expect("tree");
    let apps_second = repo.tree_id(second, "./apps/guestbook/").expect("tree");
    assert_eq!(
        apps_first, apps_second,
        "unchanged directory keeps its tree id"
    );
    assert_eq!(
        apps_first.to_hex(),
        fx.source
            .git(&["rev-parse", &format!("{}:apps/guestbook", fx.first)])
    );

    let root_first = repo.tree_id(first, "").expect("root");
    let root_second = repo.tree_id(second, ".").expect("root");
    assert_ne!(root_first, root_second, "README changed at the root");

    let err = repo.tree_id(first, "apps/missing").expect_err("missing");
    assert!(matches!(err, ReadError::PathNotFound { .. }), "{err}");
    let err = repo.tree_id(first, "README.md").expect_err("a file");
    assert!(matches!(err, ReadError::NotADirectory { .. }), "{err}");
    let err = repo.tree_id(first, "../etc").expect_err("escapes");
    assert!(matches!(err, ReadError::InvalidPath { .. }), "{err}");
}

/// A directory of many apps (kept decoded once looked into) answers like a small one, at each
/// commit: the decoded copy of one commit's tree never answers for another's.
#[test]
fn paths_in_a_directory_of_many_apps_resolve_at_each_commit() {
    let source = ScratchRepo::new();
    source.git(&["config", "gc.auto", "0"]);
    for index in 0..300 {
        source.write(
            &format!("apps/a{index}/cm.yaml"),
            format!("name: cm-{index}\n"),
        );
    }
    source.write("apps/a7.yaml", "kind: ConfigMap\n");
    let first = source.commit("300 apps");
    source.write("apps/a299/cm.yaml", "name: changed\n");
    source.remove("apps/a0/cm.yaml");
    let second = source.commit("one changed, one gone");
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = RepoCache::new(dir.path().join("cache")).expect("cache");
    cache
        .fetch(&source.file_url(), &RepoCredentials::anonymous())
        .expect("fetch");
    let repo = cache.repo(&source.file_url()).expect("repo");
    for (commit, hex) in [(id(&first), &first), (id(&second), &second)] {
        for path in ["apps/a1", "apps/a150", "apps/a299"] {
            assert_eq!(
                repo.tree_id(commit, path).expect("tree").to_hex(),
                source.git(&["rev-parse", &format!("{hex}:{path}")]),
                "{path} at {hex}"
            );
        }
        let err = repo.tree_id(commit, "apps/a300").expect_err("missing");
        assert!(matches!(err, ReadError::PathNotFound { .. }), "{err}");
        assert_eq!(
            repo.path_kind(commit, "apps/a7.yaml").expect("kind"),
            Some(PathKind::File)
        );
    }
    assert!(repo.tree_id(id(&first), "apps/a0").is_ok());
    let err = repo.tree_id(id(&second), "apps/a0").expect_err("gone");
    assert!(matches!(err, ReadError::PathNotFound { .. }), "{err}");
}

#[test]
fn reads_and_lists_files_at_a_commit() {
    let fx = fixture();
    let (_dir, cache) = fetched(&fx);
    let repo = cache.repo(&fx.source.file_url()).expect("repo");
    let (first, second) = (id(&fx.first), id(&fx.second));

    assert_eq!(
        repo.read_file(first, "README.md").expect("file"),
        b"hello\n"
    );
    assert_eq!(
        repo.read_file(second, "/README.md").expect("file"),
        b"hello again\n"
    );
    assert!(matches!(
        repo.read_file(first, "apps").expect_err("dir"),
        ReadError::NotAFile { .. }
    ));
    assert!(matches!(
        repo.read_file(first, "nope.txt").expect_err("missing"),
        ReadError::PathNotFound { .. }
    ));

    assert_eq!(
        repo.list_files(first, "apps").expect("list"),
        vec![
            "apps/guestbook/deployment.yaml",
            "apps/guestbook/service.yaml",
            "apps/redis/values.yaml"
        ]
    );
    // The symlink is not a regular file and is not listed.
    assert_eq!(
        repo.list_files(first, "charts/demo").expect("list"),
        vec![
            "charts/demo/Chart.yaml",
            "charts/demo/templates/cm.yaml",
            "charts/demo/values.yaml"
        ]
    );
    assert_eq!(
        repo.path_kind(first, "charts/demo/values-prod.yaml")
            .expect("kind"),
        Some(PathKind::Symlink)
    );
    assert_eq!(
        repo.path_kind(first, "scripts/run.sh").expect("kind"),
        Some(PathKind::ExecutableFile)
    );
    assert_eq!(
        repo.path_kind(first, "apps").expect("kind"),
        Some(PathKind::Directory)
    );
    assert_eq!(repo.path_kind(first, "apps/nope").expect("kind"), None);

    // A commit that exists only on the feature branch is cached too.
    assert_eq!(
        repo.read_file(id(&fx.feature), "apps/new/app.yaml")
            .expect("file"),
        b"kind: Namespace\n"
    );
}

#[test]
fn finds_directories_and_files_by_glob() {
    let fx = fixture();
    let (_dir, cache) = fetched(&fx);
    let repo = cache.repo(&fx.source.file_url()).expect("repo");
    let first = id(&fx.first);

    assert_eq!(
        repo.find_dirs(first, "apps/*").expect("dirs"),
        vec!["apps/guestbook", "apps/redis"]
    );
    // `*` does not cross '/', `**` does.
    assert_eq!(
        repo.find_dirs(first, "cluster-config/*").expect("dirs"),
        vec!["cluster-config/dev", "cluster-config/prod"]
    );
    assert_eq!(
        repo.find_dirs(first, "cluster-config/**").expect("dirs"),
        vec![
            "cluster-config/dev",
            "cluster-config/prod",
            "cluster-config/prod/eu"
        ]
    );
    assert_eq!(
        repo.find_files(first, "cluster-config/**/config.json")
            .expect("files"),
        vec![
            "cluster-config/dev/config.json",
            "cluster-config/prod/eu/config.json"
        ]
    );
    assert_eq!(
        repo.find_files(first, "cluster-config/*/config.json")
            .expect("files"),
        vec!["cluster-config/dev/config.json"]
    );
    assert_eq!(
        repo.find_files(first, "nothing/*.yaml").expect("files"),
        Vec::<String>::new()
    );
    let err = repo.find_files(first, "apps/[").expect_err("bad glob");
    assert!(err.to_string().starts_with("failed to use glob"), "{err}");
}

#[test]
fn exports_a_commit_or_a_directory_to_disk() {
    let fx = fixture();
    let (dir, cache) = fetched(&fx);
    let repo = cache.repo(&fx.source.file_url()).expect("repo");
    let first = id(&fx.first);

    let whole = dir.path().join("whole");
    let summary = repo.export(first, "", &whole).expect("export");
    assert_eq!(summary.files, 10);
    assert_eq!(summary.symlinks, 1);
    assert_eq!(
        std::fs::read_to_string(whole.join("README.md")).expect("file"),
        "hello\n"
    );
    let mode = std::fs::metadata(whole.join("scripts/run.sh"))
        .expect("file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    let mode = std::fs::metadata(whole.join("README.md"))
        .expect("file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
    // The symlink is a symlink, and it resolves inside the export.
    let link = whole.join("charts/demo/values-prod.yaml");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&link).expect("through the link"),
        "a: 1\n"
    );

    let chart = dir.path().join("chart");
    let summary = repo.export(first, "charts/demo", &chart).expect("export");
    assert_eq!(summary.files, 3);
    assert_eq!(
        std::fs::read_to_string(chart.join("templates/cm.yaml")).expect("file"),
        "kind: ConfigMap\n"
    );
    assert!(!chart.join("README.md").exists());

    // A destination with something in it is refused rather than mixed.
    let err = repo
        .export(first, "charts/demo", &chart)
        .expect_err("not empty");
    assert!(
        matches!(err, ExportError::DestinationNotEmpty { .. }),
        "{err}"
    );
    let err = repo
        .export(first, "README.md", &dir.path().join("x"))
        .expect_err("a file");
    assert!(
        matches!(err, ExportError::Read(ReadError::NotADirectory { .. })),
        "{err}"
    );
}

#[test]
fn reads_the_files_of_a_directory_without_writing_them() {
    let fx = fixture();
    let (_dir, cache) = fetched(&fx);
    let repo = cache.repo(&fx.source.file_url()).expect("repo");
    let first = id(&fx.first);
    let read = |dir: &str, recurse: bool| {
        repo.read_files(first, dir, recurse)
            .expect("read")
            .map(|files| {
                files
                    .into_iter()
                    .map(|(path, bytes)| (path, String::from_utf8(bytes).expect("utf-8")))
                    .collect::<Vec<_>>()
            })
    };
    let text = |pairs: &[(&str, &str)]| {
        Some(
            pairs
                .iter()
                .map(|(p, b)| (p.to_string(), b.to_string()))
                .collect::<Vec<_>>(),
        )
    };

    assert_eq!(
        read("apps/guestbook", false),
        text(&[
            ("deployment.yaml", "kind: Deployment\n"),
            ("service.yaml", "kind: Service\n")
        ])
    );
    // Only the top level unless recursing; paths relative to the directory, sorted.
    assert_eq!(read("apps", false), text(&[]));
    assert_eq!(
        read("apps", true),
        text(&[
            ("guestbook/deployment.yaml", "kind: Deployment\n"),
            ("guestbook/service.yaml", "kind: Service\n"),
            ("redis/values.yaml", "replicas: 1\n"),
        ])
    );
    // A symlink anywhere below, even where the listing does not go, is left to an export's
    // checks.
    assert_eq!(read("charts/demo", true), None);
    assert_eq!(read("charts", false), None);
    assert!(matches!(
        repo.read_files(first, "README.md", false)
            .expect_err("a file"),
        ReadError::NotADirectory { .. }
    ));
    assert!(matches!(
        repo.read_files(first, "nope", false).expect_err("missing"),
        ReadError::PathNotFound { .. }
    ));
}

#[test]
fn symlinks_leaving_the_export_are_refused() {
    let source = ScratchRepo::new();
    source
        .write("app/a.yaml", "a: 1\n")
        .symlink("app/secret", "../../../etc/passwd");
    let commit = source.commit("escape");
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = RepoCache::new(dir.path().join("cache")).expect("cache");
    cache
        .fetch(&source.file_url(), &RepoCredentials::anonymous())
        .expect("fetch");
    let repo = cache.repo(&source.file_url()).expect("repo");
    let err = repo
        .export(id(&commit), "", &dir.path().join("out"))
        .expect_err("out of bounds");
    let text = err.to_string();
    assert!(
        matches!(err, ExportError::SymlinkOutOfBounds { .. }),
        "{text}"
    );
    assert!(text.contains("app/secret"), "{text}");
}

#[test]
fn sync_fetches_only_when_the_commit_is_missing() {
    let fx = fixture();
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = RepoCache::new(dir.path().join("cache")).expect("cache");
    let url = fx.source.file_url();
    let anonymous = RepoCredentials::anonymous();

    let synced = cache.sync(&url, &anonymous, "main").expect("sync");
    assert_eq!((synced.commit, synced.fetched), (id(&fx.second), true));
    assert_eq!(cache.network_fetches(), 1);

    // Nothing moved: a ref listing, no fetch.
    let synced = cache.sync(&url, &anonymous, "main").expect("sync");
    assert_eq!((synced.commit, synced.fetched), (id(&fx.second), false));
    // Another branch whose commit came with the first fetch: no fetch either.
    assert_eq!(
        cache
            .sync(&url, &anonymous, "feature")
            .expect("sync")
            .fetched,
        false
    );
    // A cached full commit id needs no network at all.
    let listings = cache.ref_listings();
    assert_eq!(
        cache
            .sync(&url, &anonymous, &fx.first)
            .expect("sync")
            .fetched,
        false
    );
    assert_eq!(cache.ref_listings(), listings);
    assert_eq!(cache.network_fetches(), 1);

    // The branch moves: the next sync fetches and returns the new commit.
    fx.source.write("README.md", "third\n");
    let third = fx.source.commit("third");
    let synced = cache.sync(&url, &anonymous, "main").expect("sync");
    assert_eq!((synced.commit, synced.fetched), (id(&third), true));
    assert_eq!(cache.network_fetches(), 2);
    assert_eq!(cache.resolve(&url, "HEAD").expect("resolve"), id(&third));

    // A short commit id resolves after a fetch.
    let synced = cache.sync(&url, &anonymous, &third[..8]).expect("sync");
    assert_eq!(synced.commit, id(&third));
}

#[test]
fn a_fetch_mirrors_deleted_branches_and_moved_tags() {
    let fx = fixture();
    let (_dir, cache) = fetched(&fx);
    let url = fx.source.file_url();
    assert_eq!(
        cache.resolve(&url, "feature").expect("resolve"),
        id(&fx.feature)
    );

    fx.source.delete_branch("feature");
    fx.source.delete_tag("light");
    fx.source
        .git(&["tag", "-f", "v1.0.0", "-a", "-m", "moved", &fx.second]);
    let report = cache
        .fetch(&url, &RepoCredentials::anonymous())
        .expect("fetch");
    assert!(report.refs.get("refs/heads/feature").is_none());

    let err = cache.resolve(&url, "feature").expect_err("deleted branch");
    assert!(
        matches!(err, CacheError::Read(ReadError::UnknownRevision { .. })),
        "{err}"
    );
    assert!(cache.resolve(&url, "light").is_err(), "deleted tag");
    assert_eq!(
        cache.resolve(&url, "v1.0.0").expect("moved tag"),
        id(&fx.second)
    );
}

#[test]
fn the_remote_head_decides_what_head_means() {
    let fx = fixture();
    fx.source.checkout("feature");
    let (_dir, cache) = fetched(&fx);
    let url = fx.source.file_url();
    assert_eq!(
        cache.resolve(&url, "HEAD").expect("resolve"),
        id(&fx.feature)
    );
    assert_eq!(cache.resolve(&url, "").expect("resolve"), id(&fx.feature));
}

#[test]
fn an_empty_remote_fetches_nothing_and_resolves_nothing() {
    let source = ScratchRepo::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = RepoCache::new(dir.path().join("cache")).expect("cache");
    let report = cache
        .fetch(&source.file_url(), &RepoCredentials::anonymous())
        .expect("fetch");
    assert!(!report.received_pack);
    assert!(report.refs.refs().is_empty());
    assert!(cache.resolve(&source.file_url(), "HEAD").is_err());
}

#[test]
fn the_cache_directory_is_named_by_a_hash_and_reused() {
    let fx = fixture();
    let (dir, cache) = fetched(&fx);
    let path = cache.repo_path(&fx.source.file_url());
    assert!(path.starts_with(dir.path().join("cache")));
    assert!(path.join("HEAD").exists(), "a bare repository");
    let name = path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        !name.contains("repo") && name.len() == 64 + ".git".len(),
        "{name}"
    );

    // A new cache over the same directory reads what the first one fetched, without network.
    let again = RepoCache::new(dir.path().join("cache")).expect("cache");
    assert_eq!(
        again
            .resolve(&fx.source.file_url(), "main")
            .expect("resolve"),
        id(&fx.second)
    );
    assert_eq!(again.network_fetches(), 0);
}

#[test]
fn commit_metadata_is_readable() {
    let fx = fixture();
    let (_dir, cache) = fetched(&fx);
    let repo = cache.repo(&fx.source.file_url()).expect("repo");
    let info = repo.commit_info(id(&fx.second)).expect("info");
    assert_eq!(info.author, "Driftless Test <test@driftless.invalid>");
    assert_eq!(info.message.trim(), "second");
    assert_eq!(info.parents, vec![id(&fx.first)]);
    let expected_time: i64 = fx
        .source
        .git(&["log", "-1", "--format=%at", &fx.second])
        .parse()
        .expect("time");
    assert_eq!(info.authored_at, expected_time);
}

#[test]
fn sync_moves_the_cached_branch_even_when_the_commit_was_already_cached() {
    let fx = fixture();
    let (_dir, cache) = fetched(&fx);
    let url = fx.source.file_url();
    // main fast-forwards to the feature commit, which the cache already holds.
    fx.source.git(&["merge", "--quiet", "--ff-only", "feature"]);
    let synced = cache
        .sync(&url, &RepoCredentials::anonymous(), "main")
        .expect("sync");
    assert_eq!(synced.commit, id(&fx.feature));
    assert_eq!(
        cache.resolve(&url, "main").expect("resolve"),
        id(&fx.feature),
        "local name agrees"
    );

    // A short id that is cached needs no fetch on later polls.
    let fetches = cache.network_fetches();
    let synced = cache
        .sync(&url, &RepoCredentials::anonymous(), &fx.first[..10])
        .expect("sync");
    assert_eq!((synced.commit, synced.fetched), (id(&fx.first), false));
    assert_eq!(cache.network_fetches(), fetches);
}

/// A controller keeps one cache open for weeks and fetches after every commit, one pack each:
/// reading must keep working long after the packs outnumber what the store was opened with.
#[test]
fn a_long_lived_cache_reads_every_commit_of_many_fetches() {
    let source = ScratchRepo::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = RepoCache::new(dir.path()).expect("cache");
    let creds = RepoCredentials::anonymous();
    let url = source.file_url();
    for n in 0..80 {
        source.write("counter.txt", format!("{n}\n"));
        let commit = source.commit(&format!("commit {n}"));
        cache.fetch(&url, &creds).expect("fetch");
        let resolved = cache
            .resolve(&url, "HEAD")
            .unwrap_or_else(|e| panic!("after fetch {n}: {e}"));
        assert_eq!(resolved.to_string(), commit, "after fetch {n}");
    }
    // The packs of 80 fetches were merged along the way (git is installed here).
    assert!(
        count_packs(dir.path()) <= 25,
        "{} packs",
        count_packs(dir.path())
    );
}

fn count_packs(dir: &std::path::Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            count += count_packs(&path);
        } else if path.extension().is_some_and(|x| x == "idx") {
            count += 1;
        }
    }
    count
}
