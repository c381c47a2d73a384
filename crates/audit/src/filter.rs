//! Which entries a listing wants.

use crate::entry::{Entry, Kind};

/// Entries come back in seq order, oldest first from `after_seq` (newest first below
/// `before_seq` when `newest_first`), at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub app: Option<String>,
    pub user: Option<String>,
    /// A substring of the object.
    pub object: Option<String>,
    pub kind: Option<Kind>,
    /// RFC 3339, compared as text of the same format (inclusive).
    pub since: Option<String>,
    /// RFC 3339, compared as text of the same format (exclusive).
    pub until: Option<String>,
    pub after_seq: Option<u64>,
    pub before_seq: Option<u64>,
    /// Newest first: a reader pages back from the head with `before_seq`.
    pub newest_first: bool,
    pub limit: Option<usize>,
}

impl Filter {
    /// Whether `entry` passes every condition but `limit`; the stores filter in SQL, this is
    /// the same rule for entries already in memory.
    pub fn matches(&self, entry: &Entry) -> bool {
        let r = &entry.record;
        self.app.as_ref().is_none_or(|a| r.app.as_ref() == Some(a))
            && self
                .user
                .as_ref()
                .is_none_or(|u| r.user.as_ref() == Some(u))
            && self
                .object
                .as_ref()
                .is_none_or(|o| r.object.as_ref().is_some_and(|x| x.contains(o.as_str())))
            && self.kind.is_none_or(|k| r.kind == Some(k))
            && self
                .since
                .as_ref()
                .is_none_or(|s| r.time.as_str() >= s.as_str())
            && self
                .until
                .as_ref()
                .is_none_or(|u| r.time.as_str() < u.as_str())
            && self.after_seq.is_none_or(|s| entry.seq > s)
            && self.before_seq.is_none_or(|s| entry.seq < s)
    }
}
