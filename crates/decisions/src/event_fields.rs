//! What an Event says beyond which one it is ([`crate::events`] decides that): the `action`
//! the API server requires of an Event with an `eventTime`, and its message cut to the length
//! the API server accepts then.

/// The longest message (`note`) the API server accepts of an Event with an `eventTime`, in bytes.
pub const NOTE_LIMIT: usize = 1024;

/// What the controller did that an Event of `reason` reports: a sync for the operation's
/// Events, a refresh (a comparison that found a new sync or health status) otherwise.
pub fn action_of(reason: &str) -> &'static str {
    match reason {
        "OperationStarted" | "OperationCompleted" | "SyncLoop" => "Sync",
        _ => "Refresh",
    }
}

/// `message` as an Event's note: whole when it fits in [`NOTE_LIMIT`] bytes, else cut at a
/// character boundary and ended with "…" (the app's status keeps the whole message).
pub fn note_of(message: &str) -> String {
    if message.len() <= NOTE_LIMIT {
        return message.to_string();
    }
    const ELLIPSIS: &str = "…";
    let mut end = NOTE_LIMIT - ELLIPSIS.len();
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ELLIPSIS}", &message[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_events_report_a_sync_and_status_updates_a_refresh() {
        assert_eq!(action_of("OperationStarted"), "Sync");
        assert_eq!(action_of("OperationCompleted"), "Sync");
        assert_eq!(action_of("SyncLoop"), "Sync");
        assert_eq!(action_of("ResourceUpdated"), "Refresh");
    }

    #[test]
    fn a_short_message_is_kept_whole() {
        assert_eq!(
            note_of("Sync operation to abc succeeded"),
            "Sync operation to abc succeeded"
        );
        let exact = "a".repeat(NOTE_LIMIT);
        assert_eq!(note_of(&exact), exact);
    }

    #[test]
    fn a_long_message_is_cut_within_the_limit_at_a_character_boundary() {
        // "é" is two bytes: a cut in the middle of one moves back before it.
        let long = format!("a{}", "é".repeat(NOTE_LIMIT));
        let note = note_of(&long);
        assert!(note.len() <= NOTE_LIMIT, "{} bytes", note.len());
        assert!(note.ends_with('…'));
        assert!(long.starts_with(note.trim_end_matches('…')));
    }
}
