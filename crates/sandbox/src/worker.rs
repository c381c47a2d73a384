//! The worker side: `driftless __evaluate` reads requests from stdin until it ends and
//! answers each with the handler of its kind. Evaluators run on this process's main
//! thread; the parent bounds them from outside (deadline, memory limit). A watchdog thread
//! ends the worker when its parent dies: a parent killed in the middle of an evaluation
//! cannot kill the worker any more, and a runaway evaluation would outlive it.

use crate::protocol::{FromParent, FromWorker, Request, to_line};
use serde_json::Value;
use std::io::{BufRead, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

/// How often the watchdog looks whether the parent still lives.
const PARENT_CHECK: Duration = Duration::from_millis(250);

/// Asks the parent a question and waits for its reply.
pub type Callback<'a> = dyn FnMut(Value) -> Result<Value, String> + 'a;

/// Evaluates one request's input; may call back to the parent.
pub type Handler =
    fn(Value, &mut dyn FnMut(Value) -> Result<Value, String>) -> Result<Value, String>;

/// Answers requests from stdin on stdout with `handlers` (by kind) until stdin ends.
pub fn serve(handlers: &[(&str, Handler)]) -> std::io::Result<()> {
    watch_parent()?;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut output = stdout.lock();
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Request>(&line) {
            Err(e) => FromWorker::Error(format!("failed to read the request: {e}")),
            Ok(request) => match handlers.iter().find(|(kind, _)| *kind == request.kind) {
                None => FromWorker::Error(format!(
                    "failed to evaluate {}: this worker has no such kind",
                    request.kind
                )),
                Some((kind, handler)) => {
                    let mut callback = |question: Value| ask(&mut input, &mut output, question);
                    match catch_unwind(AssertUnwindSafe(|| handler(request.input, &mut callback))) {
                        Ok(Ok(value)) => FromWorker::Result(value),
                        Ok(Err(message)) => FromWorker::Error(message),
                        Err(_) => {
                            FromWorker::Error(format!("failed to evaluate {kind}: it panicked"))
                        }
                    }
                }
            },
        };
        output.write_all(to_line(&answer).as_bytes())?;
        output.flush()?;
    }
}

/// Exits when this process is given another parent (its own died). Unix has no signal for
/// it short of `prctl(PR_SET_PDEATHSIG)` in `pre_exec`, which needs `unsafe`.
fn watch_parent() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id();
        std::thread::Builder::new()
            .name("sandbox-watchdog".into())
            .stack_size(64 << 10)
            .spawn(move || {
                loop {
                    std::thread::sleep(PARENT_CHECK);
                    if std::os::unix::process::parent_id() != parent {
                        std::process::exit(3);
                    }
                }
            })?;
    }
    Ok(())
}

/// Sends a callback line and reads the parent's reply.
fn ask(
    input: &mut impl BufRead,
    output: &mut impl Write,
    question: Value,
) -> Result<Value, String> {
    let talk = |e: std::io::Error| format!("failed to call back to the parent: {e}");
    output
        .write_all(to_line(&FromWorker::Callback(question)).as_bytes())
        .and_then(|()| output.flush())
        .map_err(talk)?;
    let mut line = String::new();
    if input.read_line(&mut line).map_err(talk)? == 0 {
        return Err("failed to call back to the parent: it closed the channel".into());
    }
    match serde_json::from_str::<FromParent>(&line) {
        Ok(FromParent::Reply(value)) => Ok(value),
        Ok(FromParent::ReplyError(message)) => Err(message),
        Err(e) => Err(format!("failed to parse the parent's reply: {e}")),
    }
}
