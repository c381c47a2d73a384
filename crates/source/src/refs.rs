//! The refs a remote advertises (what `ls_remote` returns) and how a `targetRevision` maps onto
//! ref names. Pure: the "did it move?" check compares values from here.

use std::collections::BTreeMap;

use crate::ids::{CommitId, is_full_sha};

/// What the remote's `HEAD` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteHead {
    /// `HEAD` names a branch, e.g. `refs/heads/main`, which points at `commit`.
    Branch { target: String, commit: CommitId },
    /// `HEAD` points at a commit directly.
    Detached(CommitId),
}

impl RemoteHead {
    pub fn commit(&self) -> CommitId {
        match self {
            RemoteHead::Branch { commit, .. } | RemoteHead::Detached(commit) => *commit,
        }
    }
}

/// The branches and tags of a remote, each mapped to the commit it points at (annotated tags
/// peeled to their commit), plus `HEAD`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteRefs {
    refs: BTreeMap<String, CommitId>,
    head: Option<RemoteHead>,
}

impl RemoteRefs {
    /// Builds the listing from full ref names (`refs/heads/main`, `refs/tags/v1`) and `HEAD`.
    pub fn new(refs: BTreeMap<String, CommitId>, head: Option<RemoteHead>) -> Self {
        RemoteRefs { refs, head }
    }

    /// Every advertised ref by full name, except `HEAD`.
    pub fn refs(&self) -> &BTreeMap<String, CommitId> {
        &self.refs
    }

    pub fn head(&self) -> Option<&RemoteHead> {
        self.head.as_ref()
    }

    /// The commit a ref points at, by full name (`refs/heads/main`) or `HEAD`.
    pub fn get(&self, full_name: &str) -> Option<CommitId> {
        if full_name == "HEAD" {
            return self.head.as_ref().map(RemoteHead::commit);
        }
        self.refs.get(full_name).copied()
    }

    /// Resolves a `targetRevision` against the advertised refs alone, without any objects:
    /// `""`/`HEAD`, a full ref name, a tag or branch name (git's order: tags before
    /// branches), or a full commit id (which is its own answer). `None` for an abbreviated
    /// commit id or an unknown name: those need the objects, i.e. a fetch.
    pub fn resolve(&self, revision: &str) -> Option<CommitId> {
        let revision = revision.trim();
        if is_full_sha(revision) {
            return revision.parse().ok();
        }
        candidate_ref_names(revision)
            .iter()
            .find_map(|name| self.get(name))
    }
}

/// The full ref names a symbolic revision may stand for, in the order git's rev-parse tries them.
pub(crate) fn candidate_ref_names(revision: &str) -> Vec<String> {
    let revision = revision.trim();
    if revision.is_empty() || revision == "HEAD" {
        return vec!["HEAD".to_string()];
    }
    if revision.starts_with("refs/") {
        return vec![revision.to_string()];
    }
    vec![
        format!("refs/{revision}"),
        format!("refs/tags/{revision}"),
        format!("refs/heads/{revision}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn id(n: u8) -> CommitId {
        format!("{:040x}", n).parse().expect("valid id")
    }

    fn sample() -> RemoteRefs {
        let refs = BTreeMap::from([
            ("refs/heads/main".to_string(), id(1)),
            ("refs/heads/release".to_string(), id(2)),
            ("refs/tags/v1.0.0".to_string(), id(3)),
            ("refs/tags/both".to_string(), id(4)),
            ("refs/heads/both".to_string(), id(5)),
        ]);
        RemoteRefs::new(
            refs,
            Some(RemoteHead::Branch {
                target: "refs/heads/main".into(),
                commit: id(1),
            }),
        )
    }

    #[test]
    fn resolves_names_like_git() {
        let refs = sample();
        let cases = [
            ("", Some(id(1))),
            ("HEAD", Some(id(1))),
            ("main", Some(id(1))),
            ("release", Some(id(2))),
            ("v1.0.0", Some(id(3))),
            ("refs/heads/release", Some(id(2))),
            ("heads/release", Some(id(2))),
            ("both", Some(id(4))),
            ("missing", None),
            ("abc1234", None),
        ];
        for (revision, expected) in cases {
            assert_eq!(refs.resolve(revision), expected, "for {revision:?}");
        }
    }

    #[test]
    fn a_full_commit_id_resolves_to_itself() {
        let full = format!("{:040x}", 99);
        assert_eq!(sample().resolve(&full), Some(id(99)));
    }

    #[test]
    fn an_empty_remote_resolves_nothing() {
        assert_eq!(RemoteRefs::default().resolve("HEAD"), None);
    }
}
