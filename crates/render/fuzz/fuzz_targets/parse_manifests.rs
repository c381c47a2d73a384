//! Any bytes, as a YAML stream, a JSON file, a single YAML value and Helm-style output:
//! the parser returns objects or an error, never panics.
#![no_main]

use driftless_render::manifest::{Format, parse_bytes, parse_yaml_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_bytes("fuzz.yaml", data, Format::Yaml);
    let _ = parse_bytes("fuzz.json", data, Format::Json);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_yaml_value("fuzz.yaml", text);
    }
});
