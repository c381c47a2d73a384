//! Making a cache repository's refs mirror a remote's advertisement after a fetch.

use std::collections::{BTreeMap, BTreeSet};

use gix::bstr::ByteSlice;
use gix::protocol::handshake::Ref;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};

use crate::ids::CommitId;
use crate::refs::{RemoteHead, RemoteRefs};
use crate::remote::{Remote, RemoteError};

impl Remote<'_> {
    /// Points HEAD where the remote's points and deletes branches and tags the remote no
    /// longer has (git's `fetch --prune`).
    pub(crate) fn mirror_refs(
        &self,
        repo: &gix::Repository,
        refs: &RemoteRefs,
    ) -> Result<(), RemoteError> {
        let update_err = |message: String| RemoteError::UpdateRefs {
            url: self.shown(),
            message,
        };
        let advertised: BTreeSet<&str> = refs.refs().keys().map(String::as_str).collect();
        let mut edits = Vec::new();
        let platform = repo.references().map_err(|e| update_err(self.clean(&e)))?;
        let iter = platform.all().map_err(|e| update_err(self.clean(&e)))?;
        for reference in iter {
            let reference = reference.map_err(|e| update_err(self.clean(&e)))?;
            let name = reference.name().as_bstr().to_str_lossy().into_owned();
            let mirrored = name.starts_with("refs/heads/") || name.starts_with("refs/tags/");
            if mirrored && !advertised.contains(name.as_str()) {
                edits.push(RefEdit::new(
                    reference.name().to_owned(),
                    Change::Delete {
                        expected: PreviousValue::Any,
                        log: RefLog::AndReference,
                    },
                ));
            }
        }
        let head_target = match refs.head() {
            Some(RemoteHead::Branch { target, .. }) => {
                gix::refs::FullName::try_from(target.as_str())
                    .ok()
                    .map(gix::refs::Target::Symbolic)
            }
            Some(RemoteHead::Detached(commit)) => Some(gix::refs::Target::Object(commit.0)),
            None => None,
        };
        if let (Some(new), Ok(head)) = (head_target, gix::refs::FullName::try_from("HEAD")) {
            let change = Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: "fetch".into(),
                },
                expected: PreviousValue::Any,
                new,
            };
            edits.push(RefEdit::new(head, change));
        }
        if edits.is_empty() {
            return Ok(());
        }
        repo.edit_references(edits)
            .map(|_| ())
            .map_err(|e| update_err(self.clean(&e)))
    }
}

/// Turns the advertisement into [`RemoteRefs`]: annotated tags peeled to their commit,
/// `HEAD` kept apart, unborn refs (an empty repository) skipped.
pub(crate) fn remote_refs_from(advertised: &[Ref]) -> RemoteRefs {
    let mut refs = BTreeMap::new();
    let mut head = None;
    for r in advertised {
        match r {
            Ref::Direct {
                full_ref_name,
                object,
            }
            | Ref::Peeled {
                full_ref_name,
                object,
                ..
            } => {
                let name = full_ref_name.to_str_lossy().into_owned();
                if name == "HEAD" {
                    head = Some(RemoteHead::Detached(CommitId(*object)));
                } else {
                    refs.insert(name, CommitId(*object));
                }
            }
            Ref::Symbolic {
                full_ref_name,
                target,
                object,
                ..
            } => {
                let name = full_ref_name.to_str_lossy().into_owned();
                if name == "HEAD" {
                    let target = target.to_str_lossy().into_owned();
                    head = Some(RemoteHead::Branch {
                        target,
                        commit: CommitId(*object),
                    });
                } else {
                    refs.insert(name, CommitId(*object));
                }
            }
            Ref::Unborn { .. } => {}
        }
    }
    RemoteRefs::new(refs, head)
}
