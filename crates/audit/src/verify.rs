//! Whether a log is the one driftless wrote: every entry hashes to its hash, links to the one
//! before, seqs run without gaps from the anchor (or 1), and every signed checkpoint matches.
//! Pure: entries and signed statements in, a verdict out.

use std::collections::HashSet;
use std::fmt;

use crate::checkpoint::{Anchor, Checkpoint};
use crate::entry::{Entry, GENESIS, Head};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// How many entries were checked.
    pub entries: u64,
    /// The first entry's seq (1, or the anchor's after retention; 0 for an empty log).
    pub first: u64,
    pub head: Option<Head>,
    /// How many signed checkpoints fall in the kept range and match it.
    pub checkpoints: usize,
    /// The key the anchor and checkpoints are signed with, when any are.
    pub public_key: Option<String>,
}

/// Why a signed statement is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureProblem {
    /// The signature is not its key's over its text.
    Invalid,
    /// Signed with another key than the trusted one.
    Untrusted,
    /// With no trusted key given, signed with another key than the other statements.
    KeyDiffers,
}

impl fmt::Display for SignatureProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignatureProblem::Invalid => "its signature does not verify",
            SignatureProblem::Untrusted => "it is signed with another key than the trusted one",
            SignatureProblem::KeyDiffers => "it is signed with another key than the others",
        })
    }
}

/// The first thing wrong with a log; each names the first bad entry's seq.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    #[error("entry {seq} was edited: its content does not match its hash")]
    Edited { seq: u64 },
    #[error("entry {seq} was replaced: the entry after it names another hash as its predecessor")]
    Replaced { seq: u64 },
    #[error("entry {seq} is missing: expected entry {seq}, found entry {found}")]
    Missing { seq: u64, found: u64 },
    #[error(
        "entry {seq} was inserted: it does not follow from the entry before it (its prev_hash names no entry of the log)"
    )]
    Inserted { seq: u64 },
    #[error("entry {seq} is out of order: it does not follow the entry before it")]
    OutOfOrder { seq: u64 },
    #[error(
        "entries {from}..{seq} were rewritten: entry {seq} does not match its signed checkpoint"
    )]
    Rewritten { from: u64, seq: u64 },
    #[error(
        "the log was truncated: a signed checkpoint names entry {checkpoint_seq}, but the log ends at entry {last_seq}"
    )]
    Truncated { checkpoint_seq: u64, last_seq: u64 },
    #[error("the checkpoint of entry {seq} is refused: {problem}")]
    BadCheckpoint { seq: u64, problem: SignatureProblem },
    #[error("the retention anchor at entry {seq} is refused: {problem}")]
    BadAnchor { seq: u64, problem: SignatureProblem },
    #[error(
        "entry {seq} was inserted: it comes before the signed retention anchor at entry {anchor_seq}"
    )]
    BeforeAnchor { seq: u64, anchor_seq: u64 },
    #[error(
        "entries before {seq} were deleted: the log starts at entry {seq} without a signed retention anchor"
    )]
    HeadDeleted { seq: u64 },
}

/// Checks `entries` (in the order given, which must be seq order) from `anchor` (or from
/// entry 1 with [`GENESIS`]) against the signed `checkpoints`. With `trusted_key` (base64)
/// every signature must be that key's; without it they must all be one key's, which
/// [`Verified::public_key`] reports so the caller can say it was not checked against a
/// trusted one.
pub fn verify(
    entries: impl IntoIterator<Item = Entry>,
    anchor: Option<&Anchor>,
    checkpoints: &[Checkpoint],
    trusted_key: Option<&str>,
) -> Result<Verified, Broken> {
    let entries: Vec<Entry> = entries.into_iter().collect();
    let public_key = check_signatures(anchor, checkpoints, trusted_key)?;

    let (start_seq, start_prev) = match anchor {
        Some(a) => (a.seq, a.prev_hash.as_str()),
        None => (1, GENESIS),
    };
    if let Some(first) = entries.first() {
        if first.seq < start_seq {
            return Err(Broken::BeforeAnchor {
                seq: first.seq,
                anchor_seq: start_seq,
            });
        }
        if anchor.is_none() && first.seq > 1 {
            return Err(Broken::HeadDeleted { seq: first.seq });
        }
    }

    // Checkpoints that fall before the kept range are history retention already let go.
    let mut pending: Vec<&Checkpoint> = checkpoints.iter().filter(|c| c.seq >= start_seq).collect();
    pending.sort_by_key(|c| c.seq);
    let mut pending = pending.into_iter().peekable();
    let mut matched = 0;
    let mut last_good = start_seq;

    let hashes: HashSet<&str> = entries.iter().map(|e| e.hash.as_str()).collect();
    for (i, entry) in entries.iter().enumerate() {
        let expected = start_seq + i as u64;
        if entry.seq > expected {
            return Err(Broken::Missing {
                seq: expected,
                found: entry.seq,
            });
        }
        if entry.seq < expected {
            return Err(Broken::OutOfOrder { seq: entry.seq });
        }
        let prev_hash = if i == 0 {
            start_prev
        } else {
            entries[i - 1].hash.as_str()
        };
        if entry.prev_hash != prev_hash {
            let before_prev = match i {
                0 => None,
                1 => Some(start_prev),
                _ => Some(entries[i - 2].hash.as_str()),
            };
            return Err(unlinked(entry, i, &entries, before_prev, &hashes));
        }
        if !entry.hash_matches() {
            return Err(Broken::Edited { seq: entry.seq });
        }
        while let Some(c) = pending.next_if(|c| c.seq <= entry.seq) {
            if c.hash != entry.hash {
                return Err(Broken::Rewritten {
                    from: last_good,
                    seq: entry.seq,
                });
            }
            matched += 1;
            last_good = entry.seq + 1;
        }
    }

    let last_seq = entries.last().map_or(0, |e| e.seq);
    if let Some(c) = pending.next() {
        return Err(Broken::Truncated {
            checkpoint_seq: c.seq,
            last_seq,
        });
    }
    if let (Some(a), None) = (anchor, entries.first()) {
        // Retention always keeps the newest entry, so an anchor over nothing lost its entries.
        return Err(Broken::Truncated {
            checkpoint_seq: a.seq,
            last_seq,
        });
    }
    Ok(Verified {
        entries: entries.len() as u64,
        first: entries.first().map_or(0, |e| e.seq),
        head: entries.last().map(|e| Head {
            seq: e.seq,
            hash: e.hash.clone(),
        }),
        checkpoints: matched,
        public_key,
    })
}

/// Names what happened when `entry` (at index `i`) does not link to the entry before it.
fn unlinked(
    entry: &Entry,
    i: usize,
    entries: &[Entry],
    before_prev: Option<&str>,
    hashes: &HashSet<&str>,
) -> Broken {
    let prev = i.checked_sub(1).map(|p| &entries[p]);
    // It links past its predecessor: the predecessor was slipped in between.
    if let (Some(prev), Some(before_prev)) = (prev, before_prev)
        && entry.prev_hash == before_prev
    {
        return Broken::Inserted { seq: prev.seq };
    }
    // It links to some other entry of the log: rows were moved.
    if hashes.contains(entry.prev_hash.as_str()) {
        return Broken::OutOfOrder { seq: entry.seq };
    }
    // It is itself intact, so what it links to was replaced (and rehashed to pass).
    if let Some(prev) = prev
        && entry.hash_matches()
    {
        return Broken::Replaced { seq: prev.seq };
    }
    Broken::Inserted { seq: entry.seq }
}

/// Refuses any anchor or checkpoint not validly signed by the trusted key (or, without one,
/// by one and the same key); returns that key.
fn check_signatures(
    anchor: Option<&Anchor>,
    checkpoints: &[Checkpoint],
    trusted_key: Option<&str>,
) -> Result<Option<String>, Broken> {
    let statements = anchor
        .map(|a| (true, a.seq, a.public_key.as_str(), a.signature_valid()))
        .into_iter()
        .chain(
            checkpoints
                .iter()
                .map(|c| (false, c.seq, c.public_key.as_str(), c.signature_valid())),
        );
    let mut key: Option<&str> = trusted_key;
    for (is_anchor, seq, public_key, valid) in statements {
        let problem = match key {
            _ if !valid => Some(SignatureProblem::Invalid),
            None => {
                key = Some(public_key);
                None
            }
            Some(k) if k == public_key => None,
            Some(_) if trusted_key.is_some() => Some(SignatureProblem::Untrusted),
            Some(_) => Some(SignatureProblem::KeyDiffers),
        };
        match problem {
            Some(problem) if is_anchor => return Err(Broken::BadAnchor { seq, problem }),
            Some(problem) => return Err(Broken::BadCheckpoint { seq, problem }),
            None => {}
        }
    }
    let signed = anchor.is_some() || !checkpoints.is_empty();
    Ok(key.filter(|_| signed).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Signer;
    use crate::entry::{Kind, Record, entry_hash};
    use pretty_assertions::assert_eq;

    fn record(n: u64) -> Record {
        Record {
            time: format!("2026-12-04T18:00:{:02}.000Z", n % 60),
            kind: Some(Kind::ObjectApplied),
            app: Some("shop/web".into()),
            message: Some(format!("change {n}")),
            ..Record::default()
        }
    }

    /// Entries `from..=to` chained as a store would, starting after `prev`.
    fn chain_from(from: u64, to: u64, prev: &str) -> Vec<Entry> {
        let mut prev = prev.to_string();
        (from..=to)
            .map(|seq| {
                let hash = entry_hash(seq, &prev, &record(seq));
                let e = Entry {
                    seq,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                    record: record(seq),
                };
                prev = hash;
                e
            })
            .collect()
    }

    fn chain(n: u64) -> Vec<Entry> {
        chain_from(1, n, GENESIS)
    }

    fn signer() -> Signer {
        Signer::from_seed(&[1; 32])
    }

    fn checkpoint(entries: &[Entry], seq: u64) -> Checkpoint {
        let e = &entries[(seq - entries[0].seq) as usize];
        signer().sign_head(
            &Head {
                seq: e.seq,
                hash: e.hash.clone(),
            },
            "2026-12-04T18:01:00.000Z",
        )
    }

    fn rehash(entries: &mut [Entry], from: usize) {
        for i in from..entries.len() {
            if i > 0 {
                entries[i].prev_hash = entries[i - 1].hash.clone();
            }
            entries[i].hash = entry_hash(entries[i].seq, &entries[i].prev_hash, &entries[i].record);
        }
    }

    fn broken(entries: Vec<Entry>) -> Broken {
        verify(entries, None, &[], None).unwrap_err()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let entries = chain(10);
        let cps = [checkpoint(&entries, 4), checkpoint(&entries, 10)];
        let trusted = signer().public_key();
        let v = verify(entries.clone(), None, &cps, Some(&trusted)).unwrap();
        assert_eq!(
            v,
            Verified {
                entries: 10,
                first: 1,
                head: Some(Head {
                    seq: 10,
                    hash: entries[9].hash.clone()
                }),
                checkpoints: 2,
                public_key: Some(trusted),
            }
        );
        let empty = verify(Vec::new(), None, &[], None).unwrap();
        assert_eq!(
            (empty.entries, empty.head, empty.public_key),
            (0, None, None)
        );
    }

    #[test]
    fn an_edited_entry_is_named() {
        let mut entries = chain(10);
        entries[4].record.message = Some("nothing to see".into());
        assert_eq!(broken(entries), Broken::Edited { seq: 5 });
    }

    #[test]
    fn an_edited_and_rehashed_entry_is_named_by_its_successor() {
        let mut entries = chain(10);
        entries[4].record.message = Some("nothing to see".into());
        rehash(&mut entries[4..5], 0);
        let e = broken(entries);
        assert_eq!(e, Broken::Replaced { seq: 5 });
        assert_eq!(
            e.to_string(),
            "entry 5 was replaced: the entry after it names another hash as its predecessor"
        );
    }

    #[test]
    fn a_deleted_entry_is_named() {
        let mut entries = chain(10);
        entries.remove(6);
        let e = broken(entries);
        assert_eq!(e, Broken::Missing { seq: 7, found: 8 });
        assert_eq!(
            e.to_string(),
            "entry 7 is missing: expected entry 7, found entry 8"
        );
    }

    #[test]
    fn deleting_the_oldest_entries_without_an_anchor_is_caught() {
        let entries = chain(10).split_off(3);
        assert_eq!(broken(entries), Broken::HeadDeleted { seq: 4 });
    }

    #[test]
    fn a_forged_entry_with_made_up_hashes_is_named() {
        let mut entries = chain(10);
        for e in &mut entries[5..] {
            e.seq += 1;
        }
        let forged = Entry {
            seq: 6,
            prev_hash: "f".repeat(64),
            hash: "e".repeat(64),
            record: record(99),
        };
        entries.insert(5, forged);
        assert_eq!(broken(entries), Broken::Inserted { seq: 6 });
    }

    #[test]
    fn a_forged_entry_with_correct_hashes_is_named_too() {
        let mut entries = chain(10);
        for e in &mut entries[5..] {
            e.seq += 1;
        }
        let prev = entries[4].hash.clone();
        let forged = Entry {
            seq: 6,
            hash: entry_hash(6, &prev, &record(99)),
            prev_hash: prev,
            record: record(99),
        };
        entries.insert(5, forged);
        assert_eq!(broken(entries), Broken::Inserted { seq: 6 });
    }

    #[test]
    fn swapped_entries_are_named() {
        let mut entries = chain(10);
        let (a, b) = (entries[3].clone(), entries[7].clone());
        entries[3] = Entry { seq: 4, ..b };
        entries[7] = Entry { seq: 8, ..a };
        assert_eq!(broken(entries), Broken::OutOfOrder { seq: 4 });
        let mut adjacent = chain(10);
        adjacent.swap(3, 4);
        adjacent[3].seq = 4;
        adjacent[4].seq = 5;
        assert_eq!(broken(adjacent), Broken::OutOfOrder { seq: 4 });
    }

    #[test]
    fn a_truncated_tail_is_caught_by_a_later_checkpoint() {
        let mut entries = chain(10);
        let cp = checkpoint(&entries, 10);
        entries.truncate(7);
        let e = verify(entries, None, &[cp], None).unwrap_err();
        assert_eq!(
            e,
            Broken::Truncated {
                checkpoint_seq: 10,
                last_seq: 7
            }
        );
    }

    #[test]
    fn a_rewritten_chain_is_caught_by_its_checkpoint() {
        let mut entries = chain(10);
        let cps = [checkpoint(&entries, 3), checkpoint(&entries, 8)];
        entries[5].record.message = Some("rewritten".into());
        rehash(&mut entries, 5);
        let e = verify(entries, None, &cps, None).unwrap_err();
        assert_eq!(e, Broken::Rewritten { from: 4, seq: 8 });
        assert_eq!(
            e.to_string(),
            "entries 4..8 were rewritten: entry 8 does not match its signed checkpoint"
        );
    }

    #[test]
    fn checkpoints_must_be_signed_by_the_trusted_key_or_one_key() {
        let entries = chain(5);
        let mut forged = checkpoint(&entries, 5);
        forged.seq = 4;
        let e = verify(entries.clone(), None, &[forged], None).unwrap_err();
        assert_eq!(
            e,
            Broken::BadCheckpoint {
                seq: 4,
                problem: SignatureProblem::Invalid
            }
        );

        let other = Signer::from_seed(&[2; 32]);
        let head = Head {
            seq: 5,
            hash: entries[4].hash.clone(),
        };
        let theirs = other.sign_head(&head, "t");
        let trusted = signer().public_key();
        let e = verify(
            entries.clone(),
            None,
            std::slice::from_ref(&theirs),
            Some(&trusted),
        )
        .unwrap_err();
        assert_eq!(
            e,
            Broken::BadCheckpoint {
                seq: 5,
                problem: SignatureProblem::Untrusted
            }
        );
        assert!(
            e.to_string().contains("another key than the trusted one"),
            "{e}"
        );

        let ours = checkpoint(&entries, 3);
        let e = verify(entries.clone(), None, &[ours, theirs.clone()], None).unwrap_err();
        assert_eq!(
            e,
            Broken::BadCheckpoint {
                seq: 5,
                problem: SignatureProblem::KeyDiffers
            }
        );

        let v = verify(entries, None, &[theirs], None).unwrap();
        assert_eq!(v.public_key, Some(other.public_key()));
    }

    #[test]
    fn after_retention_the_chain_verifies_from_its_anchor() {
        let full = chain(10);
        let kept = full[4..].to_vec();
        let anchor = signer().sign_anchor(5, &full[3].hash, "t");
        let old = checkpoint(&full, 2);
        let v = verify(
            kept.clone(),
            Some(&anchor),
            &[old, checkpoint(&full, 9)],
            None,
        )
        .unwrap();
        assert_eq!((v.entries, v.first, v.checkpoints), (6, 5, 1));

        // The anchor pins the first kept entry: deleting it, or more, shows.
        let e = verify(kept[1..].to_vec(), Some(&anchor), &[], None).unwrap_err();
        assert_eq!(e, Broken::Missing { seq: 5, found: 6 });
        let e = verify(Vec::new(), Some(&anchor), &[], None).unwrap_err();
        assert_eq!(
            e,
            Broken::Truncated {
                checkpoint_seq: 5,
                last_seq: 0
            }
        );
        // An entry slipped in before it, too.
        let e = verify(full[3..].to_vec(), Some(&anchor), &[], None).unwrap_err();
        assert_eq!(
            e,
            Broken::BeforeAnchor {
                seq: 4,
                anchor_seq: 5
            }
        );
        // And a first entry that does not follow it.
        let mut edited = kept.clone();
        edited[0].prev_hash = "f".repeat(64);
        rehash(&mut edited, 0);
        let e = verify(edited, Some(&anchor), &[], None).unwrap_err();
        assert_eq!(e, Broken::Inserted { seq: 5 });
    }

    #[test]
    fn a_forged_anchor_is_refused() {
        let full = chain(10);
        let mut anchor = signer().sign_anchor(5, &full[3].hash, "t");
        anchor.seq = 7;
        let e = verify(full[6..].to_vec(), Some(&anchor), &[], None).unwrap_err();
        assert_eq!(
            e,
            Broken::BadAnchor {
                seq: 7,
                problem: SignatureProblem::Invalid
            }
        );
    }

    #[test]
    fn retention_anchors_continue_any_chain() {
        // What a store's chain looks like after a second retention: anchored mid-way.
        let full = chain_from(20, 30, &"a".repeat(64));
        let anchor = signer().sign_anchor(20, &"a".repeat(64), "t");
        assert_eq!(verify(full, Some(&anchor), &[], None).unwrap().first, 20);
    }
}
