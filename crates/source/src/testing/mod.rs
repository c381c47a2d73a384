//! Test helpers, behind the `testing` cargo feature, for this crate's tests and for other
//! crates' tests (add `driftless-source = { workspace = true, features = ["testing"] }` to
//! their dev-dependencies):
//!
//! - [`ScratchRepo`]: a git repository in a temporary directory, driven by the `git` CLI
//!   (commits, branches, annotated tags, symlinks), with a `file://` URL.
//! - [`GitHttpServer`]: serves a directory of repositories over smart HTTP on 127.0.0.1 with
//!   git's own `git http-backend` (CGI), optionally behind basic auth, and logs every request
//!   so tests can count fetches and ref listings.
//!
//! They live behind a feature rather than in `tests/` because a `tests/` module cannot be
//! shared with other crates, and behind a feature rather than always compiled so that the
//! controller binary carries no test server. Helpers panic on failure: they are test code.

mod git;
mod http;

pub use git::ScratchRepo;
pub use http::{GitHttpServer, GitHttpServerBuilder, RequestRecord, read_headers};
