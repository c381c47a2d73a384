use super::*;
use pretty_assertions::assert_eq;
use serde_json::json;
use std::path::Path;

/// Each `testdata/manifests/<case>.(yaml|json)` has `<case>.expected.json`: either the
/// objects with the line they start on, or the line of the error and a phrase of it.
#[test]
fn manifest_cases_parse_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/manifests");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).expect("testdata/manifests exists") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.ends_with(".expected.json") {
            continue;
        }
        let Some(format) = Format::of_path(&name) else {
            continue;
        };
        let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&name);
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{stem}.expected.json")))
                .expect("expected file"),
        )
        .expect("expected file is JSON");
        let bytes = std::fs::read(&path).expect("case file");
        let result = parse_bytes(&name, &bytes, format);
        if let Some(error) = expected.get("error") {
            let err = result.expect_err(&format!("{name} should fail"));
            let line = match &err {
                ManifestError::Syntax { line, .. } | ManifestError::NotAnObject { line, .. } => {
                    *line
                }
                ManifestError::NotUtf8 { line, .. } => *line,
                ManifestError::TooLarge { .. } => 0,
            };
            assert_eq!(Some(line as u64), error["line"].as_u64(), "{name}: {err}");
            let phrase = error["contains"].as_str().unwrap_or_default();
            assert!(
                err.to_string().contains(phrase),
                "{name}: {err} lacks {phrase:?}"
            );
            assert!(
                err.to_string().contains(&name),
                "{name}: error names the file: {err}"
            );
        } else {
            let got: Vec<Value> = result
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .into_iter()
                .map(|m| json!({"line": m.origin.line, "object": m.object}))
                .collect();
            assert_eq!(&Value::Array(got), &expected["objects"], "{name}");
        }
        cases += 1;
    }
    assert!(cases >= 9, "only {cases} cases found");
}

#[test]
fn helm_source_comment_is_kept_as_template() {
    let text = "---\n# Source: web/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n";
    let docs = parse_yaml_stream("helm template", text).expect("parses");
    assert_eq!(
        docs[0].origin.template.as_deref(),
        Some("web/templates/svc.yaml")
    );
    assert_eq!(
        docs[0].origin.to_string(),
        "helm template:1 (web/templates/svc.yaml)"
    );
}

#[test]
fn invalid_utf8_reports_the_line() {
    let err = parse_bytes("x.yaml", b"a: 1\nb: \xff\n", Format::Yaml).expect_err("not UTF-8");
    assert_eq!(
        err,
        ManifestError::NotUtf8 {
            file: "x.yaml".into(),
            line: 2
        }
    );
}

#[test]
fn alias_bombs_and_deep_nesting_are_errors_not_hangs() {
    let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
    for i in 0..9 {
        let prev = if i == 0 {
            "a".to_string()
        } else {
            format!("l{}", i - 1)
        };
        bomb.push_str(&format!("l{i}: &l{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    assert!(parse_yaml_stream("bomb.yaml", &bomb).is_err());
    let deep = "[".repeat(100_000);
    assert!(parse_yaml_stream("deep.yaml", &deep).is_err());
    assert!(parse_json("deep.json", &deep).is_err());
}

/// A tiny deterministic generator: no dependency, same inputs on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Mutates the fixture files byte by byte and splices YAML tokens into them; the parser
/// must return Ok or Err for every input, never panic.
#[test]
fn mutated_inputs_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/manifests");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("testdata/manifests exists")
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read(e.path()).ok())
        .collect();
    seeds.push(Vec::new());
    let tokens: [&[u8]; 16] = [
        b"---\n",
        b"...\n",
        b": ",
        b"- ",
        b"&a ",
        b"*a",
        b"<<: ",
        b"!!binary ",
        b"{",
        b"]",
        b"\"",
        b"'",
        b"|\n",
        b"\t",
        b"\xff",
        b"kind: List\nitems:\n",
    ];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let (mut parsed, mut rejected) = (0, 0);
    for round in 0..600 {
        let mut input = seeds[round % seeds.len()].clone();
        for _ in 0..1 + rng.below(3) {
            let at = if input.is_empty() {
                0
            } else {
                rng.below(input.len() + 1)
            };
            match rng.below(4) {
                0 if !input.is_empty() && at < input.len() => input[at] = rng.next() as u8,
                1 if at < input.len() => {
                    input.remove(at);
                }
                2 => {
                    let token = tokens[rng.below(tokens.len())];
                    input.splice(at..at, token.iter().copied());
                }
                _ => input.insert(at, (rng.next() % 128) as u8),
            }
        }
        for format in [Format::Yaml, Format::Json] {
            match parse_bytes("fuzz", &input, format) {
                Ok(_) => parsed += 1,
                Err(_) => rejected += 1,
            }
        }
    }
    // Both paths were exercised: some mutants still parse, others are rejected.
    assert!(
        parsed > 30 && rejected > 30,
        "parsed {parsed}, rejected {rejected}"
    );
}

#[test]
fn deep_flow_nesting_is_refused_at_once() {
    let depth = 200_000;
    let text = format!("a: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let error = parse_yaml_stream("deep.yaml", &text).expect_err("refused");
    assert!(
        error.to_string().contains("nesting deeper than 256 levels"),
        "{error}"
    );
    let quoted = format!("a: '{}'\n# {}\n", "[".repeat(1000), "{".repeat(1000));
    let parsed = parse_yaml_stream("quoted.yaml", &quoted);
    assert!(
        !matches!(parsed, Err(ManifestError::Syntax { ref message, .. }) if message.contains("nesting")),
        "brackets in strings and comments do not count: {parsed:?}"
    );
}

#[test]
fn a_file_larger_than_the_limit_is_refused() {
    let error = check_size("huge.yaml", MAX_FILE_BYTES + 1).expect_err("refused");
    assert!(error.to_string().contains("more than the"), "{error}");
    assert!(check_size("fine.yaml", MAX_FILE_BYTES).is_ok());
}

#[test]
fn plain_scalars_are_read_as_kubernetes_reads_them() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - name: a\n    secret: {secretName: s, defaultMode: 0644}\n  - name: b\n    configMap: {name: c, defaultMode: '0644'}\n  hostNetwork: off\n";
    let object = &parse_yaml_stream("pod.yaml", text).expect("the pod parses")[0].object;
    assert_eq!(object["spec"]["volumes"][0]["secret"]["defaultMode"], 420);
    assert_eq!(
        object["spec"]["volumes"][1]["configMap"]["defaultMode"],
        "0644"
    );
    assert_eq!(object["spec"]["hostNetwork"], false);
}
