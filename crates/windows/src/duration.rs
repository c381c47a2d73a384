//! A window's `duration` is read by Go's `time.ParseDuration`: an optional sign, then one or
//! more `<number><unit>` parts ("1h", "30m", "1h30m", "2h0m0s", "1.5h"). Unlike the backoff
//! durations of `driftless_model::parse_duration`, a bare number other than "0" is an error
//! and a negative duration is accepted (such a window is never active).

use jiff::SignedDuration;

/// Why a duration did not parse; the texts follow Go's error messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("invalid duration (expected a Go duration such as \"1h\" or \"1h30m\")")]
    Invalid,
    #[error("missing unit (use ns, us, ms, s, m or h)")]
    MissingUnit,
    #[error("unknown unit {0:?} (use ns, us, ms, s, m or h)")]
    UnknownUnit(String),
    #[error("too large (at most about 292 years)")]
    Overflow,
}

/// 2^63: the magnitude of Go's most negative duration, the bound of every step below.
const LIMIT: u64 = 1 << 63;

/// Parses `text` exactly as Go's `time.ParseDuration` does.
pub fn parse_go_duration(text: &str) -> Result<SignedDuration, DurationError> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(SignedDuration::ZERO);
    }
    if rest.is_empty() {
        return Err(DurationError::Invalid);
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        if !rest.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
            return Err(DurationError::Invalid);
        }
        let (whole, had_whole, after_whole) = leading_int(rest)?;
        let (fraction, scale, had_fraction, after_number) = match after_whole.strip_prefix('.') {
            Some(after_dot) => leading_fraction(after_dot),
            None => (0, 1.0, false, after_whole),
        };
        if !had_whole && !had_fraction {
            return Err(DurationError::Invalid);
        }
        let unit_len = after_number
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after_number.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit);
        }
        let (unit, after_unit) = after_number.split_at(unit_len);
        let unit_nanos =
            unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit(unit.to_string()))?;
        if whole > LIMIT / unit_nanos {
            return Err(DurationError::Overflow);
        }
        let mut part = whole * unit_nanos;
        if fraction > 0 {
            // Go adds the fraction through float64, truncating; doing the same keeps the
            // last nanosecond identical.
            let fraction_nanos = (fraction as f64 * (unit_nanos as f64 / scale)) as u64;
            part = part.saturating_add(fraction_nanos);
            if part > LIMIT {
                return Err(DurationError::Overflow);
            }
        }
        total = total.saturating_add(part);
        if total > LIMIT {
            return Err(DurationError::Overflow);
        }
        rest = after_unit;
    }
    let nanos = if negative {
        0i64.checked_sub_unsigned(total)
    } else {
        i64::try_from(total).ok()
    };
    nanos
        .map(SignedDuration::from_nanos)
        .ok_or(DurationError::Overflow)
}

/// Leading decimal digits as a number; whether there were any; the rest.
fn leading_int(text: &str) -> Result<(u64, bool, &str), DurationError> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let mut value: u64 = 0;
    for digit in text[..end].bytes() {
        if value > LIMIT / 10 {
            return Err(DurationError::Invalid);
        }
        value = value * 10 + u64::from(digit - b'0');
        if value > LIMIT {
            return Err(DurationError::Invalid);
        }
    }
    Ok((value, end > 0, &text[end..]))
}

/// Digits after the dot: their value, 10^(digits kept), whether there were any, the rest.
/// Digits that would overflow are consumed but ignored, as Go does.
fn leading_fraction(text: &str) -> (u64, f64, bool, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (mut value, mut scale, mut overflow) = (0u64, 1.0f64, false);
    for digit in text[..end].bytes() {
        if overflow {
            continue;
        }
        if value > (LIMIT - 1) / 10 {
            overflow = true;
            continue;
        }
        let next = value * 10 + u64::from(digit - b'0');
        if next > LIMIT {
            overflow = true;
            continue;
        }
        value = next;
        scale *= 10.0;
    }
    (value, scale, end > 0, &text[end..])
}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: i64) -> SignedDuration {
        SignedDuration::from_secs(s)
    }

    #[test]
    fn go_durations() {
        let cases = [
            ("1h", secs(3600)),
            ("30m", secs(1800)),
            ("1h30m", secs(5400)),
            ("2h0m0s", secs(7200)),
            ("1.5h", secs(5400)),
            ("90s", secs(90)),
            ("250ms", SignedDuration::from_millis(250)),
            ("1\u{b5}s", SignedDuration::from_micros(1)),
            ("0", SignedDuration::ZERO),
            ("-0", SignedDuration::ZERO),
            ("+1h", secs(3600)),
            ("-1h", secs(-3600)),
            (".5m", secs(30)),
            ("1.m", secs(60)),
            (
                "2562047h47m16.854775807s",
                SignedDuration::from_nanos(i64::MAX),
            ),
            (
                "-2562047h47m16.854775808s",
                SignedDuration::from_nanos(i64::MIN),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_go_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_what_go_rejects() {
        use DurationError::*;
        let cases = [
            ("", Invalid),
            ("30", MissingUnit),
            ("1d", UnknownUnit("d".into())),
            ("1h ", UnknownUnit("h ".into())),
            (" 1h", Invalid),
            (".h", Invalid),
            ("-", Invalid),
            ("h", Invalid),
            ("2562047h47m16.854775808s", Overflow),
            ("9999999999999999999h", Invalid),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_go_duration(text), Err(expected), "{text:?}");
        }
    }
}
