//! Runs one health script in a sandbox, with Argo CD's interface: the object is the global
//! `obj`, the script returns a table `{status = "...", message = "..."}`.
//!
//! Sandbox: a fresh Lua state per run (no state leaks between objects), with only the base
//! library (minus `dofile`, `loadfile`, `load`, `collectgarbage`; `print` and `warn` do nothing),
//! `string` (minus `string.dump`), `table`, `math` and `utf8`. No `io`, `package`/`require`,
//! `debug` or `coroutine`, and of `os` only `time` and `date` on an explicit time (see
//! `lua_time`): a health check is a pure function of the object, so reading the clock is out.
//! Argo CD's `useOpenLibs` switch is not honoured, for the same reason.
//!
//! Argo CD runs gopher-lua (Lua 5.1), so the 5.1 names scripts still use are provided:
//! `table.getn`, `table.maxn`, `unpack`, `math.mod`, `math.atan2` and `string.gfind` (the
//! vendored Lua 5.4 keeps `math.pow`, `math.log10` and the like). Numbers read as they do
//! there: whole numbers of the object are integers, and `tostring` writes a whole float without
//! ".0" (`tostring(6 / 2)` is "3"); the `..` operator cannot be changed and still writes "3.0".
//! `math.random` starts from a fixed seed, since Lua 5.4 would seed it from the clock. Left out
//! on purpose: `loadstring`, `setfenv`/`getfenv`, `module` and `require` (Argo CD's
//! `require("os")` included).
//!
//! A script that returns an empty table gives no health (`None`), as Argo CD treats an
//! empty health status as no health; `health_of` then falls back to the built-in check.
//!
//! Limits: "time" is an instruction budget, not a clock, so the result is the same on every
//! machine and every run. Instructions do not count the time spent inside library calls,
//! though (a loop of `string.rep("x", 1e7)` runs a few instructions per 10 MB), so a
//! wall-clock deadline backs it up, checked in the same hook at every function call as well:
//! 50 ns per budgeted instruction (1 s for the default budget; at least 250 ms), about ten
//! times what the instructions take, so only a script that spends its time in library calls
//! ever meets it, and a script within both gets the same result everywhere. Once either is
//! spent every further instruction and call fails and `pcall`/`xpcall` re-raise, so a script
//! cannot catch its way out; `__gc` finalizers are refused because Lua runs them with hooks
//! off. Memory is capped. Known gap: one library call is not interrupted (a pathological
//! `string.find` pattern runs to its end).

use crate::{HealthCode, HealthStatus};
use mlua::chunk::ChunkMode;
use mlua::debug::DebugEvent;
use mlua::{HookTriggers, Lua, LuaOptions, StdLib, VmState};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How much a script may do before it is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LuaLimits {
    /// Lua VM instructions (roughly 0.1 s of work for the default).
    pub instructions: u64,
    /// Bytes the Lua state may allocate, the object itself included.
    pub memory_bytes: usize,
}

impl LuaLimits {
    /// The wall-clock deadline that backs up the instruction budget: 50 ns per instruction,
    /// at least 250 ms (1 s for the default budget).
    pub fn deadline(&self) -> Duration {
        deadline_for(self.instructions)
    }
}

fn deadline_for(instructions: u64) -> Duration {
    Duration::from_nanos(instructions.saturating_mul(50)).max(Duration::from_millis(250))
}

impl Default for LuaLimits {
    fn default() -> Self {
        Self {
            instructions: 20_000_000,
            memory_bytes: 64 * 1024 * 1024,
        }
    }
}

/// How often (in instructions) the budget is checked while within budget.
const CHECK_EVERY: u32 = 1_000;
/// Deeper objects than this are refused rather than risk the native stack.
const MAX_DEPTH: usize = 256;

/// Why a health script gave no usable health.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LuaCheckError {
    #[error("failed to set up the Lua sandbox for the health script for {key}: {reason}")]
    Sandbox { key: String, reason: String },
    #[error("failed to pass the object to the health script for {key}: {reason}")]
    Object { key: String, reason: String },
    #[error("failed to run the health script for {key}: {reason}")]
    Script { key: String, reason: String },
    #[error(
        "failed to finish the health script for {key} within its budget of {limit} Lua instructions or {} ms (endless loop?)",
        deadline_for(*limit).as_millis()
    )]
    Budget { key: String, limit: u64 },
    #[error("failed to run the health script for {key} within its memory limit of {limit} bytes")]
    Memory { key: String, limit: usize },
    #[error("failed to read the result of the health script for {key}: {reason}")]
    Result { key: String, reason: String },
}

/// Sandbox setup, run before the hook is installed. Everything the wrappers rely on is
/// captured in locals first, so a script cannot swap it out.
const PRELUDE: &str = r#"
local budget_spent = ...
local raw_pcall, raw_xpcall, raw_setmetatable = pcall, xpcall, setmetatable
local rawget, type, error, pairs, select = rawget, type, error, pairs, select
local pack, unpack = table.pack, table.unpack
local raw_tostring, math_type, tointeger, atan = tostring, math.type, math.tointeger, math.atan
local raw_randomseed = math.randomseed

dofile, loadfile, load, collectgarbage, require = nil, nil, nil, nil, nil
-- Lua 5.1 names used by scripts written for Argo CD's gopher-lua.
table.getn = function(t) return #t end
table.maxn = function(t)
  local n = 0
  for k in pairs(t) do
    if type(k) == "number" and k > n then n = k end
  end
  return n
end
math.atan2 = function(y, x) return atan(y, x) end
_G.unpack = table.unpack -- the local `unpack` above is the sandbox's own copy
math.mod = math.fmod
string.gfind = string.gmatch
string.dump = nil
print = function() end
warn = function() end
-- gopher-lua writes a whole float as an integer: 6 / 2 is "3", not "3.0".
tostring = function(...)
  if math_type((...)) == "float" then
    local whole = tointeger((...))
    if whole ~= nil then return raw_tostring(whole) end
  end
  return raw_tostring(...)
end
-- Lua 5.4 seeds from the clock; a fixed seed keeps a script a function of the object.
raw_randomseed(0)
math.randomseed = function(...)
  if select('#', ...) == 0 then
    error("math.randomseed() needs a seed: health scripts cannot read the clock", 2)
  end
  return raw_randomseed(...)
end

local function rethrow_when_budget_spent(results)
  if not results[1] and budget_spent() then error(results[2], 0) end
  return unpack(results, 1, results.n)
end
pcall = function(f, ...) return rethrow_when_budget_spent(pack(raw_pcall(f, ...))) end
xpcall = function(f, handler, ...) return rethrow_when_budget_spent(pack(raw_xpcall(f, handler, ...))) end
setmetatable = function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("__gc finalizers are not allowed in health scripts", 2)
  end
  return raw_setmetatable(t, mt)
end
"#;

/// Runs `script` (configured under `key`) against `obj`; `None` when it returns `{}`.
pub fn run_health_script(
    key: &str,
    script: &str,
    obj: &Value,
    limits: LuaLimits,
) -> Result<Option<HealthStatus>, LuaCheckError> {
    let sandbox_error = |error: mlua::Error| LuaCheckError::Sandbox {
        key: key.to_string(),
        reason: one_line(&error),
    };
    let spent = Arc::new(AtomicBool::new(false));
    let lua = new_sandbox(&spent).map_err(sandbox_error)?;
    lua.set_memory_limit(limits.memory_bytes)
        .map_err(sandbox_error)?;

    let failure = |error: mlua::Error| classify(key, error, &spent, limits);
    let obj_value = to_lua(&lua, obj, 0).map_err(|error| match failure(error) {
        LuaCheckError::Script { key, reason } => LuaCheckError::Object { key, reason },
        other => other,
    })?;
    lua.globals().raw_set("obj", obj_value).map_err(failure)?;

    install_budget(&lua, &spent, limits).map_err(sandbox_error)?;
    let returned = lua
        .load(script)
        .set_name(format!("={key}"))
        .set_mode(ChunkMode::Text)
        .eval::<mlua::Value>();
    if spent.load(Ordering::Relaxed) {
        return Err(LuaCheckError::Budget {
            key: key.to_string(),
            limit: limits.instructions,
        });
    }
    let returned = returned.map_err(failure)?;
    read_result(key, &returned)
}

/// The compile error of a script, if any; the script is not run.
pub fn syntax_error(key: &str, script: &str) -> Option<String> {
    let spent = Arc::new(AtomicBool::new(false));
    let lua = match new_sandbox(&spent) {
        Ok(lua) => lua,
        Err(error) => return Some(one_line(&error)),
    };
    let compiled = lua
        .load(script)
        .set_name(format!("={key}"))
        .set_mode(ChunkMode::Text)
        .into_function();
    compiled.err().map(|error| one_line(&error))
}

fn new_sandbox(spent: &Arc<AtomicBool>) -> mlua::Result<Lua> {
    let lua = Lua::new_with(
        StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::UTF8,
        LuaOptions::default(),
    )?;
    crate::lua_time::install(&lua)?;
    let flag = Arc::clone(spent);
    let budget_spent = lua.create_function(move |_, ()| Ok(flag.load(Ordering::Relaxed)))?;
    lua.load(PRELUDE)
        .set_name("=sandbox")
        .set_mode(ChunkMode::Text)
        .call::<()>(budget_spent)?;
    Ok(lua)
}

/// Counts instructions and watches the clock (every `CHECK_EVERY` instructions and at every
/// call, so a loop of long library calls is caught too); past either, raises an error at
/// every check from then on.
fn install_budget(lua: &Lua, spent: &Arc<AtomicBool>, limits: LuaLimits) -> mlua::Result<()> {
    let spent = Arc::clone(spent);
    let used = AtomicU64::new(0);
    let limit = limits.instructions;
    let deadline = Instant::now() + limits.deadline();
    lua.set_hook(
        HookTriggers::new()
            .every_nth_instruction(CHECK_EVERY)
            .on_calls(),
        move |_, debug| {
            let total = if matches!(debug.event(), DebugEvent::Count) {
                used.fetch_add(u64::from(CHECK_EVERY), Ordering::Relaxed) + u64::from(CHECK_EVERY)
            } else {
                used.load(Ordering::Relaxed)
            };
            if total > limit || spent.load(Ordering::Relaxed) || Instant::now() >= deadline {
                spent.store(true, Ordering::Relaxed);
                return Err(mlua::Error::runtime("instruction budget spent"));
            }
            Ok(VmState::Continue)
        },
    )
}

fn classify(key: &str, error: mlua::Error, spent: &AtomicBool, limits: LuaLimits) -> LuaCheckError {
    let key = key.to_string();
    if spent.load(Ordering::Relaxed) {
        return LuaCheckError::Budget {
            key,
            limit: limits.instructions,
        };
    }
    if is_memory_error(&error) {
        return LuaCheckError::Memory {
            key,
            limit: limits.memory_bytes,
        };
    }
    LuaCheckError::Script {
        key,
        reason: one_line(&error),
    }
}

fn is_memory_error(error: &mlua::Error) -> bool {
    match error {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } => is_memory_error(cause),
        mlua::Error::WithContext { cause, .. } => is_memory_error(cause),
        _ => false,
    }
}

/// The error without the Lua stack traceback that may follow it.
fn one_line(error: &mlua::Error) -> String {
    let text = error.to_string();
    let text = text.split("\nstack traceback:").next().unwrap_or_default();
    text.trim().to_string()
}

/// JSON into Lua tables as Argo CD does: objects and arrays become tables (arrays from 1),
/// null becomes nil, whole numbers become Lua integers.
fn to_lua(lua: &Lua, value: &Value, depth: usize) -> mlua::Result<mlua::Value> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::runtime(format!(
            "object nested deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(match value {
        Value::Null => mlua::Value::Nil,
        Value::Bool(flag) => mlua::Value::Boolean(*flag),
        Value::Number(number) => match number.as_i64().or_else(|| whole(number.as_f64())) {
            Some(whole) => mlua::Value::Integer(whole),
            None => mlua::Value::Number(number.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(text) => mlua::Value::String(lua.create_string(text)?),
        Value::Array(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (index, item) in items.iter().enumerate() {
                table.raw_set(index + 1, to_lua(lua, item, depth + 1)?)?;
            }
            mlua::Value::Table(table)
        }
        Value::Object(fields) => {
            let table = lua.create_table_with_capacity(0, fields.len())?;
            for (name, field) in fields {
                table.raw_set(name.as_str(), to_lua(lua, field, depth + 1)?)?;
            }
            mlua::Value::Table(table)
        }
    })
}

/// A float with no fraction that fits an integer (`1.0` in YAML): gopher-lua has only floats
/// and writes it "1", so it becomes an integer here rather than print as "1.0".
fn whole(number: Option<f64>) -> Option<i64> {
    let number = number?;
    // i64::MAX is not exact as f64; 2^63 is the first float past the range.
    let in_range = number >= -(2f64.powi(63)) && number < 2f64.powi(63);
    (number.fract() == 0.0 && in_range).then_some(number as i64)
}

/// `{status = <health code>, message = <string or nil>}`, or `{}` for no health; anything
/// else is an error.
fn read_result(key: &str, returned: &mlua::Value) -> Result<Option<HealthStatus>, LuaCheckError> {
    let bad = |reason: String| LuaCheckError::Result {
        key: key.to_string(),
        reason,
    };
    let mlua::Value::Table(table) = returned else {
        return Err(bad(format!(
            "expected a table like {{status = \"Healthy\", message = \"...\"}}, got {}",
            returned.type_name()
        )));
    };
    if table.is_empty() {
        return Ok(None);
    }
    let status: mlua::Value = table.raw_get("status").map_err(|e| bad(one_line(&e)))?;
    let status = match &status {
        mlua::Value::String(text) => text.to_string_lossy(),
        other => {
            return Err(bad(format!(
                "status must be a string, got {}",
                other.type_name()
            )));
        }
    };
    let code: HealthCode = status.parse().map_err(|_| {
        bad(format!("status {status:?} is not one of Healthy, Suspended, Progressing, Missing, Degraded, Unknown"))
    })?;
    let message = match table
        .raw_get::<mlua::Value>("message")
        .map_err(|e| bad(one_line(&e)))?
    {
        mlua::Value::Nil => String::new(),
        mlua::Value::String(text) => text.to_string_lossy(),
        mlua::Value::Integer(number) => number.to_string(),
        mlua::Value::Number(number) => number.to_string(),
        other => {
            return Err(bad(format!(
                "message must be a string, got {}",
                other.type_name()
            )));
        }
    };
    Ok(Some(HealthStatus::new(code, message)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const COUNT_TO_A_MILLION: &str = r#"
        local n = 0
        for i = 1, 1000000 do n = n + 1 end
        return {status = "Healthy", message = tostring(n)}
    "#;

    #[test]
    fn the_budget_is_an_instruction_count_and_can_be_changed() {
        let obj = json!({"kind": "Widget"});
        let roomy = run_health_script("x/Widget", COUNT_TO_A_MILLION, &obj, LuaLimits::default());
        assert_eq!(roomy, Ok(Some(HealthStatus::healthy("1000000"))));
        let tight = LuaLimits {
            instructions: 100_000,
            ..LuaLimits::default()
        };
        let stopped = run_health_script("x/Widget", COUNT_TO_A_MILLION, &obj, tight);
        assert_eq!(
            stopped,
            Err(LuaCheckError::Budget {
                key: "x/Widget".into(),
                limit: 100_000
            })
        );
    }

    /// A few instructions per iteration, each a 10 MB `string.rep`: the instruction budget
    /// allows millions of iterations, i.e. hours; the deadline stops it.
    const LIBRARY_CALL_LOOP: &str = r#"
        local n = 0
        for i = 1, tonumber(obj.spec.iterations) do
          local s = string.rep("x", 10000000)
          n = n + #s
        end
        return {status = "Healthy", message = tostring(n)}
    "#;

    #[test]
    fn a_loop_of_long_library_calls_meets_the_deadline() {
        let limits = LuaLimits::default();
        assert_eq!(limits.deadline(), Duration::from_secs(1));
        // How long one iteration takes, from a short run within both limits.
        let few = json!({"kind": "Widget", "spec": {"iterations": 2}});
        let started = Instant::now();
        let short = run_health_script("x/Widget", LIBRARY_CALL_LOOP, &few, limits);
        let per_iteration = started.elapsed() / 2;
        assert_eq!(short, Ok(Some(HealthStatus::healthy("20000000"))));

        let endless = json!({"kind": "Widget", "spec": {"iterations": 100000000}});
        let started = Instant::now();
        let stopped = run_health_script("x/Widget", LIBRARY_CALL_LOOP, &endless, limits);
        let took = started.elapsed();
        assert_eq!(
            stopped,
            Err(LuaCheckError::Budget {
                key: "x/Widget".into(),
                limit: limits.instructions
            })
        );
        // Stopped at all means the deadline worked (the budget alone takes hours); the bound
        // is loose so a busy machine does not fail it.
        assert!(took < Duration::from_secs(60), "stopped after {took:?}");
        // Some 5 instructions an iteration: the budget alone would allow this many.
        let budget_alone =
            per_iteration * u32::try_from(limits.instructions / 5).unwrap_or(u32::MAX);
        println!(
            "string.rep loop: {per_iteration:?} an iteration; stopped after {took:?}; the instruction budget alone would have allowed about {budget_alone:?}"
        );
        assert!(budget_alone > Duration::from_secs(10), "{budget_alone:?}");
        let message = stopped.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("20000000 Lua instructions or 1000 ms"),
            "{message}"
        );
    }

    #[test]
    fn too_deep_objects_are_refused_not_overflowed() {
        let mut deep = json!("leaf");
        for _ in 0..(MAX_DEPTH + 10) {
            deep = json!({"nested": deep});
        }
        let result = run_health_script(
            "x/Widget",
            "return {status = 'Healthy'}",
            &deep,
            LuaLimits::default(),
        );
        match result {
            Err(LuaCheckError::Object { reason, .. }) => {
                assert!(reason.contains("nested deeper"), "{reason}")
            }
            other => panic!("expected an object error, got {other:?}"),
        }
    }

    #[test]
    fn each_run_starts_from_a_fresh_state() {
        let script = r#"
            seen = (seen or 0) + 1
            return {status = "Healthy", message = tostring(seen)}
        "#;
        let obj = json!({});
        for _ in 0..2 {
            assert_eq!(
                run_health_script("k", script, &obj, LuaLimits::default()),
                Ok(Some(HealthStatus::healthy("1")))
            );
        }
    }

    #[test]
    fn sandbox_keeps_string_table_math_and_utf8() {
        let script = r#"
            local parts = {}
            for word in string.gmatch("a,b,c", "[^,]+") do table.insert(parts, word:upper()) end
            return {status = "Healthy", message = table.concat(parts, "-") .. " " .. math.max(1, 7) .. " " .. utf8.len("héllo")}
        "#;
        assert_eq!(
            run_health_script("k", script, &json!({}), LuaLimits::default()),
            Ok(Some(HealthStatus::healthy("A-B-C 7 5")))
        );
    }

    #[test]
    fn unsafe_globals_are_gone() {
        let script = r#"
            local gone = {}
            for _, name in ipairs({"io", "debug", "package", "require", "dofile", "loadfile", "load", "collectgarbage", "coroutine"}) do
                if _G[name] ~= nil then table.insert(gone, name) end
            end
            if string.dump ~= nil then table.insert(gone, "string.dump") end
            for name in pairs(os) do
                if name ~= "time" and name ~= "date" then table.insert(gone, "os." .. name) end
            end
            return {status = "Healthy", message = table.concat(gone, ",")}
        "#;
        assert_eq!(
            run_health_script("k", script, &json!({}), LuaLimits::default()),
            Ok(Some(HealthStatus::healthy("")))
        );
    }

    #[test]
    fn binary_chunks_are_refused() {
        let result = run_health_script("k", "\x1bLua\x54\x00", &json!({}), LuaLimits::default());
        assert!(
            matches!(result, Err(LuaCheckError::Script { .. })),
            "{result:?}"
        );
    }

    fn run(script: &str) -> Result<Option<HealthStatus>, LuaCheckError> {
        run_health_script("k", script, &json!({}), LuaLimits::default())
    }

    #[test]
    fn lua_5_1_names_are_provided() {
        let script = r#"
            local words = {}
            for w in string.gfind("a b", "%a") do words[table.getn(words) + 1] = w end
            local x, y = unpack({1, 2})
            return {status = "Healthy", message = table.concat(words) .. x .. y .. math.mod(7, 3)}
        "#;
        assert_eq!(run(script), Ok(Some(HealthStatus::healthy("ab121"))));
    }

    /// Every name gopher-lua gives Argo CD's scripts is there, except those left out on purpose.
    #[test]
    fn gopher_lua_library_is_there_but_for_the_sandbox() {
        let script = r#"
            local names = {
                _G = {"assert", "collectgarbage", "dofile", "error", "getfenv", "getmetatable",
                      "ipairs", "load", "loadfile", "loadstring", "module", "newproxy", "next",
                      "pairs", "pcall", "print", "rawequal", "rawget", "rawset", "require",
                      "select", "setfenv", "setmetatable", "tonumber", "tostring", "type",
                      "unpack", "xpcall"},
                string = {"byte", "char", "dump", "find", "format", "gfind", "gmatch", "gsub",
                          "len", "lower", "match", "rep", "reverse", "sub", "upper"},
                table = {"concat", "getn", "insert", "maxn", "remove", "sort"},
                math = {"abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "cosh", "deg",
                        "exp", "floor", "fmod", "frexp", "huge", "ldexp", "log", "log10", "max",
                        "min", "mod", "modf", "pi", "pow", "rad", "random", "randomseed", "sin",
                        "sinh", "sqrt", "tan", "tanh"},
                os = {"date", "time"},
            }
            local missing = {}
            for _, lib in ipairs({"_G", "string", "table", "math", "os"}) do
                for _, name in ipairs(names[lib]) do
                    if _G[lib][name] == nil then table.insert(missing, lib .. "." .. name) end
                end
            end
            return {status = "Healthy", message = table.concat(missing, " ")}
        "#;
        let left_out = "_G.collectgarbage _G.dofile _G.getfenv _G.load _G.loadfile \
            _G.loadstring _G.module _G.newproxy _G.require _G.setfenv string.dump";
        assert_eq!(run(script), Ok(Some(HealthStatus::healthy(left_out))));
    }

    #[test]
    fn numbers_print_as_in_gopher_lua() {
        let script = r#"
            local t = {}
            t[#t + 1] = tostring(6 / 2)
            t[#t + 1] = tostring(7 / 2)
            t[#t + 1] = tostring(-0.0)
            t[#t + 1] = tostring(2 ^ 70)
            t[#t + 1] = tostring(obj.spec.replicas)
            t[#t + 1] = math.type(obj.spec.replicas)
            t[#t + 1] = math.type(obj.spec.ratio)
            t[#t + 1] = tostring(table.maxn({1, 2, [10] = 3}))
            t[#t + 1] = tostring(math.atan2(0, 1))
            return {status = "Healthy", message = table.concat(t, " ")}
        "#;
        let obj = json!({"spec": {"replicas": 3.0, "ratio": 0.5}});
        assert_eq!(
            run_health_script("k", script, &obj, LuaLimits::default()),
            Ok(Some(HealthStatus::healthy(
                "3 3.5 0 1.1805916207174e+21 3 integer float 10 0"
            )))
        );
    }

    #[test]
    fn math_random_is_the_same_on_every_run() {
        let script = "return {status = 'Healthy', message = tostring(math.random(1, 1000000))}";
        let first = run(script);
        assert!(matches!(first, Ok(Some(_))), "{first:?}");
        assert_eq!(run(script), first);
        match run("math.randomseed()") {
            Err(LuaCheckError::Script { reason, .. }) => {
                assert!(reason.contains("cannot read the clock"), "{reason}")
            }
            other => panic!("expected an error, got {other:?}"),
        }
        assert!(matches!(
            run("math.randomseed(7) return {status = 'Healthy'}"),
            Ok(Some(_))
        ));
    }

    #[test]
    fn os_time_and_date_work_on_given_times_only() {
        let script = r#"
            local t = os.time({year = 2025, month = 3, day = 3, hour = 6, min = 1, sec = 40})
            local d = os.date("!*t", t)
            return {status = "Healthy", message = t .. " " .. os.date("!%Y-%m-%dT%H:%M:%SZ", t) .. " " .. d.year .. d.month .. d.day}
        "#;
        assert_eq!(
            run(script),
            Ok(Some(HealthStatus::healthy(
                "1740981700 2025-03-03T06:01:40Z 202533"
            )))
        );
        for clock in [
            "return os.time()",
            "return os.date('%Y')",
            "return os.date()",
        ] {
            match run(clock) {
                Err(LuaCheckError::Script { reason, .. }) => {
                    assert!(reason.contains("cannot read the clock"), "{reason}")
                }
                other => panic!("{clock}: expected an error, got {other:?}"),
            }
        }
    }

    #[test]
    fn an_empty_table_is_no_health() {
        assert_eq!(run("return {}"), Ok(None));
    }
}
