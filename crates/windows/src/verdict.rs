//! What the windows decide for an app, and why, in words fit for a status line.

use crate::window::{WindowError, WindowSummary};
use jiff::civil::DateTime;
use std::fmt;

/// Whether a sync may run, and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub permitted: bool,
    pub reason: Reason,
}

/// Why syncs are permitted or blocked. The windows listed are the ones that decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Permitted: no window applies to the app.
    NoMatchingWindow,
    /// Permitted: only deny windows apply, and none is active.
    NoActiveWindow,
    /// Permitted by an active allow window (the first one) with no active deny window.
    AllowedBy(WindowSummary),
    /// Permitted: a manual sync, and every active deny window has `manualSync`.
    ManualDuringDeny(Vec<WindowSummary>),
    /// Permitted: a manual sync, no allow window is active and every one has `manualSync`.
    ManualOutsideAllow(Vec<WindowSummary>),
    /// Permitted: a running sync that started while syncs were permitted, and every active
    /// deny window has `syncOverrun`.
    OverrunIntoDeny(Vec<WindowSummary>),
    /// Permitted: a running sync that started while syncs were permitted, no allow window is
    /// active any more and every one has `syncOverrun`.
    OverrunPastAllow(Vec<WindowSummary>),
    /// Blocked by these active deny windows (for a manual sync: those without `manualSync`).
    DeniedBy(Vec<WindowSummary>),
    /// Blocked: no allow window is active (for a manual sync: these lack `manualSync`).
    OutsideAllow(Vec<WindowSummary>),
    /// Blocked: a window that applies to the app is invalid.
    Invalid(WindowError),
}

impl Verdict {
    pub(crate) fn permitted(reason: Reason) -> Verdict {
        Verdict {
            permitted: true,
            reason,
        }
    }

    pub(crate) fn blocked(reason: Reason) -> Verdict {
        Verdict {
            permitted: false,
            reason,
        }
    }
}

/// "a", "a and b", "a, b and c".
struct List<'a>(&'a [WindowSummary]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, window) in self.0.iter().enumerate() {
            match i {
                0 => {}
                _ if i + 1 == self.0.len() => f.write_str(" and ")?,
                _ => f.write_str(", ")?,
            }
            write!(f, "{window}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            Reason::NoMatchingWindow => f.write_str("permitted: no sync window applies to the app"),
            Reason::NoActiveWindow => {
                f.write_str("permitted: no deny window is active and no allow window applies")
            }
            Reason::AllowedBy(window) => write!(f, "permitted by {window}"),
            Reason::ManualDuringDeny(windows) => {
                write!(f, "permitted: manual sync allowed by {}", List(windows))
            }
            Reason::ManualOutsideAllow(windows) => {
                write!(
                    f,
                    "permitted: manual sync allowed outside {}",
                    List(windows)
                )
            }
            Reason::OverrunIntoDeny(windows) | Reason::OverrunPastAllow(windows) => write!(
                f,
                "permitted: the running sync started while syncs were permitted and {} lets it overrun",
                List(windows)
            ),
            Reason::DeniedBy(windows) => write!(f, "blocked by {}", List(windows)),
            Reason::OutsideAllow(windows) => write!(f, "blocked: outside {}", List(windows)),
            Reason::Invalid(error) => write!(f, "blocked: {error}"),
        }
    }
}

/// The windows that apply to an app and the verdict, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    pub verdict: Verdict,
    pub windows: Vec<WindowState>,
}

/// One window that applies to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowState {
    pub summary: WindowSummary,
    pub manual_sync: bool,
    pub sync_overrun: bool,
    pub status: Status,
}

/// Whether a window is open; the times are wall-clock times in the window's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Active { closes: Option<DateTime> },
    Inactive { opens: Option<DateTime> },
    Invalid(WindowError),
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.verdict)?;
        for window in &self.windows {
            write!(f, "\n  {}: ", window.summary)?;
            match &window.status {
                Status::Active { closes: Some(at) } => write!(f, "active, closes {at}")?,
                Status::Active { closes: None } => f.write_str("active")?,
                Status::Inactive { opens: Some(at) } => write!(f, "inactive, opens {at}")?,
                Status::Inactive { opens: None } => f.write_str("inactive")?,
                Status::Invalid(error) => write!(f, "invalid: {error}")?,
            }
            if window.manual_sync {
                f.write_str(", manual sync allowed")?;
            }
            if window.sync_overrun {
                f.write_str(", sync overrun")?;
            }
        }
        Ok(())
    }
}
