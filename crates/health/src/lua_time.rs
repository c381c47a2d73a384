//! `os.time(table)` and `os.date(format, t)` for Lua 5.1-era health scripts, without a
//! clock: both work only on the time they are given, always in UTC. `os.time()` and
//! `os.date(format)` without a time raise an error, so a script stays a pure function
//! of the object.

use mlua::{Lua, Table, Value};

/// Adds the `os` table with only `time` and `date`.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let os = lua.create_table()?;
    os.set("time", lua.create_function(time)?)?;
    os.set("date", lua.create_function(date)?)?;
    lua.globals().set("os", os)
}

fn time(_: &Lua, date: Option<Table>) -> mlua::Result<i64> {
    let date = date.ok_or_else(|| {
        mlua::Error::runtime("os.time() needs a date table: health scripts cannot read the clock")
    })?;
    let field = |name: &str, default: Option<i64>| -> mlua::Result<i64> {
        match date.get::<Option<i64>>(name)?.or(default) {
            Some(value) => Ok(value),
            None => Err(mlua::Error::runtime(format!(
                "field '{name}' missing in date table"
            ))),
        }
    };
    // Lua's defaults: hour 12, min and sec 0; out-of-range fields are normalised.
    let (year, month, day) = (
        field("year", None)?,
        field("month", None)?,
        field("day", None)?,
    );
    let (hour, min, sec) = (
        field("hour", Some(12))?,
        field("min", Some(0))?,
        field("sec", Some(0))?,
    );
    // In i128: no i64 field can overflow it, and a result past i64 is refused as Lua does.
    let months = i128::from(year) * 12 + (i128::from(month) - 1);
    let days =
        days_from_civil(months.div_euclid(12), months.rem_euclid(12) + 1, 1) + i128::from(day) - 1;
    let t = days * 86_400 + i128::from(hour) * 3_600 + i128::from(min) * 60 + i128::from(sec);
    i64::try_from(t).map_err(|_| {
        mlua::Error::runtime("os.time: time result cannot be represented in this installation")
    })
}

fn date(lua: &Lua, (format, t): (Option<String>, Option<i64>)) -> mlua::Result<Value> {
    let t = t.ok_or_else(|| {
        mlua::Error::runtime(
            "os.date() needs a time argument: health scripts cannot read the clock",
        )
    })?;
    let format = format.unwrap_or_else(|| "%c".to_string());
    // Always UTC, so "!" (UTC) and no "!" (local time) mean the same here.
    let format = format.strip_prefix('!').unwrap_or(&format);
    let parts = Parts::of(t);
    if format.starts_with("*t") {
        let table = lua.create_table()?;
        table.set("year", parts.year)?;
        table.set("month", parts.month)?;
        table.set("day", parts.day)?;
        table.set("hour", parts.hour)?;
        table.set("min", parts.min)?;
        table.set("sec", parts.sec)?;
        table.set("wday", parts.wday)?;
        table.set("yday", parts.yday)?;
        table.set("isdst", false)?;
        return Ok(Value::Table(table));
    }
    Ok(Value::String(lua.create_string(strftime(format, &parts)?)?))
}

/// The calendar fields of a Unix time, UTC.
struct Parts {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    /// 1 = Sunday, as Lua.
    wday: i64,
    /// 1 = January 1st.
    yday: i64,
}

impl Parts {
    fn of(t: i64) -> Self {
        let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        Self {
            year,
            month,
            day,
            hour: secs / 3_600,
            min: secs % 3_600 / 60,
            sec: secs % 60,
            // 1970-01-01 was a Thursday (wday 5).
            wday: (days + 4).rem_euclid(7) + 1,
            // Between 1 and 366, so it fits.
            yday: (i128::from(days) - days_from_civil(year.into(), 1, 1) + 1) as i64,
        }
    }
}

fn strftime(format: &str, p: &Parts) -> mlua::Result<String> {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let piece = match chars.next() {
            Some('Y') => p.year.to_string(),
            Some('y') => format!("{:02}", p.year.rem_euclid(100)),
            Some('m') => format!("{:02}", p.month),
            Some('d') => format!("{:02}", p.day),
            Some('H') => format!("{:02}", p.hour),
            Some('M') => format!("{:02}", p.min),
            Some('S') => format!("{:02}", p.sec),
            Some('j') => format!("{:03}", p.yday),
            Some('F') => format!("{}-{:02}-{:02}", p.year, p.month, p.day),
            Some('T') => format!("{:02}:{:02}:{:02}", p.hour, p.min, p.sec),
            Some('c') => format!(
                "{}-{:02}-{:02} {:02}:{:02}:{:02}",
                p.year, p.month, p.day, p.hour, p.min, p.sec
            ),
            Some('Z') => "UTC".to_string(),
            Some('%') => "%".to_string(),
            other => {
                return Err(mlua::Error::runtime(format!(
                    "os.date: unsupported conversion specifier '%{}'",
                    other.map(String::from).unwrap_or_default()
                )));
            }
        };
        out.push_str(&piece);
    }
    Ok(out)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), in
/// i128 so that any i64 year (from a script's `os.time{year = …}`) stays in range.
fn days_from_civil(year: i128, month: i128, day: i128) -> i128 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of `days_from_civil`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in [-800_000, -1, 0, 59, 60, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(
                days_from_civil(y.into(), m.into(), d.into()),
                i128::from(days)
            );
        }
    }

    #[test]
    fn parts_of_a_known_time() {
        // 2025-03-03T06:01:40Z, a Monday.
        let p = Parts::of(1_740_981_700);
        assert_eq!((p.year, p.month, p.day), (2025, 3, 3));
        assert_eq!((p.hour, p.min, p.sec), (6, 1, 40));
        assert_eq!((p.wday, p.yday), (2, 62));
    }
}
