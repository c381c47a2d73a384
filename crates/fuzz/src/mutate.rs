//! Mutations: of raw bytes (a YAML stream, a script, a template) and of JSON trees (objects,
//! rules, payloads), each drawing on a per-target dictionary of tokens worth inserting.

use crate::generators::json;
use crate::rng::{Rng, one_in, pick, small};
use rand::Rng as _;
use serde_json::Value;

/// Byte sequences that often matter to parsers, whatever the target.
const INTERESTING: &[&str] = &[
    "\n",
    "\r\n",
    "\t",
    " ",
    "\0",
    "\"",
    "'",
    "\\",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ":",
    ",",
    "#",
    "---\n",
    "...\n",
    "&a ",
    "*a",
    "<<: ",
    "!!binary ",
    "!!str ",
    "? ",
    "- ",
    "|\n",
    ">-\n",
    "%",
    "$",
    "{{",
    "}}",
    "~",
    "\u{feff}",
    "\u{fffd}",
    "é",
    "😀",
    "\u{202e}",
    "-1",
    "0",
    "1e999",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "NaN",
    ".inf",
    "null",
];

/// Numbers at the edges of every integer and float type the code reads.
pub const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "-2147483648",
    "2147483648",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "1.5",
    "-0.5",
    "1e308",
    "1e309",
    "-1e309",
    "5e-324",
    "1e-400",
    "0.1",
    "1e2",
    "0x10",
    "010",
    "1_000",
];

/// Applies 1 to 8 byte-level mutations to `data`.
pub fn bytes(rng: &mut Rng, data: &[u8], dict: &[&str], others: &[&[u8]]) -> Vec<u8> {
    let mut out = data.to_vec();
    for _ in 0..=small(rng, 7) {
        mutate_bytes_once(rng, &mut out, dict, others);
    }
    out.truncate(1 << 16);
    out
}

/// [`bytes`] on a string, read back lossily (a broken UTF-8 sequence becomes U+FFFD).
pub fn text(rng: &mut Rng, data: &str, dict: &[&str]) -> String {
    String::from_utf8_lossy(&bytes(rng, data.as_bytes(), dict, &[])).into_owned()
}

fn position(rng: &mut Rng, data: &[u8]) -> usize {
    rng.random_range(0..=data.len())
}

fn mutate_bytes_once(rng: &mut Rng, out: &mut Vec<u8>, dict: &[&str], others: &[&[u8]]) {
    match rng.random_range(0..12) {
        0 if !out.is_empty() => {
            let i = rng.random_range(0..out.len());
            out[i] ^= 1 << rng.random_range(0..8);
        }
        1 if !out.is_empty() => {
            let i = rng.random_range(0..out.len());
            out[i] = rng.random();
        }
        2 if !out.is_empty() => {
            let start = rng.random_range(0..out.len());
            let end = (start + 1 + small(rng, 32)).min(out.len());
            out.drain(start..end);
        }
        3 if !out.is_empty() => {
            let start = rng.random_range(0..out.len());
            let end = (start + 1 + small(rng, 64)).min(out.len());
            let piece = out[start..end].to_vec();
            let at = position(rng, out);
            for _ in 0..=small(rng, 3) {
                out.splice(at..at, piece.iter().copied());
            }
        }
        4 | 5 if !dict.is_empty() => {
            let at = char_position(rng, out);
            out.splice(at..at, pick(rng, dict).bytes());
        }
        6 => {
            let at = char_position(rng, out);
            out.splice(at..at, pick(rng, INTERESTING).bytes());
        }
        7 => replace_number(rng, out),
        8 if !others.is_empty() => {
            let other = pick(rng, others);
            if !other.is_empty() {
                let start = rng.random_range(0..other.len());
                let end = (start + 1 + small(rng, 256)).min(other.len());
                let at = position(rng, out);
                out.splice(at..at, other[start..end].iter().copied());
            }
        }
        9 if !out.is_empty() => {
            let keep = rng.random_range(0..out.len());
            out.truncate(keep);
        }
        10 if !out.is_empty() => {
            // Swap two lines: reorders documents, keys and statements.
            let lines: Vec<&[u8]> = out.split_inclusive(|b| *b == b'\n').collect();
            if lines.len() > 1 {
                let (a, b) = (
                    rng.random_range(0..lines.len()),
                    rng.random_range(0..lines.len()),
                );
                let mut reordered: Vec<&[u8]> = lines.clone();
                reordered.swap(a, b);
                *out = reordered.concat();
            }
        }
        _ => {
            let at = char_position(rng, out);
            let n = 1 + small(rng, 8);
            let noise: Vec<u8> = (0..n).map(|_| rng.random_range(0x20..0x7f)).collect();
            out.splice(at..at, noise);
        }
    }
}

/// A position, moved back to a UTF-8 character boundary when the data is text.
fn char_position(rng: &mut Rng, data: &[u8]) -> usize {
    let mut at = position(rng, data);
    while at > 0 && at < data.len() && (data[at] & 0xc0) == 0x80 {
        at -= 1;
    }
    at
}

/// Replaces the first run of digits after a random position with an edge-case number.
fn replace_number(rng: &mut Rng, out: &mut Vec<u8>) {
    let from = position(rng, out);
    let Some(start) = out[from..]
        .iter()
        .position(u8::is_ascii_digit)
        .map(|p| p + from)
    else {
        let at = char_position(rng, out);
        out.splice(at..at, pick(rng, NUMBERS).bytes());
        return;
    };
    let end = out[start..]
        .iter()
        .position(|b| !b.is_ascii_digit())
        .map_or(out.len(), |p| p + start);
    out.splice(start..end, pick(rng, NUMBERS).bytes());
}

/// The number of nodes in a tree (itself included).
fn count(value: &Value) -> usize {
    1 + match value {
        Value::Object(map) => map.values().map(count).sum(),
        Value::Array(items) => items.iter().map(count).sum(),
        _ => 0,
    }
}

/// The `n`th node in pre-order (0 is the root).
fn nth<'a>(value: &'a Value, n: &mut usize) -> Option<&'a Value> {
    if *n == 0 {
        return Some(value);
    }
    *n -= 1;
    let children: Box<dyn Iterator<Item = &'a Value>> = match value {
        Value::Object(map) => Box::new(map.values()),
        Value::Array(items) => Box::new(items.iter()),
        _ => return None,
    };
    children.into_iter().find_map(|child| nth(child, n))
}

fn nth_mut<'a>(value: &'a mut Value, n: &mut usize) -> Option<&'a mut Value> {
    if *n == 0 {
        return Some(value);
    }
    *n -= 1;
    match value {
        Value::Object(map) => map.values_mut().find_map(|child| nth_mut(child, n)),
        Value::Array(items) => items.iter_mut().find_map(|child| nth_mut(child, n)),
        _ => None,
    }
}

/// A random node of `value`, cloned (for splicing into another tree).
pub fn random_node(rng: &mut Rng, value: &Value) -> Value {
    let mut n = rng.random_range(0..count(value));
    nth(value, &mut n).cloned().unwrap_or(Value::Null)
}

/// Applies 1 to 6 tree mutations. Strings are mutated with `dict`; `keys` are field names
/// worth adding; `donor` is a tree to splice nodes from.
pub fn tree(rng: &mut Rng, value: &mut Value, dict: &[&str], keys: &[&str], donor: Option<&Value>) {
    for _ in 0..=small(rng, 5) {
        let mut n = rng.random_range(0..count(value));
        let spliced = match donor {
            Some(donor) if one_in(rng, 4) => Some(random_node(rng, donor)),
            _ => None,
        };
        if let Some(node) = nth_mut(value, &mut n) {
            mutate_node(rng, node, dict, keys, spliced);
        }
    }
}

fn mutate_node(
    rng: &mut Rng,
    node: &mut Value,
    dict: &[&str],
    keys: &[&str],
    donor: Option<Value>,
) {
    if let Some(donor) = donor {
        *node = donor;
        return;
    }
    match node {
        Value::String(s) if !one_in(rng, 5) => {
            *s = if one_in(rng, 3) {
                json::string(rng)
            } else {
                text(rng, s, dict)
            };
        }
        Value::Number(_) if !one_in(rng, 4) => *node = json::number(rng),
        Value::Object(map) if !one_in(rng, 4) => match rng.random_range(0..4) {
            0 if !map.is_empty() => {
                let k = pick(rng, &map.keys().cloned().collect::<Vec<_>>()).clone();
                map.remove(&k);
            }
            1 if !map.is_empty() => {
                let k = pick(rng, &map.keys().cloned().collect::<Vec<_>>()).clone();
                if let Some(v) = map.remove(&k) {
                    map.insert(json::key(rng, keys), v);
                }
            }
            _ => {
                let depth = small(rng, 3);
                map.insert(json::key(rng, keys), json::value(rng, depth, keys));
            }
        },
        Value::Array(items) if !one_in(rng, 4) => match rng.random_range(0..4) {
            0 if !items.is_empty() => {
                let i = rng.random_range(0..items.len());
                items.remove(i);
            }
            1 if !items.is_empty() => {
                let i = rng.random_range(0..items.len());
                let copy = items[i].clone();
                items.insert(i, copy);
            }
            2 if items.len() > 1 => {
                let (a, b) = (
                    rng.random_range(0..items.len()),
                    rng.random_range(0..items.len()),
                );
                items.swap(a, b);
            }
            _ => {
                let depth = small(rng, 3);
                items.push(json::value(rng, depth, keys));
            }
        },
        _ => {
            let depth = small(rng, 3);
            *node = json::value(rng, depth, keys);
        }
    }
}
