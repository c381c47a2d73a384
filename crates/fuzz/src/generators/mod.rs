//! Structured generators: inputs with the shape each target expects, so that most of them get
//! past the first check and reach the code behind it.

pub mod gotmpl;
pub mod jq;
pub mod json;
pub mod k8s;
pub mod lua;
pub mod webhook;
