//! The JSON-lines protocol between parent and worker, one message a line.
//!
//! The parent sends a [`Request`]; while handling it the worker may send any number of
//! [`FromWorker::Callback`] lines, each answered by one [`FromParent`] line; the worker
//! ends the request with [`FromWorker::Result`] or [`FromWorker::Error`]. Then the worker
//! waits for the next request, until its stdin ends.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `{"kind": "...", "input": <json>}`: evaluate `input` with the handler named `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub kind: String,
    pub input: Value,
}

/// A line from the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromWorker {
    /// `{"callback": <json>}`: the worker needs something only the parent has.
    Callback(Value),
    /// `{"result": <json>}`: the request's answer.
    Result(Value),
    /// `{"error": "..."}`: the request failed.
    Error(String),
}

/// The parent's answer to a callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromParent {
    /// `{"reply": <json>}`
    Reply(Value),
    /// `{"reply_error": "..."}`
    ReplyError(String),
}

/// One message as a line of JSON, newline included.
pub fn to_line<T: Serialize>(message: &T) -> String {
    // Serializing these types (strings and `Value`s) cannot fail.
    let mut line = serde_json::to_string(message).unwrap_or_default();
    line.push('\n');
    line
}
