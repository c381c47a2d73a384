//! The sandbox against a real worker process (the crate's `sandbox-test-worker`):
//! answers, callbacks, deadlines, the memory limit and concurrent use.

use driftless_sandbox::{Limits, Sandbox, SandboxError};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn sandbox(limits: Limits) -> Sandbox {
    Sandbox::new(
        env!("CARGO_BIN_EXE_sandbox-test-worker"),
        Vec::<String>::new(),
        limits,
    )
}

fn no_callback(question: Value) -> Result<Value, String> {
    Err(format!("unexpected callback {question}"))
}

#[test]
fn a_request_round_trips_and_errors_come_back_as_failed() {
    let sandbox = sandbox(Limits::default());
    let input = json!({"a": [1, "two", null, {"b": 3.5}]});
    let out = sandbox.evaluate("echo", input.clone(), &mut no_callback);
    assert_eq!(out, Ok(input));
    let err = sandbox.evaluate("fail", json!(7), &mut no_callback);
    assert_eq!(
        err,
        Err(SandboxError::Failed("failed to do anything with 7".into()))
    );
    let err = sandbox.evaluate("nosuchkind", json!(null), &mut no_callback);
    assert!(matches!(err, Err(SandboxError::Failed(m)) if m.contains("no such kind")));
}

#[test]
fn callbacks_are_answered_by_the_parent() {
    let sandbox = sandbox(Limits::default());
    let mut asked = Vec::new();
    let mut answer = |question: Value| {
        asked.push(question.clone());
        if asked.len() == 1 {
            Ok(json!("first"))
        } else {
            Ok(json!({"second": question}))
        }
    };
    let out = sandbox.evaluate("callback_twice", json!("q"), &mut answer);
    assert_eq!(out, Ok(json!(["first", {"second": {"after": "first"}}])));
    assert_eq!(asked, [json!("q"), json!({"after": "first"})]);
    // An error reply reaches the handler, which gives it back as its own error.
    let out = sandbox.evaluate("callback_twice", json!("q"), &mut |_| {
        Err("failed to read x".to_string())
    });
    assert_eq!(out, Err(SandboxError::Failed("failed to read x".into())));
}

#[test]
fn a_never_ending_evaluation_is_killed_at_its_deadline_and_the_next_call_works() {
    let limits = Limits::default().with_deadline("sleep_forever", Duration::from_millis(300));
    let sandbox = sandbox(limits);
    let started = Instant::now();
    let err = sandbox.evaluate("sleep_forever", json!(null), &mut no_callback);
    let took = started.elapsed();
    assert!(
        matches!(&err, Err(SandboxError::Deadline { kind, seconds }) if kind == "sleep_forever" && *seconds == 0.3),
        "{err:?}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(
        err.map_err(|e| e.to_string()),
        Err("failed to evaluate sleep_forever: it did not finish within 0.3s".into())
    );
    assert_eq!(
        sandbox.evaluate("echo", json!(1), &mut no_callback),
        Ok(json!(1))
    );
}

#[test]
fn an_allocation_runaway_ends_under_the_memory_limit() {
    let limits = Limits::default()
        .with_memory_bytes(Some(256 << 20))
        .with_deadline("allocate_forever", Duration::from_secs(60));
    let sandbox = sandbox(limits);
    let err = sandbox.evaluate("allocate_forever", json!(null), &mut no_callback);
    let Err(SandboxError::Ended {
        kind, memory_mib, ..
    }) = &err
    else {
        panic!("expected Ended, got {err:?}");
    };
    assert_eq!((kind.as_str(), *memory_mib), ("allocate_forever", 256));
    let message = err.map_err(|e| e.to_string()).err().unwrap_or_default();
    assert!(message.contains("memory"), "{message}");
    assert!(message.contains("256 MiB"), "{message}");
    // The worker's own last words (Rust's allocation failure) are in the message, once.
    assert!(
        message.contains("memory allocation of") && message.contains("bytes failed"),
        "{message}"
    );
    assert!(!message.contains("RUST_BACKTRACE"), "{message}");
    assert_eq!(
        sandbox.evaluate("echo", json!("still here"), &mut no_callback),
        Ok(json!("still here"))
    );
}

#[test]
fn concurrent_calls_get_their_own_answers() {
    let sandbox = sandbox(Limits::default());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let sandbox = &sandbox;
                scope.spawn(move || {
                    for j in 0..20 {
                        let input = json!({"thread": i, "call": j});
                        let mut answer = |q: Value| Ok(json!({"thread": i, "echo": q}));
                        let out = if j % 2 == 0 {
                            sandbox.evaluate("echo", input.clone(), &mut answer)
                        } else {
                            sandbox
                                .evaluate("callback_twice", input.clone(), &mut answer)
                                .map(|v| v[0]["echo"].clone())
                        };
                        assert_eq!(out, Ok(input));
                    }
                })
            })
            .collect();
        for handle in handles {
            assert!(handle.join().is_ok());
        }
    });
}

#[test]
fn an_idle_worker_killed_from_outside_is_replaced_not_an_error() {
    let sandbox = sandbox(Limits::default());
    let first = sandbox.evaluate("pid", json!(null), &mut no_callback);
    let Ok(Value::Number(pid)) = first else {
        panic!("expected a pid, got {first:?}");
    };
    let pid = pid.as_i64().and_then(|p| i32::try_from(p).ok());
    let pid = pid.and_then(rustix::process::Pid::from_raw).expect("a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("kill");
    std::thread::sleep(Duration::from_millis(100));
    let second = sandbox.evaluate("pid", json!(null), &mut no_callback);
    assert!(
        matches!(&second, Ok(Value::Number(n)) if n.as_i64() != Some(i64::from(pid.as_raw_nonzero().get()))),
        "{second:?}"
    );
}

/// Whether `pid` is gone: no such process, or a zombie its new parent has not reaped yet.
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_worker_whose_parent_died_ends_even_in_the_middle_of_an_evaluation() {
    // The shell starts a worker busy in `sleep_forever`, whose stdin stays open (so end of
    // input does not end it), prints its pid and exits once the worker has started: the
    // worker is an orphan. Its stdout is not ours, so a worker that lives on fails the
    // deadline below instead of hanging the test.
    let script = r#"(echo '{"kind":"sleep_forever","input":null}'; sleep 8) | "$0" >/dev/null & echo $!; sleep 0.5"#;
    let out = std::process::Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_sandbox-test-worker")])
        .stderr(std::process::Stdio::null())
        .output()
        .expect("sh");
    let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!pid.is_empty(), "{out:?}");
    let started = Instant::now();
    while !gone(&pid) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the orphaned worker {pid} still runs"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
