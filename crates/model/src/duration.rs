//! Durations as Argo CD writes them in `retry.backoff`: a bare integer is seconds ("30"),
//! anything else is a Go duration ("5s", "3m", "1h30m", "1.5h", "250ms").

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error(
        "failed to parse duration {0:?}: expected seconds or a Go duration such as \"5s\" or \"3m\""
    )]
    Invalid(String),
    #[error("failed to parse duration {0:?}: unknown unit {1:?} (use ns, us, ms, s, m or h)")]
    UnknownUnit(String, String),
    #[error("failed to parse duration {0:?}: negative durations are not allowed")]
    Negative(String),
    #[error("failed to parse duration {0:?}: too large")]
    Overflow(String),
}

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// Parses a duration the way Argo CD does: first as whole seconds, then as a Go duration.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    if let Ok(seconds) = text.parse::<i64>() {
        return u64::try_from(seconds)
            .map(Duration::from_secs)
            .map_err(|_| DurationError::Negative(text.to_string()));
    }
    parse_go_duration(text)
}

/// Go's `time.ParseDuration`: an optional sign, then one or more `<number><unit>` parts.
fn parse_go_duration(text: &str) -> Result<Duration, DurationError> {
    let invalid = || DurationError::Invalid(text.to_string());
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (whole, after_whole) = split_digits(rest);
        let (fraction, after_number) = match after_whole.strip_prefix('.') {
            Some(after_dot) => split_digits(after_dot),
            None => ("", after_whole),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid());
        }
        let unit_len = after_number
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after_number.len());
        let (unit, after_unit) = after_number.split_at(unit_len);
        let unit_nanos = unit_nanos(unit).ok_or_else(|| {
            if unit.is_empty() {
                invalid()
            } else {
                DurationError::UnknownUnit(text.to_string(), unit.to_string())
            }
        })?;
        let part = part_nanos(whole, fraction, unit_nanos)
            .ok_or_else(|| DurationError::Overflow(text.to_string()))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| DurationError::Overflow(text.to_string()))?;
        rest = after_unit;
    }
    if negative && total > 0 {
        return Err(DurationError::Negative(text.to_string()));
    }
    let seconds = u64::try_from(total / NANOS_PER_SECOND)
        .map_err(|_| DurationError::Overflow(text.to_string()))?;
    // The remainder is below one second, so it always fits in u32.
    let nanos = u32::try_from(total % NANOS_PER_SECOND).unwrap_or(0);
    Ok(Duration::new(seconds, nanos))
}

fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => NANOS_PER_SECOND,
        "m" => 60 * NANOS_PER_SECOND,
        "h" => 3600 * NANOS_PER_SECOND,
        _ => return None,
    })
}

/// `<whole>.<fraction>` times the unit, in nanoseconds; fraction digits beyond 18 are dropped.
fn part_nanos(whole: &str, fraction: &str, unit_nanos: u128) -> Option<u128> {
    let whole_value: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut nanos = whole_value.checked_mul(unit_nanos)?;
    let fraction = &fraction[..fraction.len().min(18)];
    if !fraction.is_empty() {
        let numerator: u128 = fraction.parse().ok()?;
        let scale = 10u128.pow(u32::try_from(fraction.len()).ok()?);
        nanos = nanos.checked_add(numerator.checked_mul(unit_nanos)? / scale)?;
    }
    Some(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_integers_are_seconds() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn go_durations_with_units_fractions_and_several_parts() {
        let cases = [
            ("5s", Duration::from_secs(5)),
            ("3m", Duration::from_secs(180)),
            ("1h", Duration::from_secs(3600)),
            ("1h30m", Duration::from_secs(5400)),
            ("1.5h", Duration::from_secs(5400)),
            ("2m30.5s", Duration::from_millis(150_500)),
            ("250ms", Duration::from_millis(250)),
            ("10us", Duration::from_micros(10)),
            ("10\u{b5}s", Duration::from_micros(10)),
            ("7ns", Duration::from_nanos(7)),
            (".5s", Duration::from_millis(500)),
            ("+5s", Duration::from_secs(5)),
            ("-0s", Duration::ZERO),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn malformed_durations_are_errors_not_panics() {
        for text in [
            "", "s", "5x", "1d", ".s", "5s3", "-", "abc", "5 s", "1..5s", "1.5",
        ] {
            assert!(parse_duration(text).is_err(), "{text:?} should not parse");
        }
        assert_eq!(
            parse_duration("1d"),
            Err(DurationError::UnknownUnit("1d".into(), "d".into()))
        );
        assert_eq!(
            parse_duration("-5s"),
            Err(DurationError::Negative("-5s".into()))
        );
        assert_eq!(
            parse_duration("-5"),
            Err(DurationError::Negative("-5".into()))
        );
        assert!(matches!(
            parse_duration("99999999999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
    }
}
