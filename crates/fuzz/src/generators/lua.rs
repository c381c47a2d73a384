//! Random health.lua snippets: the shapes Argo CD's scripts have (walk `obj.status`, set
//! `hs.status` and `hs.message`, return `hs`), mixed with the library calls the sandbox leaves
//! and odd values. Loops are bounded by the instruction budget, which is the point.

use crate::generators::json;
use crate::rng::{Rng, one_in, pick, small};
use rand::Rng as _;

/// Tokens to insert when mutating a script.
pub const DICT: &[&str] = &[
    "local ",
    "function",
    "end",
    "then",
    "do",
    "if ",
    "elseif ",
    "else",
    "for ",
    "while ",
    "repeat",
    "until",
    "return ",
    "break",
    "goto x",
    "::x::",
    "nil",
    "true",
    "false",
    "and",
    "or",
    "not",
    "..",
    "...",
    "#",
    "//",
    "%",
    "^",
    "~=",
    "==",
    "<=",
    "<<",
    ">>",
    "~",
    "&",
    "|",
    "[[",
    "]]",
    "[=[",
    "--",
    "--[[",
    "obj",
    "obj.status",
    "obj.metadata",
    "hs",
    "hs.status",
    "hs.message",
    "pcall(",
    "error(",
    "setmetatable(",
    "getmetatable(",
    "rawset(",
    "rawget(",
    "rawequal(",
    "select(",
    "tostring(",
    "tonumber(",
    "ipairs(",
    "pairs(",
    "next(",
    "type(",
    "assert(",
    "string.rep(",
    "string.format(",
    "string.find(",
    "string.gsub(",
    "string.match(",
    "string.sub(",
    "string.byte(",
    "string.char(",
    "string.pack(",
    "string.unpack(",
    "table.concat(",
    "table.insert(",
    "table.remove(",
    "table.sort(",
    "table.unpack(",
    "table.move(",
    "math.floor(",
    "math.tointeger(",
    "math.random(",
    "math.randomseed(",
    "os.time(",
    "os.date(",
    "utf8.char(",
    "utf8.codepoint(",
    "utf8.len(",
    "utf8.offset(",
    "math.maxinteger",
    "math.mininteger",
    "math.huge",
    "-0.0",
    "0/0",
    "1e308",
    "0x7fffffffffffffff",
    "\"Healthy\"",
    "\"Degraded\"",
    "\"Progressing\"",
    "\"%d\"",
    "\"%s\"",
    "\"%q\"",
    "\"%99d\"",
    "\"!%Y-%m-%dT%H:%M:%SZ\"",
    "\"*t\"",
    "\"%c\"",
];

const STATUS: &[&str] = &[
    "\"Healthy\"",
    "\"Progressing\"",
    "\"Degraded\"",
    "\"Suspended\"",
    "\"Missing\"",
    "\"Unknown\"",
    "\"healthy\"",
    "\"\"",
    "1",
    "nil",
    "{}",
    "true",
];

fn expr(rng: &mut Rng, depth: usize) -> String {
    let sub = |rng: &mut Rng| {
        if depth == 0 {
            "obj.kind".to_string()
        } else {
            expr(rng, depth - 1)
        }
    };
    match rng.random_range(0..24) {
        0 => format!("{:?}", json::string(rng)),
        1 => pick(rng, crate::mutate::NUMBERS).to_string(),
        2 => pick(
            rng,
            &[
                "math.maxinteger",
                "math.mininteger",
                "math.huge",
                "-math.huge",
                "0/0",
                "nil",
                "true",
                "{}",
                "obj",
            ],
        )
        .to_string(),
        3 => format!(
            "obj.{}",
            pick(
                rng,
                &[
                    "status",
                    "spec",
                    "metadata.name",
                    "status.conditions",
                    "status.replicas",
                    "metadata.generation",
                    "status.observedGeneration"
                ]
            )
        ),
        4 => format!(
            "{} {} {}",
            sub(rng),
            pick(
                rng,
                &[
                    "..", "+", "-", "*", "/", "//", "%", "^", "==", "<", "and", "or", "&", "<<",
                    ">>"
                ]
            ),
            sub(rng)
        ),
        5 => format!("tostring({})", sub(rng)),
        6 => format!(
            "tonumber({}{})",
            sub(rng),
            if rng.random() { ", 16" } else { "" }
        ),
        7 => format!(
            "string.format({}, {})",
            pick(
                rng,
                &[
                    "\"%d\"",
                    "\"%s\"",
                    "\"%5.1f\"",
                    "\"%q\"",
                    "\"%x\"",
                    "\"%c\"",
                    "\"%i\"",
                    "\"%a\"",
                    "\"%-99s\"",
                    "\"%.99f\"",
                    "\"%\""
                ]
            ),
            sub(rng)
        ),
        8 => format!(
            "string.rep({}, {}{})",
            sub(rng),
            rng.random_range(-2..2000),
            if rng.random() { ", \",\"" } else { "" }
        ),
        9 => format!(
            "string.find({}, {:?}{})",
            sub(rng),
            pick(
                rng,
                &[
                    "a",
                    "%d+",
                    "(%w+)=(%w+)",
                    "[",
                    "%",
                    "%b()",
                    "%f[%w]",
                    ".-",
                    "^(.-)$",
                    "(()"
                ]
            ),
            if rng.random() { ", 1, true" } else { "" }
        ),
        10 => format!(
            "string.gsub({}, {:?}, {})",
            sub(rng),
            pick(rng, &["%s", ".", "(a)", "%1", ""]),
            pick(
                rng,
                &[
                    "\"%1\"",
                    "\"%0%0\"",
                    "\"%2\"",
                    "{}",
                    "function(x) return x end",
                    "\"%\""
                ]
            )
        ),
        11 => format!(
            "string.sub({}, {}, {})",
            sub(rng),
            rng.random_range(-5..5),
            pick(rng, &["-1", "math.maxinteger", "math.mininteger", "0", "3"])
        ),
        12 => format!(
            "os.time({{year = {}, month = {}, day = {}, hour = {}}})",
            pick(rng, crate::mutate::NUMBERS),
            rng.random_range(-13..14),
            pick(
                rng,
                &["1", "0", "-1", "31", "math.maxinteger", "math.mininteger"]
            ),
            pick(rng, &["0", "25", "math.maxinteger", "nil"])
        ),
        13 => format!(
            "os.date({}, {})",
            pick(
                rng,
                &[
                    "\"!%Y-%m-%dT%H:%M:%SZ\"",
                    "\"*t\"",
                    "\"%c\"",
                    "\"%j %y %Z %%\"",
                    "\"%Q\"",
                    "\"%\"",
                    "nil"
                ]
            ),
            pick(
                rng,
                &[
                    "0",
                    "-1",
                    "math.maxinteger",
                    "math.mininteger",
                    "1e300",
                    "253402300800",
                    "-62135596800"
                ]
            )
        ),
        14 => format!(
            "utf8.char({})",
            pick(
                rng,
                &[
                    "0",
                    "0x10FFFF",
                    "0x110000",
                    "-1",
                    "0x7FFFFFFF",
                    "math.maxinteger"
                ]
            )
        ),
        15 => format!(
            "utf8.len({}, {}, {})",
            sub(rng),
            rng.random_range(-3..3),
            rng.random_range(-3..3)
        ),
        16 => format!(
            "select({}, 1, 2, 3)",
            pick(rng, &["'#'", "-1", "-4", "0", "2", "math.mininteger"])
        ),
        17 => format!(
            "table.concat({{{}, {}}}, {})",
            sub(rng),
            sub(rng),
            pick(rng, &["\",\"", "nil", "1"])
        ),
        18 => format!(
            "table.unpack({{1, 2, 3}}, {}, {})",
            rng.random_range(-2..3),
            pick(rng, &["3", "1e8", "math.maxinteger"])
        ),
        19 => format!("math.tointeger({})", sub(rng)),
        20 => format!(
            "pcall({}, {})",
            pick(
                rng,
                &[
                    "error",
                    "tostring",
                    "function() return obj.x.y end",
                    "string.rep",
                    "next"
                ]
            ),
            sub(rng)
        ),
        21 => format!("#{}", sub(rng)),
        22 => format!(
            "string.pack({:?}, {})",
            pick(rng, &["i4", "z", "s1", "!16", "i17", "Xi", "j"]),
            sub(rng)
        ),
        _ => format!("(function() return {} end)()", sub(rng)),
    }
}

fn statement(rng: &mut Rng, depth: usize) -> String {
    let block = |rng: &mut Rng| {
        if depth == 0 {
            String::new()
        } else {
            statements(rng, depth - 1)
        }
    };
    match rng.random_range(0..13) {
        0 => format!("hs.status = {}", pick(rng, STATUS)),
        1 => format!("hs.message = {}", expr(rng, 2)),
        2 => format!("local x = {}", expr(rng, 2)),
        3 => format!(
            "if {} then\n{}\nelse\n{}\nend",
            expr(rng, 1),
            block(rng),
            block(rng)
        ),
        4 => format!(
            "for _, c in ipairs(obj.status and obj.status.conditions or {{}}) do\n{}\nend",
            block(rng)
        ),
        5 => format!(
            "for k, v in pairs({}) do\n{}\nend",
            pick(rng, &["obj", "obj.metadata or {}", "hs", "_G", "string"]),
            block(rng)
        ),
        6 => format!(
            "for i = {}, {}, {} do\n{}\nend",
            pick(rng, &["1", "math.maxinteger", "math.mininteger", "0.5"]),
            pick(rng, &["3", "math.maxinteger", "-1", "1e300"]),
            pick(rng, &["1", "-1", "0.1", "math.mininteger"]),
            block(rng)
        ),
        7 => format!(
            "while {} do\n{}\nend",
            pick(rng, &["true", "x", "false", "hs.status == nil"]),
            block(rng)
        ),
        8 => format!(
            "return {}",
            pick(
                rng,
                &[
                    "hs",
                    "{}",
                    "nil",
                    "1",
                    "{status = \"Healthy\"}",
                    "{status = \"Healthy\", message = {}}",
                    "{status = 1}",
                    "hs, hs"
                ]
            )
        ),
        9 => format!(
            "table.sort({{3, 1, 2, {}}}, {})",
            expr(rng, 0),
            pick(
                rng,
                &[
                    "nil",
                    "function(a, b) return true end",
                    "function(a, b) return a < b end"
                ]
            )
        ),
        10 => format!(
            "setmetatable(hs, {{__index = {}, __tostring = function() return {} end}})",
            pick(rng, &["hs", "function() error(\"x\") end", "{}"]),
            expr(rng, 1)
        ),
        11 => format!("error({}, {})", expr(rng, 1), rng.random_range(0..3)),
        _ => format!("x = {}", expr(rng, 2)),
    }
}

fn statements(rng: &mut Rng, depth: usize) -> String {
    (0..=small(rng, 4))
        .map(|_| statement(rng, depth))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A whole script: mostly `hs = {} … return hs`, sometimes anything.
pub fn script(rng: &mut Rng) -> String {
    let body = statements(rng, 2);
    if one_in(rng, 5) {
        body
    } else {
        format!("hs = {{}}\n{body}\nreturn hs")
    }
}
