//! Git sources: a bare-repo cache per URL, revision resolution, cheap ref checks and credentials
