//! Watching one app through the API server: the live stream (server-sent events) of its
//! changes, and a read of it every few seconds besides (every two when the stream is gone).

use super::http::HttpBackend;
use super::sse::SseParser;
use super::{AppBackend, AppChange, AppWatch};
use crate::cli::app_source::CommandError;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;
use std::collections::VecDeque;
use std::time::Duration;

/// While the live stream is open, the app is also read this often (a missed event costs no
/// more than this); without the stream, this is how often it is read.
const POLL_WITH_STREAM: Duration = Duration::from_secs(5);
const POLL_WITHOUT_STREAM: Duration = Duration::from_secs(2);

/// `first`, then the changes `stream` (the opened live stream, if any) and the reads bring.
pub fn watch(
    backend: HttpBackend,
    name: &str,
    stream: Option<reqwest::Response>,
    first: Value,
) -> AppWatch {
    let body = stream.map(|response| {
        response
            .bytes_stream()
            .map(|c| c.map(|b| b.to_vec()))
            .boxed()
    });
    let state = Watch {
        backend,
        name: name.to_string(),
        poll: poll_interval(body.is_some()),
        body,
        bytes: Vec::new(),
        parser: SseParser::default(),
        pending: VecDeque::from([AppChange::Changed(Box::new(first))]),
    };
    futures::stream::unfold(state, Watch::next).boxed()
}

fn poll_interval(streaming: bool) -> tokio::time::Interval {
    let period = if streaming {
        POLL_WITH_STREAM
    } else {
        POLL_WITHOUT_STREAM
    };
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

/// The state of a watch: the stream's bytes not yet parsed, and changes not yet handed out.
struct Watch {
    backend: HttpBackend,
    name: String,
    body: Option<BoxStream<'static, reqwest::Result<Vec<u8>>>>,
    poll: tokio::time::Interval,
    bytes: Vec<u8>,
    parser: SseParser,
    pending: VecDeque<AppChange>,
}

impl Watch {
    async fn next(mut self) -> Option<(Result<AppChange, CommandError>, Self)> {
        loop {
            if let Some(change) = self.pending.pop_front() {
                return Some((Ok(change), self));
            }
            let (body, poll) = (&mut self.body, &mut self.poll);
            let chunk = async {
                match body.as_mut() {
                    Some(body) => body.next().await,
                    None => std::future::pending().await,
                }
            };
            let woke = tokio::select! {
                chunk = chunk => Woke::Chunk(chunk),
                _ = poll.tick() => Woke::Tick,
            };
            match woke {
                Woke::Chunk(Some(Ok(bytes))) => self.take(&bytes),
                // The stream ended or broke: reading the app every few seconds instead.
                Woke::Chunk(Some(Err(_)) | None) => {
                    self.body = None;
                    self.poll = poll_interval(false);
                }
                Woke::Tick => {
                    if let Err(error) = self.read().await {
                        return Some((Err(error), self));
                    }
                }
            }
        }
    }

    /// Parses what arrived: whole lines only (a chunk may end inside a character).
    fn take(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        let Some(end) = self.bytes.iter().rposition(|b| *b == b'\n') else {
            return;
        };
        let lines: Vec<u8> = self.bytes.drain(..=end).collect();
        for event in self.parser.push(&String::from_utf8_lossy(&lines)) {
            match event.event.as_deref() {
                // Changes were missed: the app is read again.
                Some("lagged") => self.poll.reset_immediately(),
                None | Some("message") => {
                    if let Some(change) = change_of(&event.data) {
                        self.pending.push_back(change);
                    }
                }
                Some(_) => {}
            }
        }
    }

    async fn read(&mut self) -> Result<(), CommandError> {
        match self.backend.get_app(&self.name).await {
            Ok(app) => self.pending.push_back(AppChange::Changed(Box::new(app))),
            Err(CommandError::NotFound(_)) => self.pending.push_back(AppChange::Deleted),
            Err(error) => return Err(error),
        }
        Ok(())
    }
}

enum Woke {
    Chunk(Option<reqwest::Result<Vec<u8>>>),
    Tick,
}

/// The change one stream event tells: `{"result": {"type", "application"}}`.
fn change_of(data: &str) -> Option<AppChange> {
    let event: Value = serde_json::from_str(data).ok()?;
    let result = &event["result"];
    match result["type"].as_str()? {
        "DELETED" => Some(AppChange::Deleted),
        _ if result["application"].is_object() => {
            Some(AppChange::Changed(Box::new(result["application"].clone())))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_events_become_changes() {
        let changed =
            change_of(r#"{"result":{"type":"MODIFIED","application":{"metadata":{"name":"a"}}}}"#);
        assert!(matches!(changed, Some(AppChange::Changed(app)) if app["metadata"]["name"] == "a"));
        assert!(matches!(
            change_of(r#"{"result":{"type":"DELETED","application":{}}}"#),
            Some(AppChange::Deleted)
        ));
        assert!(change_of("not json").is_none());
    }
}
