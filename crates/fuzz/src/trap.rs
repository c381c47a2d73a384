//! Panic capture. The hook records every panic, including those a library catches itself
//! (gotmpl turns a panicking template function into an error, mlua a panicking callback under
//! `pcall`): each is a bug in code that must not panic, so each counts.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, PoisonError};

static LAST: Mutex<Option<String>> = Mutex::new(None);

/// Replaces the default hook (which prints) with one that records message and location.
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let message = payload_text(info.payload());
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "unknown location".into());
        let mut last = LAST.lock().unwrap_or_else(PoisonError::into_inner);
        // The first panic of an execution is the one that matters.
        if last.is_none() {
            *last = Some(format!("{location}: {message}"));
        }
    }));
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".into()
    }
}

/// Runs `f`; `Some(location: message)` when anything panicked inside, caught or not.
pub fn run(f: impl FnOnce()) -> Option<String> {
    LAST.lock().unwrap_or_else(PoisonError::into_inner).take();
    let unwound = catch_unwind(AssertUnwindSafe(f)).is_err();
    let recorded = LAST.lock().unwrap_or_else(PoisonError::into_inner).take();
    match (unwound, recorded) {
        (_, Some(message)) => Some(message),
        (true, None) => Some("panic (no message recorded)".into()),
        (false, None) => None,
    }
}

/// The `file:line:col` part of a recorded panic, used to tell distinct bugs apart.
pub fn location(message: &str) -> &str {
    message.split(": ").next().unwrap_or(message)
}
