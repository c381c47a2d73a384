//! Cron schedules as Argo CD reads them: robfig/cron v3's parser limited to the five
//! standard fields (minute, hour, day of month, month, day of week), no descriptors.
//!
//! Each field is a comma-separated list of `*`, `?`, `N`, `N-M`, each optionally `/step`
//! (`N/step` runs from N to the field's maximum). Months take `jan`..`dec`, weekdays
//! `sun`..`sat` (any case); weekdays are 0-6, so 7 is an error as in robfig. When both day
//! fields are restricted (neither starts with `*` or `?`) a day matches either of them, else it
//! must match both. Times here are civil (wall-clock) date-times: Argo CD evaluates a
//! schedule on UTC shifted by the window's offset, so there is no DST inside the search.

use jiff::civil::{Date, DateTime, Time};
use jiff::{SignedDuration, ToSpan};
use std::fmt;

/// A parsed five-field schedule: one bit per allowed value of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// The day-of-month field was `*` or `?` (robfig's star bit): then both day fields must match.
    days_star: bool,
    weekdays_star: bool,
}

/// One of the five fields, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        })
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Field {
    const ALL: [Field; 5] = [
        Field::Minute,
        Field::Hour,
        Field::DayOfMonth,
        Field::Month,
        Field::DayOfWeek,
    ];

    fn bounds(self) -> (u64, u64) {
        match self {
            Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (0, 6),
        }
    }

    /// A name's value, if this field takes names.
    fn named(self, text: &str) -> Option<u64> {
        let (names, first): (&[&str], u64) = match self {
            Field::Month => (&MONTHS, 1),
            Field::DayOfWeek => (&WEEKDAYS, 0),
            _ => return None,
        };
        let lower = text.to_ascii_lowercase();
        (first..)
            .zip(names)
            .find(|(_, n)| **n == lower)
            .map(|(v, _)| v)
    }
}

/// Why a schedule did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("the schedule is empty")]
    Empty,
    #[error(
        "descriptors such as {0:?} are not accepted by Argo CD; write the five fields (\"0 0 * * *\" is @daily)"
    )]
    Descriptor(String),
    #[error("the {0:?} prefix is not supported; set the window's timeZone instead")]
    TimeZonePrefix(String),
    #[error("expected exactly 5 fields (minute hour day-of-month month day-of-week), found {0}")]
    FieldCount(usize),
    #[error("the {field} field {expr:?}: {problem}")]
    Field {
        field: Field,
        expr: String,
        problem: FieldProblem,
    },
}

/// What is wrong with one comma-separated part of a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    #[error("{0:?} is neither a number nor a name")]
    NotANumber(String),
    #[error("too many hyphens")]
    TooManyHyphens,
    #[error("too many slashes")]
    TooManySlashes,
    #[error("{value} is below the minimum {min}")]
    BelowMinimum { value: u64, min: u64 },
    #[error("{value} is above the maximum {max}")]
    AboveMaximum { value: u64, max: u64 },
    #[error("the range starts at {start}, after its end {end}")]
    Reversed { start: u64, end: u64 },
    #[error("the step must be a positive number")]
    ZeroStep,
}

impl std::str::FromStr for Schedule {
    type Err = CronError;

    fn from_str(spec: &str) -> Result<Schedule, CronError> {
        if spec.is_empty() {
            return Err(CronError::Empty);
        }
        if let Some(prefix) = ["TZ=", "CRON_TZ="].iter().find(|p| spec.starts_with(**p)) {
            return Err(CronError::TimeZonePrefix((*prefix).to_string()));
        }
        // Checked before splitting, as robfig does: " @daily" is one field, not a descriptor.
        if spec.starts_with('@') {
            return Err(CronError::Descriptor(spec.to_string()));
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(CronError::FieldCount(fields.len()));
        }
        let mut bits = [0u64; 5];
        let mut stars = [false; 5];
        for (i, (field, text)) in Field::ALL.into_iter().zip(&fields).enumerate() {
            (bits[i], stars[i]) = parse_field(field, text)?;
        }
        Ok(Schedule {
            minutes: bits[0],
            hours: bits[1],
            days: bits[2],
            months: bits[3],
            weekdays: bits[4],
            days_star: stars[2],
            weekdays_star: stars[4],
        })
    }
}

/// A field's bits and whether one of its parts was a plain `*`/`?` (step at most 1).
/// Empty parts are skipped, so "1,,2" is "1,2" and "," matches nothing, as in robfig.
fn parse_field(field: Field, text: &str) -> Result<(u64, bool), CronError> {
    let mut bits = 0;
    let mut star = false;
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (part_bits, part_star) =
            parse_part(field, part).map_err(|problem| CronError::Field {
                field,
                expr: part.to_string(),
                problem,
            })?;
        bits |= part_bits;
        star |= part_star;
    }
    Ok((bits, star))
}

fn parse_part(field: Field, part: &str) -> Result<(u64, bool), FieldProblem> {
    let (min, max) = field.bounds();
    let range_and_step: Vec<&str> = part.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let (mut start, mut end, mut star) = if matches!(low_and_high[0], "*" | "?") {
        // robfig ignores anything after "*-".
        (min, max, true)
    } else {
        let start = value(field, low_and_high[0])?;
        match low_and_high.len() {
            1 => (start, start, false),
            2 => (start, value(field, low_and_high[1])?, false),
            _ => return Err(FieldProblem::TooManyHyphens),
        }
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = number(range_and_step[1])?;
            if low_and_high.len() == 1 {
                end = max;
            }
            if step > 1 {
                star = false;
            }
            step
        }
        _ => return Err(FieldProblem::TooManySlashes),
    };
    if start < min {
        return Err(FieldProblem::BelowMinimum { value: start, min });
    }
    if end > max {
        return Err(FieldProblem::AboveMaximum { value: end, max });
    }
    if start > end {
        return Err(FieldProblem::Reversed { start, end });
    }
    if step == 0 {
        return Err(FieldProblem::ZeroStep);
    }
    let mut bits = 0;
    while start <= end {
        bits |= 1 << start;
        match start.checked_add(step) {
            Some(next) => start = next,
            None => break,
        }
    }
    Ok((bits, star))
}

fn value(field: Field, text: &str) -> Result<u64, FieldProblem> {
    match field.named(text) {
        Some(v) => Ok(v),
        None => number(text),
    }
}

/// Go's `strconv.Atoi` on what remains after splitting at `-`: digits with an optional `+`.
fn number(text: &str) -> Result<u64, FieldProblem> {
    text.parse::<u64>()
        .map_err(|_| FieldProblem::NotANumber(text.to_string()))
}

impl Schedule {
    fn day_matches(&self, date: Date) -> bool {
        let day = self.days & (1 << date.day()) != 0;
        let weekday = self.weekdays & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        if self.days_star || self.weekdays_star {
            day && weekday
        } else {
            day || weekday
        }
    }

    /// The first matching minute of a day at or after `hour:minute` (minute may be 60).
    fn first_time_from(&self, hour: i8, minute: i8) -> Option<Time> {
        let (mut hour, mut minute) = (hour, minute);
        if minute >= 60 {
            (hour, minute) = (hour + 1, 0);
        }
        for h in hour..24 {
            if self.hours & (1 << h) == 0 {
                continue;
            }
            let from = if h == hour { minute } else { 0 };
            if let Some(m) = (from..60).find(|m| self.minutes & (1 << m) != 0) {
                return Time::new(h, m, 0, 0).ok();
            }
        }
        None
    }

    /// robfig's `Next`: the first scheduled minute strictly after `t`, or `None` when there
    /// is none up to the end of the year five years after `t` (where robfig returns Go's zero
    /// time, which Argo CD then counts as "before now": such a window is always active).
    pub fn next_after(&self, t: DateTime) -> Option<DateTime> {
        let whole = t
            .date()
            .to_datetime(Time::new(t.hour(), t.minute(), t.second(), 0).ok()?);
        let from = whole.checked_add(1.second()).ok()?;
        let year_limit = from.year().checked_add(5)?;
        let mut date = from.date();
        // A start time with seconds past the minute can only be followed by the next minute.
        let mut first_minute = from.minute() + i8::from(from.second() > 0);
        let mut first_hour = from.hour();
        while date.year() <= year_limit {
            if self.months & (1 << date.month()) != 0
                && self.day_matches(date)
                && let Some(time) = self.first_time_from(first_hour, first_minute)
            {
                return Some(date.to_datetime(time));
            }
            date = date.tomorrow().ok()?;
            (first_hour, first_minute) = (0, 0);
        }
        None
    }

    /// The first scheduled minute at or after `t`.
    pub fn next_at_or_after(&self, t: DateTime) -> Option<DateTime> {
        self.next_after(t.checked_sub(SignedDuration::from_nanos(1)).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn parse(spec: &str) -> Schedule {
        spec.parse().unwrap()
    }

    fn at(spec: &str) -> DateTime {
        spec.parse().unwrap()
    }

    #[test]
    fn fields_ranges_steps_lists_and_names() {
        let s = parse("*/15 9-17 * JAN-mar,dec mon-FRI");
        assert_eq!(s.minutes, 1 | 1 << 15 | 1 << 30 | 1 << 45);
        assert_eq!(s.hours, (9..=17).fold(0, |b, h| b | 1 << h));
        assert_eq!(s.months, 1 << 1 | 1 << 2 | 1 << 3 | 1 << 12);
        assert_eq!(s.weekdays, (1..=5).fold(0, |b, d| b | 1 << d));
        assert!(s.days_star && !s.weekdays_star);
        // "N/step" runs to the maximum; "?" is "*"; "*/1" keeps the star; "+5" is 5.
        assert_eq!(parse("50/5 * * * *").minutes, 1 << 50 | 1 << 55);
        assert!(parse("0 0 ? * *").days_star);
        assert!(parse("0 0 */1 * *").days_star);
        assert!(!parse("0 0 */2 * *").days_star);
        assert_eq!(parse("+5 * * * *").minutes, 1 << 5);
        assert_eq!(parse("1,,2 * * * *").minutes, 1 << 1 | 1 << 2);
        assert_eq!(parse("0  0\t* * *"), parse("0 0 * * *"));
    }

    #[test]
    fn rejects_what_argo_rejects() {
        let field = |spec: &str| match spec.parse::<Schedule>() {
            Err(CronError::Field { problem, .. }) => problem,
            other => panic!("{spec}: {other:?}"),
        };
        assert_eq!("".parse::<Schedule>(), Err(CronError::Empty));
        assert_eq!(
            "@daily".parse::<Schedule>(),
            Err(CronError::Descriptor("@daily".into()))
        );
        assert!(matches!(
            "CRON_TZ=UTC 0 0 * * *".parse::<Schedule>(),
            Err(CronError::TimeZonePrefix(_))
        ));
        assert_eq!(
            "0 0 * * * *".parse::<Schedule>(),
            Err(CronError::FieldCount(6))
        );
        assert_eq!("0 0 * *".parse::<Schedule>(), Err(CronError::FieldCount(4)));
        assert_eq!(
            field("0 0 * * 7"),
            FieldProblem::AboveMaximum { value: 7, max: 6 }
        );
        assert_eq!(
            field("0 0 0 * *"),
            FieldProblem::BelowMinimum { value: 0, min: 1 }
        );
        assert_eq!(
            field("0 5-1 * * *"),
            FieldProblem::Reversed { start: 5, end: 1 }
        );
        assert_eq!(field("*/0 * * * *"), FieldProblem::ZeroStep);
        assert_eq!(field("1-2-3 * * * *"), FieldProblem::TooManyHyphens);
        assert_eq!(field("1/2/3 * * * *"), FieldProblem::TooManySlashes);
        assert_eq!(
            field("0 0 * * monday"),
            FieldProblem::NotANumber("monday".into())
        );
        assert_eq!(field("0 0 L * *"), FieldProblem::NotANumber("L".into()));
        assert_eq!(field("1- * * * *"), FieldProblem::NotANumber("".into()));
        // Names belong to their own field only.
        assert_eq!(field("0 0 * mon *"), FieldProblem::NotANumber("mon".into()));
    }

    #[test]
    fn next_is_strictly_after() {
        let s = parse("0 22 * * *");
        assert_eq!(
            s.next_after(at("2025-01-15T21:59:59.9")),
            Some(at("2025-01-15T22:00"))
        );
        assert_eq!(
            s.next_after(at("2025-01-15T22:00")),
            Some(at("2025-01-16T22:00"))
        );
        assert_eq!(
            s.next_at_or_after(at("2025-01-15T22:00")),
            Some(at("2025-01-15T22:00"))
        );
        assert_eq!(
            parse("*/30 * * * *").next_after(at("2025-12-31T23:59:30")),
            Some(at("2026-01-01T00:00"))
        );
    }

    #[test]
    fn day_fields_or_when_both_restricted() {
        // The 13th or any Friday.
        let s = parse("0 0 13 * 5");
        assert_eq!(
            s.next_after(at("2025-06-01T00:00")),
            Some(at("2025-06-06T00:00"))
        );
        assert_eq!(
            s.next_after(at("2025-06-12T00:00")),
            Some(at("2025-06-13T00:00"))
        );
        // Every Friday ("*" day of month): AND, i.e. the weekday alone.
        let fridays = parse("0 0 * * fri");
        assert_eq!(
            fridays.next_after(at("2025-06-06T00:00")),
            Some(at("2025-06-13T00:00"))
        );
    }

    #[test]
    fn impossible_dates_run_out_after_five_years() {
        assert_eq!(parse("0 0 30 2 *").next_after(at("2025-01-01T00:00")), None);
        assert_eq!(
            parse("0 0 1 1 *").next_after(at("2025-01-01T00:00")),
            Some(at("2026-01-01T00:00"))
        );
        // Feb 29: 2096 is found from 2092, but 2104 is beyond 2097 + 5.
        let leap = parse("0 0 29 2 *");
        assert_eq!(
            leap.next_after(at("2092-03-01T00:00")),
            Some(date(2096, 2, 29).at(0, 0, 0, 0))
        );
        assert_eq!(leap.next_after(at("2097-01-01T00:00")), None);
        assert_eq!(parse(", * * * *").next_after(at("2025-01-01T00:00")), None);
    }
}
