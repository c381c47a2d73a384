use super::*;

fn version(text: &str) -> Version {
    parse_version(text).unwrap_or_else(|| panic!("{text:?} is a version"))
}

#[test]
fn every_fixture_case_matches_as_documented() {
    let text = include_str!("../../testdata/constraints.txt");
    let mut failures = Vec::new();
    let mut cases = 0;
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        // The last two cells split from the right: a constraint may hold `||`.
        let mut cells: Vec<&str> = line.rsplitn(3, '|').map(str::trim).collect();
        cells.reverse();
        let [constraint, candidate, expected] = cells.as_slice() else {
            panic!("bad fixture line {line:?}");
        };
        cases += 1;
        let parsed = Constraint::parse(constraint).expect("fixture constraints parse");
        let got = parsed.matches(&version(candidate));
        if got != (*expected == "yes") {
            failures.push(format!("{constraint:?} on {candidate}: got {got}"));
        }
    }
    assert!(cases > 50, "the fixture has its cases");
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

#[test]
fn the_newest_match_wins_and_prereleases_need_asking_for() {
    let versions: Vec<(Version, &str)> = ["1.0.0", "1.4.2", "1.10.0", "2.0.0-rc.1", "1.9.9"]
        .into_iter()
        .map(|v| (version(v), v))
        .collect();
    let pick = |c: &str| {
        Constraint::parse(c)
            .expect("parses")
            .newest(versions.iter().map(|(v, s)| (v, *s)))
    };
    assert_eq!(pick("1.*"), Some("1.10.0"), "1.10 is newer than 1.9.9");
    assert_eq!(pick("*"), Some("1.10.0"));
    assert_eq!(pick(">=0.0.0-0"), Some("2.0.0-rc.1"));
    assert_eq!(pick("~1.4"), Some("1.4.2"));
    assert_eq!(pick("3.*"), None);
}

#[test]
fn malformed_constraints_are_errors_naming_them() {
    for bad in ["", ">=", "1.2.3.4", "1.x.3", "banana", "1.2 ||", ">=1.0 -"] {
        let error = Constraint::parse(bad).expect_err(bad);
        assert!(error.to_string().contains(&format!("{bad:?}")), "{error}");
    }
}

#[test]
fn exact_versions_are_told_from_constraints() {
    assert!(is_exact_version("1.16.2"));
    assert!(is_exact_version("v1.16.2"));
    assert!(is_exact_version("1.0.0-rc.1"));
    for constraint in ["1.16.*", "1.16", ">=1.0.0", "*", "^1.2.3"] {
        assert!(!is_exact_version(constraint), "{constraint}");
    }
}

#[test]
fn index_versions_are_read_leniently() {
    assert_eq!(parse_version("v2"), Some(Version::new(2, 0, 0)));
    assert_eq!(parse_version("1.2"), Some(Version::new(1, 2, 0)));
    assert_eq!(parse_version("latest"), None);
}
