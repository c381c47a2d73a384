//! Kubernetes resource quantities (`500m`, `1Gi`, `1e3`), compared by value, not spelling:
//! the API server rewrites `cpu: 1000m` to `1` and `memory: 1073741824` to `1Gi`.

use crate::pointer::Segment;
use serde_json::Value;

/// A quantity as an exact decimal: `±mantissa × 10^exp10`, with no trailing zero digits in
/// `mantissa` (so that equal values have equal representations). Zero is `(false, 0, 0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quantity {
    negative: bool,
    mantissa: u128,
    exp10: i32,
}

/// Whether two values (strings or numbers) are the same quantity. False when either does not parse.
pub fn same_quantity(a: &Value, b: &Value) -> bool {
    match (quantity_of(a), quantity_of(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// A quantity that is a whole non-negative number (`2Gi`, `512Mi`, `1e9`, `100`) as that
/// number, as Kubernetes reads a memory limit; `None` for fractions, negatives and overflow.
pub fn whole_quantity(text: &str) -> Option<u64> {
    let q = parse(text)?;
    if q.negative || q.exp10 < 0 {
        return (q.mantissa == 0).then_some(0);
    }
    let scale = 10u128.checked_pow(u32::try_from(q.exp10).ok()?)?;
    u64::try_from(q.mantissa.checked_mul(scale)?).ok()
}

fn quantity_of(v: &Value) -> Option<Quantity> {
    match v {
        Value::String(s) => parse(s),
        Value::Number(n) => parse(&n.to_string()),
        _ => None,
    }
}

/// Whether the scalar at `path` is typed as a quantity in the Kubernetes API: resource
/// requests/limits, quota and capacity maps, LimitRange bounds, `emptyDir.sizeLimit`, HPA targets.
/// Decided by path so that a ConfigMap value `"1000m"` is never read as a number.
pub fn is_quantity_path(path: &[Segment]) -> bool {
    let keys: Vec<&str> = path
        .iter()
        .filter_map(|s| match s {
            Segment::Key(k) => Some(k.as_str()),
            Segment::Index(_) => None,
        })
        .collect();
    if matches!(
        keys.first(),
        Some(&"metadata" | &"data" | &"stringData" | &"binaryData")
    ) {
        return false;
    }
    let Some((&leaf, parents)) = keys.split_last() else {
        return false;
    };
    if matches!(leaf, "sizeLimit" | "averageValue") {
        return true;
    }
    match parents.last() {
        Some(&("limits" | "requests" | "hard" | "capacity" | "allocatable" | "overhead")) => true,
        // LimitRange: spec.limits[].max.cpu and friends.
        Some(&("max" | "min" | "default" | "defaultRequest" | "maxLimitRequestRatio")) => {
            parents.contains(&"limits")
        }
        // HPA v2: metrics[].resource.target.value
        Some(&"target") => leaf == "value",
        _ => false,
    }
}

/// Parses `<sign><digits>[.<digits>]<suffix>` where the suffix is binary (Ki…Ei), decimal SI
/// (n u m k M G T P E) or an exponent (`e3`, `E-2`). Returns None on anything else or on overflow.
fn parse(text: &str) -> Option<Quantity> {
    let text = text.trim();
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    let mut mantissa: u128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(u128::from(digit - b'0'))?;
    }
    let mut exp10 = -i32::try_from(fraction.len()).ok()?;
    match suffix {
        "" => {}
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
            let power = match suffix {
                "Ki" => 10,
                "Mi" => 20,
                "Gi" => 30,
                "Ti" => 40,
                "Pi" => 50,
                _ => 60,
            };
            mantissa = mantissa.checked_mul(1u128 << power)?;
        }
        "n" => exp10 -= 9,
        "u" => exp10 -= 6,
        "m" => exp10 -= 3,
        "k" => exp10 += 3,
        "M" => exp10 += 6,
        "G" => exp10 += 9,
        "T" => exp10 += 12,
        "P" => exp10 += 15,
        "E" => exp10 += 18,
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let value: i32 = exponent.parse().ok()?;
            if value.abs() > 1000 {
                return None;
            }
            exp10 += value;
        }
    }
    if mantissa == 0 {
        return Some(Quantity {
            negative: false,
            mantissa: 0,
            exp10: 0,
        });
    }
    while mantissa.is_multiple_of(10) {
        mantissa /= 10;
        exp10 += 1;
    }
    Some(Quantity {
        negative,
        mantissa,
        exp10,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_quantities_read_as_kubernetes_reads_memory() {
        assert_eq!(whole_quantity("2Gi"), Some(2 << 30));
        assert_eq!(whole_quantity("512Mi"), Some(512 << 20));
        assert_eq!(whole_quantity("1G"), Some(1_000_000_000));
        assert_eq!(whole_quantity("100"), Some(100));
        assert_eq!(whole_quantity("0"), Some(0));
        assert_eq!(whole_quantity("1.5"), None);
        assert_eq!(whole_quantity("-1Gi"), None);
        assert_eq!(whole_quantity("lots"), None);
    }
    use serde_json::json;

    #[test]
    fn spellings_of_one_value_are_equal() {
        for (a, b) in [
            (json!("1000m"), json!("1")),
            (json!("0.5"), json!("500m")),
            (json!(1), json!("1")),
            (json!(0.25), json!("250m")),
            (json!("1Gi"), json!("1073741824")),
            (json!("1024Mi"), json!("1Gi")),
            (json!("1.5Gi"), json!("1536Mi")),
            (json!("1e3"), json!("1k")),
            (json!("0"), json!("0m")),
            (json!("+2"), json!("2000m")),
        ] {
            assert!(same_quantity(&a, &b), "{a} should equal {b}");
        }
    }

    #[test]
    fn different_values_or_garbage_are_not_equal() {
        for (a, b) in [
            (json!("1"), json!("1001m")),
            (json!("1Gi"), json!("1G")),
            (json!("-1"), json!("1")),
            (json!("abc"), json!("abc")),
            (json!("1..0"), json!("1")),
            (json!("1Zi"), json!("1")),
            (
                json!("99999999999999999999999999999999999999999Ei"),
                json!("1"),
            ),
        ] {
            assert!(!same_quantity(&a, &b), "{a} should differ from {b}");
        }
    }

    #[test]
    fn only_quantity_typed_paths_are_quantities() {
        let path = |keys: &[&str]| -> Vec<Segment> {
            keys.iter().map(|k| Segment::Key((*k).to_owned())).collect()
        };
        assert!(is_quantity_path(&path(&[
            "spec",
            "containers",
            "resources",
            "limits",
            "cpu"
        ])));
        assert!(is_quantity_path(&path(&[
            "spec",
            "hard",
            "requests.memory"
        ])));
        assert!(is_quantity_path(&path(&[
            "spec",
            "volumes",
            "emptyDir",
            "sizeLimit"
        ])));
        assert!(is_quantity_path(&path(&["spec", "limits", "max", "cpu"])));
        assert!(!is_quantity_path(&path(&["data", "limits", "cpu"])));
        assert!(!is_quantity_path(&path(&["spec", "default", "cpu"])));
        assert!(!is_quantity_path(&path(&["spec", "replicas"])));
    }
}
