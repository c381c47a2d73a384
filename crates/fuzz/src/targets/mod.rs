//! The fuzz targets: each turns input bytes into a call of the public API the controller and
//! the CLI use, and owns its seeds, its generator and its mutations.

mod diff;
mod gotemplate;
mod ignore;
mod jq;
mod lua;
mod manifests;
mod plan;
mod rules;
mod webhook;

use crate::mutate;
use crate::rng::{Rng, one_in, pick};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Mutates an input; the slices are other corpus entries to splice from.
pub type Mutate = fn(&mut Rng, &[u8], &[&[u8]]) -> Vec<u8>;

/// One fuzz target.
pub struct Target {
    pub name: &'static str,
    pub about: &'static str,
    /// Seed inputs, already in this target's input encoding.
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// A fresh input from the structured generator.
    pub generate: fn(&mut Rng) -> Vec<u8>,
    /// A mutated copy of an input; `others` are corpus entries to splice from.
    pub mutate: Mutate,
    /// Runs the code under test on one input; it must not panic, whatever the input.
    pub run: fn(&[u8]),
}

pub const ALL: &[Target] = &[
    manifests::TARGET,
    diff::TARGET,
    ignore::TARGET,
    jq::TARGET,
    gotemplate::TARGET,
    lua::TARGET,
    webhook::TARGET,
    plan::TARGET,
];

pub fn find(name: &str) -> Option<&'static Target> {
    ALL.iter().find(|t| t.name == name)
}

/// Inputs of structured targets are JSON documents: readable when saved, easy to turn into a
/// regression test.
pub fn encode(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

pub fn decode<T: DeserializeOwned>(input: &[u8]) -> Option<T> {
    serde_json::from_slice(input).ok()
}

/// A tree mutation of a JSON input, or of its `code` field (a script, template or
/// expression) with the code's own dictionary half of the time.
pub fn mutate_json(
    rng: &mut Rng,
    input: &[u8],
    others: &[&[u8]],
    code: Option<(&str, &[&str])>,
    keys: &[&str],
) -> Vec<u8> {
    let Ok(mut value) = serde_json::from_slice::<Value>(input) else {
        return mutate::bytes(rng, input, &[], others);
    };
    if let Some((field, dict)) = code
        && rng.random_bool(0.5)
        && let Some(Value::String(text)) = value.get_mut(field)
    {
        *text = if one_in(rng, 6) {
            // Splice in a piece of another input's code.
            let donor = others
                .get(rng.random_range(0..others.len().max(1)))
                .and_then(|o| serde_json::from_slice::<Value>(o).ok())
                .and_then(|v| v.get(field).and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            let cut = donor
                .char_indices()
                .map(|(i, _)| i)
                .nth(rng.random_range(0..donor.chars().count().max(1)))
                .unwrap_or(0);
            format!(
                "{}{}",
                &text[..floor_char(text, rng.random_range(0..=text.len()))],
                &donor[cut..]
            )
        } else {
            mutate::text(rng, text, dict)
        };
        return encode(&value);
    }
    let donor = if others.is_empty() || !one_in(rng, 3) {
        None
    } else {
        serde_json::from_slice::<Value>(others[rng.random_range(0..others.len())]).ok()
    };
    let dict = code.map_or(&[][..], |(_, d)| d);
    mutate::tree(rng, &mut value, dict, keys, donor.as_ref());
    encode(&value)
}

fn floor_char(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// One of `items`, or `fallback` when there are none.
pub fn pick_or<T: Clone>(rng: &mut Rng, items: &[T], fallback: T) -> T {
    if items.is_empty() {
        fallback
    } else {
        pick(rng, items).clone()
    }
}

use rand::Rng as _;
