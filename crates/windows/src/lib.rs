//! Argo CD sync windows (AppProject `spec.syncWindows`) evaluated the way Argo CD 3.x does.
//! Pure: the current time is always a parameter, and time zones come from the IANA database
//! bundled in the binary, never from the system.
//!
//! # Semantics (Argo CD's `SyncWindows.Matches` and `CanSync`)
//!
//! - Matching: [`matches`]. Only windows that apply to the app take part.
//! - Active: a window is active at `now` when its first scheduled start strictly after
//!   `now - duration` is strictly before `now`, both read on the window zone's wall clock with
//!   the UTC offset in force at `now`. So a window is open strictly between a start and start
//!   plus duration, and durations count wall-clock time: on a DST night a window spanning the
//!   change lasts an hour less (spring) or more (autumn) in real time, a start inside the
//!   skipped hour opens the window when the clock jumps past it, and a start inside the
//!   repeated hour opens it on the first pass and again on the second. A schedule with no
//!   start within five years (robfig's horizon, e.g. 30 February) counts as always active.
//!   A zero or negative duration never opens.
//! - [`can_sync`]: no window applies: permitted. An active deny window blocks, unless the
//!   sync is manual and every active deny window has `manualSync`. Else an active allow
//!   window permits. Else, if allow windows apply (all inactive), the sync is blocked unless
//!   it is manual and every allow window has `manualSync`. Else permitted.
//! - [`can_continue`] (a sync already running, as Argo CD's controller asks while an operation
//!   runs): as [`can_sync`], but where that blocks, the sync may continue when every active
//!   deny window (or, outside allow windows, every allow window) has `syncOverrun` and the
//!   windows permitted the same kind of sync at its start time. As in Argo CD, that start time
//!   is read with the offset in force now.
//!
//! # Invalid windows
//!
//! A window that applies to the app and has an unknown kind, a schedule or duration that does
//! not parse, or an unknown time zone blocks every sync of the app, manual or not, and the
//! [`WindowError`] names it. For schedules and durations that is what Argo CD does (`CanSync`
//! fails and the controller and the API treat the failure as blocked). Argo CD ignores a
//! window of another kind and evaluates an unknown zone as UTC, both silently: here those
//! block too, so a typo never opens a deny window. Schedules are robfig/cron's five standard
//! fields; descriptors (`@daily`) fail as in Argo CD, and `CRON_TZ=` prefixes fail here
//! (Argo CD would accept them; set `timeZone` instead). The time zone "Local" is UTC.

// Tests may unwrap: a panic there is a failed test, not a crash on user input.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod cron;
mod duration;
mod verdict;
mod window;

pub use cron::{CronError, Field, FieldProblem, Schedule};
pub use duration::{DurationError, parse_go_duration};
pub use jiff;
pub use verdict::{Description, Reason, Status, Verdict, WindowState};
pub use window::{AppRef, Kind, Window, WindowError, WindowSummary, matches};

use driftless_model::project::SyncWindow;
use jiff::Timestamp;

/// Whether a new sync of `app` may start at `now` (`manual`: asked for by a user rather
/// than automated sync).
pub fn can_sync(windows: &[SyncWindow], app: &AppRef<'_>, now: Timestamp, manual: bool) -> Verdict {
    match applicable(windows, app) {
        Ok(windows) => decide(&windows, now, now, manual, None),
        Err(error) => Verdict::blocked(Reason::Invalid(error)),
    }
}

/// Whether a sync of `app` that is already running, started at `started_at`, may go on at
/// `now`: [`can_sync`] plus the windows' `syncOverrun`.
pub fn can_continue(
    windows: &[SyncWindow],
    app: &AppRef<'_>,
    now: Timestamp,
    manual: bool,
    started_at: Timestamp,
) -> Verdict {
    match applicable(windows, app) {
        Ok(windows) => decide(&windows, now, now, manual, Some(started_at)),
        Err(error) => Verdict::blocked(Reason::Invalid(error)),
    }
}

/// The windows that apply to `app`, each active or not and when that changes, and the
/// [`can_sync`] verdict.
pub fn describe(
    windows: &[SyncWindow],
    app: &AppRef<'_>,
    now: Timestamp,
    manual: bool,
) -> Description {
    let states = windows
        .iter()
        .enumerate()
        .filter(|(_, window)| matches(window, app))
        .map(|(index, spec)| {
            let status = match Window::parse(index, spec) {
                Ok(window) if window.is_active(now) => Status::Active {
                    closes: window.next_change(now),
                },
                Ok(window) => Status::Inactive {
                    opens: window.next_change(now),
                },
                Err(error) => Status::Invalid(error),
            };
            WindowState {
                summary: WindowSummary::of(index, spec),
                manual_sync: spec.manual_sync.unwrap_or(false),
                sync_overrun: spec.sync_overrun.unwrap_or(false),
                status,
            }
        })
        .collect();
    Description {
        verdict: can_sync(windows, app, now, manual),
        windows: states,
    }
}

/// Every invalid window of a project, whether or not it applies to any app.
pub fn validate(windows: &[SyncWindow]) -> Vec<WindowError> {
    windows
        .iter()
        .enumerate()
        .filter_map(|(index, window)| Window::parse(index, window).err())
        .collect()
}

/// The windows that apply to `app`, read; the first invalid one is an error.
fn applicable(windows: &[SyncWindow], app: &AppRef<'_>) -> Result<Vec<Window>, WindowError> {
    windows
        .iter()
        .enumerate()
        .filter(|(_, window)| matches(window, app))
        .map(|(index, window)| Window::parse(index, window))
        .collect()
}

/// Argo CD's `CanSync` over the applicable windows at `at`, offsets read at `clock`;
/// `started_at` is set when a running sync asks to continue.
fn decide(
    windows: &[Window],
    at: Timestamp,
    clock: Timestamp,
    manual: bool,
    started_at: Option<Timestamp>,
) -> Verdict {
    if windows.is_empty() {
        return Verdict::permitted(Reason::NoMatchingWindow);
    }
    let summaries = |list: &[&Window]| list.iter().map(|w| w.summary.clone()).collect();
    let active: Vec<&Window> = windows
        .iter()
        .filter(|w| w.is_active_at(at, clock))
        .collect();
    // Whether the same sync was permitted when it started (Argo CD's canSyncAtTime).
    let permitted_at_start =
        || started_at.is_some_and(|start| decide(windows, start, clock, manual, None).permitted);

    let denies: Vec<&Window> = active
        .iter()
        .copied()
        .filter(|w| w.kind == Kind::Deny)
        .collect();
    if !denies.is_empty() {
        if manual && denies.iter().all(|w| w.manual_sync) {
            return Verdict::permitted(Reason::ManualDuringDeny(summaries(&denies)));
        }
        if denies.iter().all(|w| w.sync_overrun) && permitted_at_start() {
            return Verdict::permitted(Reason::OverrunIntoDeny(summaries(&denies)));
        }
        let blocking: Vec<&Window> = denies
            .into_iter()
            .filter(|w| !(manual && w.manual_sync))
            .collect();
        return Verdict::blocked(Reason::DeniedBy(summaries(&blocking)));
    }

    if let Some(allow) = active.iter().find(|w| w.kind == Kind::Allow) {
        return Verdict::permitted(Reason::AllowedBy(allow.summary.clone()));
    }

    let allows: Vec<&Window> = windows.iter().filter(|w| w.kind == Kind::Allow).collect();
    if allows.is_empty() {
        return Verdict::permitted(Reason::NoActiveWindow);
    }
    if manual && allows.iter().all(|w| w.manual_sync) {
        return Verdict::permitted(Reason::ManualOutsideAllow(summaries(&allows)));
    }
    if allows.iter().all(|w| w.sync_overrun) && permitted_at_start() {
        return Verdict::permitted(Reason::OverrunPastAllow(summaries(&allows)));
    }
    let blocking: Vec<&Window> = allows
        .into_iter()
        .filter(|w| !(manual && w.manual_sync))
        .collect();
    Verdict::blocked(Reason::OutsideAllow(summaries(&blocking)))
}
