//! Large directories, decoded once per tree id. An `apps/` folder of 10,000 apps is one git
//! tree object of 10,000 entries, and every reconcile looks one app's path up in it: decoding it
//! each time made one lookup cost O(apps) and a commit's reconciles O(apps²). A tree id is the
//! hash of its contents, so a decoded tree never goes stale.

use gix::ObjectId;
use gix::objs::tree::EntryKind;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::cache::lock;

/// A tree with at least this many entries is kept decoded; smaller ones decode in a few µs.
pub(crate) const BIG: usize = 256;

/// How many big trees are kept: a commit's own, and the one before it (for the touched-path
/// comparison), with room to spare. About 1 MB each at 10,000 entries.
const KEPT: usize = 4;

pub(crate) type Entries = HashMap<Vec<u8>, (EntryKind, ObjectId)>;

/// The most recently used big trees of one repository.
#[derive(Default)]
pub(crate) struct BigTrees {
    kept: Mutex<VecDeque<(ObjectId, Arc<Entries>)>>,
}

impl BigTrees {
    pub(crate) fn get(&self, tree: &ObjectId) -> Option<Arc<Entries>> {
        let mut kept = lock(&self.kept);
        let at = kept.iter().position(|(id, _)| id == tree)?;
        let found = kept.remove(at)?;
        let entries = found.1.clone();
        kept.push_front(found);
        Some(entries)
    }

    pub(crate) fn insert(&self, tree: ObjectId, entries: Entries) {
        let mut kept = lock(&self.kept);
        if kept.iter().any(|(id, _)| *id == tree) {
            return;
        }
        kept.push_front((tree, Arc::new(entries)));
        kept.truncate(KEPT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(byte: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[byte; 20])
    }

    fn one_entry(name: &str, byte: u8) -> Entries {
        HashMap::from([(name.as_bytes().to_vec(), (EntryKind::Tree, id(byte)))])
    }

    #[test]
    fn keeps_the_most_recently_used_trees() {
        let trees = BigTrees::default();
        for byte in 0..KEPT as u8 {
            trees.insert(id(byte), one_entry("a", byte));
        }
        // Using the oldest makes it the newest: the next insert evicts the second oldest.
        assert!(trees.get(&id(0)).is_some());
        trees.insert(id(100), one_entry("b", 100));
        assert!(trees.get(&id(0)).is_some());
        assert!(trees.get(&id(1)).is_none());
        assert_eq!(
            trees.get(&id(100)).expect("kept")[b"b".as_slice()],
            (EntryKind::Tree, id(100))
        );
    }
}
