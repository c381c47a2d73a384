//! Which words are coloured, in which colour, and whether colour is on at all: only when
//! stdout is a terminal and NO_COLOR is unset.

use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Green,
    Yellow,
    Red,
    Cyan,
    Magenta,
    Dim,
}

impl Style {
    /// The colour of a sync, health, operation or result word; none for other text.
    pub fn of_status(word: &str) -> Option<Self> {
        Some(match word {
            "Synced" | "Healthy" | "Succeeded" | "Pruned" => Self::Green,
            "OutOfSync" | "Missing" | "Terminating" | "PruneSkipped" => Self::Yellow,
            "Degraded" | "Failed" | "Error" | "SyncFailed" => Self::Red,
            "Progressing" | "Running" => Self::Cyan,
            "Suspended" => Self::Magenta,
            "Unknown" => Self::Dim,
            _ => return None,
        })
    }

    fn code(self) -> &'static str {
        match self {
            Self::Green => "32",
            Self::Yellow => "33",
            Self::Red => "31",
            Self::Cyan => "36",
            Self::Magenta => "35",
            Self::Dim => "2",
        }
    }

    pub fn paint(self, text: &str) -> String {
        format!("\u{1b}[{}m{text}\u{1b}[0m", self.code())
    }
}

/// Whether to colour what goes to stdout.
pub fn enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}
