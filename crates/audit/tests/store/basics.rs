//! What the store keeps and gives back, on both backends.

use driftless_audit::{AuditError, Filter, GENESIS, Kind, Record, entry_hash};
use pretty_assertions::assert_eq;

use crate::backend::Backend;
use crate::{checkpoint, fill, record, seqs, signer, verify};

crate::on_both!(
    appends_chain_from_the_head,
    a_record_without_a_kind_is_refused,
    lists_by_each_filter,
    checkpoints_are_kept_one_per_head,
    retention_keeps_the_rest_verifiable,
    retention_keeps_the_newest_entry,
    concurrent_writers_chain_one_after_another,
    many_entries_append_in_batches,
    the_schema_survives_reopening,
);

fn appends_chain_from_the_head(b: &mut Backend) {
    let mut store = b.store();
    assert_eq!(store.head().unwrap(), None);
    let first = store.append(&[record(1), record(2)]).unwrap();
    assert_eq!(seqs(&first), [1, 2]);
    assert_eq!(first[0].prev_hash, GENESIS);
    assert_eq!(first[0].hash, entry_hash(1, GENESIS, &record(1)));
    assert_eq!(first[1].prev_hash, first[0].hash);
    let more = store.append(&[record(3)]).unwrap();
    assert_eq!(more[0].prev_hash, first[1].hash);
    assert_eq!(store.append(&[]).unwrap(), []);

    let head = store.head().unwrap().unwrap();
    assert_eq!((head.seq, head.hash.as_str()), (3, more[0].hash.as_str()));
    assert_eq!(store.len().unwrap(), 3);
    assert_eq!(store.get(2).unwrap().as_ref(), Some(&first[1]));
    assert_eq!(store.get(4).unwrap(), None);
    let all = store.all().unwrap();
    assert_eq!(all, [first, more].concat());
    let v = verify(&mut *store).unwrap();
    assert_eq!((v.entries, v.first, v.head), (3, 1, Some(head)));
}

fn a_record_without_a_kind_is_refused(b: &mut Backend) {
    let mut store = b.store();
    let no_kind = Record {
        kind: None,
        ..record(2)
    };
    let e = store.append(&[record(1), no_kind]).unwrap_err();
    assert!(matches!(e, AuditError::Invalid(_)), "{e}");
    // The batch is one transaction: nothing of it was stored.
    assert_eq!(store.len().unwrap(), 0);
}

fn lists_by_each_filter(b: &mut Backend) {
    let mut store = b.store();
    fill(&mut *store, 12);
    let list = |f: Filter| seqs(&b.store().list(&f).unwrap());
    assert_eq!(list(Filter::default()), (1..=12).collect::<Vec<_>>());
    assert_eq!(
        list(Filter {
            app: Some("shop/db".into()),
            ..Filter::default()
        }),
        [1, 4, 7, 10]
    );
    assert_eq!(
        list(Filter {
            user: Some("alice".into()),
            ..Filter::default()
        }),
        [2, 4, 6, 8, 10, 12]
    );
    // A substring, and not a pattern: "_" matches only itself.
    assert_eq!(
        list(Filter {
            object: Some("web-3".into()),
            ..Filter::default()
        }),
        [3, 7, 11]
    );
    assert_eq!(
        list(Filter {
            object: Some("web_3".into()),
            ..Filter::default()
        }),
        Vec::<u64>::new()
    );
    assert_eq!(
        list(Filter {
            kind: Some(Kind::SyncCompleted),
            ..Filter::default()
        }),
        [2, 5, 8, 11]
    );
    let since = Filter {
        since: Some("2026-12-04T18:00:10.000Z".into()),
        ..Filter::default()
    };
    assert_eq!(list(since), [10, 11, 12]);
    let until = Filter {
        until: Some("2026-12-04T18:00:03.000Z".into()),
        ..Filter::default()
    };
    assert_eq!(list(until), [1, 2]);
    assert_eq!(
        list(Filter {
            after_seq: Some(9),
            ..Filter::default()
        }),
        [10, 11, 12]
    );
    assert_eq!(
        list(Filter {
            after_seq: Some(2),
            limit: Some(3),
            ..Filter::default()
        }),
        [3, 4, 5]
    );
    // Newest first, paging back from the head.
    assert_eq!(
        list(Filter {
            newest_first: true,
            limit: Some(3),
            ..Filter::default()
        }),
        [12, 11, 10]
    );
    assert_eq!(
        list(Filter {
            app: Some("shop/db".into()),
            before_seq: Some(10),
            newest_first: true,
            ..Filter::default()
        }),
        [7, 4, 1]
    );
    let both = Filter {
        app: Some("shop/web".into()),
        user: Some("alice".into()),
        ..Filter::default()
    };
    assert_eq!(list(both), [6, 12]);
    // The rule for entries in memory agrees with the SQL.
    let f = Filter {
        object: Some("web-1".into()),
        since: Some("2026-12-04T18:00:02.000Z".into()),
        ..Filter::default()
    };
    let in_memory: Vec<u64> = store
        .all()
        .unwrap()
        .iter()
        .filter(|e| f.matches(e))
        .map(|e| e.seq)
        .collect();
    assert_eq!(list(f), in_memory);
}

fn checkpoints_are_kept_one_per_head(b: &mut Backend) {
    let mut store = b.store();
    fill(&mut *store, 3);
    let first = checkpoint(&mut *store);
    let head = store.head().unwrap().unwrap();
    let again = signer().sign_head(&head, "2026-12-04T20:00:00.000Z");
    store.save_checkpoint(&again).unwrap();
    store.append(&[record(4)]).unwrap();
    let second = checkpoint(&mut *store);
    assert_ne!(first, again);
    assert_eq!(store.checkpoints().unwrap(), [again, second]);
    assert_eq!(verify(&mut *store).unwrap().checkpoints, 2);
}

fn retention_keeps_the_rest_verifiable(b: &mut Backend) {
    let mut store = b.store();
    fill(&mut *store, 10);
    for seq in [3, 8] {
        let head = head_at(&mut *store, seq);
        store
            .save_checkpoint(&signer().sign_head(&head, "t"))
            .unwrap();
    }
    let sign = |seq: u64, prev: &str| signer().sign_anchor(seq, prev, "2026-12-05T00:00:00.000Z");
    // Records 1..=10 are 18:00:01..18:00:10; an equivalent time in another zone cuts the same.
    let deleted = store.retain("2026-12-04T19:00:06+01:00", &sign).unwrap();
    assert_eq!(deleted, 5);
    assert_eq!(seqs(&store.all().unwrap()), [6, 7, 8, 9, 10]);
    let anchor = store.anchor().unwrap().unwrap();
    assert_eq!(
        (anchor.seq, anchor.prev_hash.clone()),
        (6, entry_hash(5, &head_at_hash(5), &record(5)))
    );
    assert_eq!(seqs_of_checkpoints(&mut *store), [8]);
    let v = verify(&mut *store).unwrap();
    assert_eq!((v.entries, v.first, v.checkpoints), (5, 6, 1));

    // Appending goes on from the head; a later retention moves the anchor on.
    store.append(&[record(11)]).unwrap();
    assert_eq!(store.retain("2026-12-04T18:00:08.000Z", &sign).unwrap(), 2);
    assert_eq!(store.anchor().unwrap().unwrap().seq, 8);
    assert_eq!(verify(&mut *store).unwrap().first, 8);
    // Nothing older than the cutoff: nothing to do.
    assert_eq!(store.retain("2026-12-04T18:00:01.000Z", &sign).unwrap(), 0);
    assert!(store.retain("not a time", &sign).is_err());
}

fn retention_keeps_the_newest_entry(b: &mut Backend) {
    let mut store = b.store();
    let sign = |seq: u64, prev: &str| signer().sign_anchor(seq, prev, "t");
    assert_eq!(store.retain("2030-01-01T00:00:00Z", &sign).unwrap(), 0);
    fill(&mut *store, 4);
    assert_eq!(store.retain("2030-01-01T00:00:00Z", &sign).unwrap(), 3);
    assert_eq!(seqs(&store.all().unwrap()), [4]);
    assert_eq!(verify(&mut *store).unwrap().first, 4);
}

fn concurrent_writers_chain_one_after_another(b: &mut Backend) {
    // Two replicas, each with its own connection, appending at once.
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let mut store = b.store();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let records: Vec<Record> =
                        (0..4).map(|j| record(w * 1000 + i * 4 + j)).collect();
                    store.append(&records).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let mut store = b.store();
    assert_eq!(store.len().unwrap(), 200);
    assert_eq!(verify(&mut *store).unwrap().entries, 200);
}

fn many_entries_append_in_batches(b: &mut Backend) {
    let mut store = b.store();
    let started = std::time::Instant::now();
    for batch in 0..100u64 {
        let records: Vec<Record> = (0..100).map(|i| record(batch * 100 + i)).collect();
        store.append(&records).unwrap();
    }
    // Figures only; no assertion on time.
    eprintln!(
        "appended 10000 entries in 100 batches in {:?}",
        started.elapsed()
    );
    assert_eq!(verify(&mut *store).unwrap().head.unwrap().seq, 10_000);
}

fn the_schema_survives_reopening(b: &mut Backend) {
    fill(&mut *b.store(), 2);
    let mut again = b.store();
    again.append(&[record(3)]).unwrap();
    assert_eq!(verify(&mut *again).unwrap().entries, 3);
}

fn head_at(store: &mut dyn driftless_audit::Store, seq: u64) -> driftless_audit::Head {
    let e = store.get(seq).unwrap().unwrap();
    driftless_audit::Head { seq, hash: e.hash }
}

fn head_at_hash(seq: u64) -> String {
    // The chain of records 1..seq-1, as fill wrote it.
    (1..seq).fold(GENESIS.to_string(), |prev, i| {
        entry_hash(i, &prev, &record(i))
    })
}

fn seqs_of_checkpoints(store: &mut dyn driftless_audit::Store) -> Vec<u64> {
    store.checkpoints().unwrap().iter().map(|c| c.seq).collect()
}

#[test]
fn sqlite_urls_of_every_form_open() {
    let dir = tempfile::tempdir().unwrap();
    let abs = dir.path().join("nested/a.db");
    for url in [
        format!("sqlite://{}", abs.display()),
        abs.display().to_string(),
        "sqlite::memory:".to_string(),
    ] {
        let mut store = driftless_audit::open(&url).unwrap();
        store.append(&[record(1)]).unwrap();
        assert!(store.len().unwrap() >= 1, "{url}");
    }
    assert_eq!(
        driftless_audit::open(&format!("sqlite://{}", abs.display()))
            .unwrap()
            .len()
            .unwrap(),
        2
    );
    let Err(e) = driftless_audit::open("sqlite://") else {
        panic!("opened no file")
    };
    assert!(matches!(e, AuditError::Url { .. }), "{e}");
}

#[test]
fn a_postgres_error_names_the_server_without_its_password() {
    // Nothing listens on port 1.
    let Err(e) = driftless_audit::open("postgres://audit:s3cret-pw@127.0.0.1:1/audit") else {
        panic!("connected to nothing")
    };
    let text = format!("{e}: {:?}", std::error::Error::source(&e));
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(!text.contains("s3cret-pw"), "{text}");
}

#[test]
fn open_existing_refuses_a_missing_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo/audit.db");
    let Err(e) = driftless_audit::open_existing(&path.display().to_string()) else {
        panic!("opened a file that does not exist")
    };
    assert!(e.to_string().contains("there is no file"), "{e}");
    assert!(!dir.path().join("typo").exists());
    fill(
        &mut *driftless_audit::open(&path.display().to_string()).unwrap(),
        1,
    );
    assert_eq!(
        driftless_audit::open_existing(&path.display().to_string())
            .unwrap()
            .len()
            .unwrap(),
        1
    );
}
