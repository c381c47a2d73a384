//! A database administrator edits the tables directly; verify names the first bad entry.

use driftless_audit::verify::SignatureProblem;
use driftless_audit::{AuditError, Broken, Signer, entry_hash};
use pretty_assertions::assert_eq;

use crate::backend::Backend;
use crate::{checkpoint, fill, record, signer, verify};

crate::on_both!(
    an_intact_log_verifies,
    editing_a_record_is_caught,
    editing_a_filter_column_is_caught,
    deleting_a_middle_entry_is_caught,
    deleting_the_oldest_entries_is_caught,
    inserting_a_forged_entry_in_the_middle_is_caught,
    inserting_a_correctly_hashed_entry_in_the_middle_is_caught,
    appending_a_forged_entry_is_caught,
    reordering_two_entries_is_caught,
    truncating_after_a_checkpoint_is_caught,
    truncating_and_deleting_checkpoints_is_caught_by_the_published_one,
    rewriting_the_whole_chain_is_caught_by_a_checkpoint,
    a_checkpoint_signed_with_another_key_is_refused,
    tampering_after_retention_is_caught,
    entries_after_the_last_checkpoint_can_be_dropped_unnoticed,
);

/// Ten entries and a checkpoint of entry 10.
fn ten(b: &Backend) {
    let mut store = b.store();
    fill(&mut *store, 10);
    checkpoint(&mut *store);
}

fn broken(b: &Backend) -> Broken {
    verify(&mut *b.store()).unwrap_err()
}

/// An INSERT of a made-up row with `record(99)`'s content.
fn forged_row(seq: u64, prev_hash: &str, hash: &str) -> String {
    let r = record(99);
    let json = serde_json::to_string(&r).unwrap();
    format!(
        r#"INSERT INTO audit_entries (seq, prev_hash, hash, time, kind, app, project, "user", object, record)
           VALUES ({seq}, '{prev_hash}', '{hash}', '{}', '{}', '{}', 'default', '{}', '{}', '{json}')"#,
        r.time,
        r.kind.unwrap(),
        r.app.unwrap(),
        r.user.unwrap(),
        r.object.unwrap()
    )
}

/// Moves entries `from..` one seq up, leaving `from` free (two steps: seq is unique).
const SHIFT_FROM_6: &str = "UPDATE audit_entries SET seq = -seq WHERE seq >= 6;
                            UPDATE audit_entries SET seq = 1 - seq WHERE seq < 0;";

fn an_intact_log_verifies(b: &mut Backend) {
    ten(b);
    let v = verify(&mut *b.store()).unwrap();
    assert_eq!((v.entries, v.first, v.checkpoints), (10, 1, 1));
}

fn editing_a_record_is_caught(b: &mut Backend) {
    ten(b);
    b.sql("UPDATE audit_entries SET record = replace(record, 'Succeeded', 'Failed') WHERE seq = 5");
    assert_eq!(
        b.store().get(5).unwrap().unwrap().record.result.as_deref(),
        Some("Failed")
    );
    let e = broken(b);
    assert_eq!(e, Broken::Edited { seq: 5 });
    assert_eq!(
        e.to_string(),
        "entry 5 was edited: its content does not match its hash"
    );
}

fn editing_a_filter_column_is_caught(b: &mut Backend) {
    // Moving an entry to another app would hide it from `list --app`.
    ten(b);
    b.sql("UPDATE audit_entries SET app = 'other/app' WHERE seq = 4");
    let e = b.store().all().unwrap_err();
    assert!(
        matches!(
            e,
            AuditError::Mismatch {
                seq: 4,
                column: "app"
            }
        ),
        "{e}"
    );
}

fn deleting_a_middle_entry_is_caught(b: &mut Backend) {
    ten(b);
    b.sql("DELETE FROM audit_entries WHERE seq = 7");
    assert_eq!(broken(b), Broken::Missing { seq: 7, found: 8 });
}

fn deleting_the_oldest_entries_is_caught(b: &mut Backend) {
    // Without the signed anchor retention leaves, the log must start at 1.
    ten(b);
    b.sql("DELETE FROM audit_entries WHERE seq <= 3");
    assert_eq!(broken(b), Broken::HeadDeleted { seq: 4 });
}

fn inserting_a_forged_entry_in_the_middle_is_caught(b: &mut Backend) {
    ten(b);
    b.sql(SHIFT_FROM_6);
    b.sql(&forged_row(6, &"a".repeat(64), &"b".repeat(64)));
    assert_eq!(broken(b), Broken::Inserted { seq: 6 });
}

fn inserting_a_correctly_hashed_entry_in_the_middle_is_caught(b: &mut Backend) {
    // The administrator knows the hash function: the forged entry itself is consistent.
    ten(b);
    let prev = b.store().get(5).unwrap().unwrap().hash;
    b.sql(SHIFT_FROM_6);
    b.sql(&forged_row(6, &prev, &entry_hash(6, &prev, &record(99))));
    let e = broken(b);
    assert_eq!(e, Broken::Inserted { seq: 6 });
    assert!(e.to_string().starts_with("entry 6 was inserted"), "{e}");
}

fn appending_a_forged_entry_is_caught(b: &mut Backend) {
    ten(b);
    b.sql(&forged_row(11, &"c".repeat(64), &"d".repeat(64)));
    assert_eq!(broken(b), Broken::Inserted { seq: 11 });
}

fn reordering_two_entries_is_caught(b: &mut Backend) {
    ten(b);
    // Swap everything but seq between entries 4 and 8.
    b.sql(
        r#"UPDATE audit_entries SET prev_hash = o.prev_hash, hash = o.hash, time = o.time,
             kind = o.kind, app = o.app, project = o.project, "user" = o."user",
             object = o.object, record = o.record
           FROM audit_entries o
           WHERE (audit_entries.seq = 4 AND o.seq = 8) OR (audit_entries.seq = 8 AND o.seq = 4)"#,
    );
    assert_eq!(b.store().get(4).unwrap().unwrap().record, record(8));
    assert_eq!(broken(b), Broken::OutOfOrder { seq: 4 });
}

fn truncating_after_a_checkpoint_is_caught(b: &mut Backend) {
    ten(b);
    b.sql("DELETE FROM audit_entries WHERE seq > 7");
    let e = broken(b);
    assert_eq!(
        e,
        Broken::Truncated {
            checkpoint_seq: 10,
            last_seq: 7
        }
    );
    assert_eq!(
        e.to_string(),
        "the log was truncated: a signed checkpoint names entry 10, but the log ends at entry 7"
    );
}

fn truncating_and_deleting_checkpoints_is_caught_by_the_published_one(b: &mut Backend) {
    // The controller also publishes its latest checkpoint in the cluster, out of the
    // administrator's reach; verify is given that one too.
    let mut store = b.store();
    fill(&mut *store, 10);
    let published = checkpoint(&mut *store);
    b.sql("DELETE FROM audit_entries WHERE seq > 7; DELETE FROM audit_checkpoints");
    assert!(
        verify(&mut *store).is_ok(),
        "the database alone cannot tell"
    );
    let mut checkpoints = store.checkpoints().unwrap();
    checkpoints.push(published);
    let e = driftless_audit::verify(
        store.all().unwrap(),
        None,
        &checkpoints,
        Some(&signer().public_key()),
    );
    assert_eq!(
        e.unwrap_err(),
        Broken::Truncated {
            checkpoint_seq: 10,
            last_seq: 7
        }
    );
}

fn rewriting_the_whole_chain_is_caught_by_a_checkpoint(b: &mut Backend) {
    // Edit entry 3 and recompute every hash after it, so the chain itself is consistent.
    ten(b);
    let mut entries = b.store().all().unwrap();
    entries[2].record.result = Some("Failed".into());
    for i in 2..entries.len() {
        let prev = entries[i - 1].hash.clone();
        entries[i].prev_hash = prev;
        entries[i].hash = entry_hash(entries[i].seq, &entries[i].prev_hash, &entries[i].record);
    }
    let json = serde_json::to_string(&entries[2].record).unwrap();
    let mut sql = format!("UPDATE audit_entries SET record = '{json}' WHERE seq = 3;");
    for e in &entries[2..] {
        sql += &format!(
            "UPDATE audit_entries SET prev_hash = '{}', hash = '{}' WHERE seq = {};",
            e.prev_hash, e.hash, e.seq
        );
    }
    b.sql(&sql);
    assert_eq!(broken(b), Broken::Rewritten { from: 1, seq: 10 });
}

fn a_checkpoint_signed_with_another_key_is_refused(b: &mut Backend) {
    // The administrator signs a checkpoint of a shorter log with a key of their own.
    ten(b);
    b.sql("DELETE FROM audit_entries WHERE seq > 7; DELETE FROM audit_checkpoints");
    let mut store = b.store();
    let head = store.head().unwrap().unwrap();
    store
        .save_checkpoint(&Signer::from_seed(&[9; 32]).sign_head(&head, "t"))
        .unwrap();
    assert_eq!(
        broken(b),
        Broken::BadCheckpoint {
            seq: 7,
            problem: SignatureProblem::Untrusted
        }
    );
    // A signature copied onto another head does not verify at all.
    b.sql("UPDATE audit_checkpoints SET seq = 6");
    assert_eq!(
        broken(b),
        Broken::BadCheckpoint {
            seq: 6,
            problem: SignatureProblem::Invalid
        }
    );
}

fn tampering_after_retention_is_caught(b: &mut Backend) {
    ten(b);
    let sign = |seq: u64, prev: &str| signer().sign_anchor(seq, prev, "t");
    assert_eq!(
        b.store().retain("2026-12-04T18:00:05.000Z", &sign).unwrap(),
        4
    );
    assert_eq!(verify(&mut *b.store()).unwrap().first, 5);

    // Deleting one more of the oldest: the anchor names entry 5.
    b.sql("DELETE FROM audit_entries WHERE seq = 5");
    assert_eq!(broken(b), Broken::Missing { seq: 5, found: 6 });
    // Moving the anchor on needs the key.
    b.sql("UPDATE audit_anchor SET seq = 6");
    assert!(matches!(
        broken(b),
        Broken::BadAnchor {
            seq: 6,
            problem: SignatureProblem::Invalid
        }
    ));
    // Dropping the anchor altogether makes a log that starts past 1.
    b.sql("DELETE FROM audit_anchor");
    assert_eq!(broken(b), Broken::HeadDeleted { seq: 6 });
}

fn entries_after_the_last_checkpoint_can_be_dropped_unnoticed(b: &mut Backend) {
    // The limit the README states: the checkpoint interval bounds what can vanish unnoticed.
    ten(b);
    b.store().append(&[record(11), record(12)]).unwrap();
    b.sql("DELETE FROM audit_entries WHERE seq > 10");
    assert_eq!(verify(&mut *b.store()).unwrap().head.unwrap().seq, 10);
}
