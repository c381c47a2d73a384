//! A worker for the sandbox's own tests (tests/): handlers that answer, hang, allocate
//! without end, call back and tell their pid, so the tests exercise real processes, deadlines and limits.

use driftless_sandbox::{Handler, serve};
use serde_json::{Value, json};

type Ask<'a> = dyn FnMut(Value) -> Result<Value, String> + 'a;

fn echo(input: Value, _: &mut Ask<'_>) -> Result<Value, String> {
    Ok(input)
}

fn sleep_forever(_: Value, _: &mut Ask<'_>) -> Result<Value, String> {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

fn allocate_forever(_: Value, _: &mut Ask<'_>) -> Result<Value, String> {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    loop {
        kept.push(vec![1u8; 1 << 20]);
        std::hint::black_box(&kept);
    }
}

fn callback_twice(input: Value, ask: &mut Ask<'_>) -> Result<Value, String> {
    let first = ask(input.clone())?;
    let second = ask(json!({"after": first}))?;
    Ok(json!([first, second]))
}

fn pid(_: Value, _: &mut Ask<'_>) -> Result<Value, String> {
    Ok(json!(std::process::id()))
}

fn fail(input: Value, _: &mut Ask<'_>) -> Result<Value, String> {
    Err(format!("failed to do anything with {input}"))
}

fn main() -> std::process::ExitCode {
    let handlers: [(&str, Handler); 6] = [
        ("echo", echo),
        ("sleep_forever", sleep_forever),
        ("allocate_forever", allocate_forever),
        ("callback_twice", callback_twice),
        ("fail", fail),
        ("pid", pid),
    ];
    match serve(&handlers) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sandbox-test-worker: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
