//! One child process: executions `from..to` of one target, reporting on stdout, one line each:
//! `progress N` (N executions done), `panic I FILE MESSAGE`, `hang I FILE`, `at I` (with
//! `--save-inputs`) and finally `done EXECS MILLIS SLOWEST_MICROS SLOWEST_INDEX`.

use crate::args::Args;
use crate::rng::{self, one_in, pick};
use crate::targets::Target;
use crate::{FuzzError, trap};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often progress is reported; a crash is then found by replaying at most this many.
pub const PROGRESS_EVERY: u64 = 1_000;
/// Inputs saved per distinct panic location (the count goes on).
const SAVED_PER_LOCATION: usize = 3;
/// The exit code of a child stopped by its watchdog.
pub const HANG_EXIT: i32 = 3;

/// The input of execution `index`: generated, a generated input mutated, or a seed mutated.
pub fn input_for(target: &Target, seeds: &[Vec<u8>], seed: u64, index: u64) -> Vec<u8> {
    let mut rng = rng::for_execution(seed, target.name, index);
    let choice = if seeds.is_empty() {
        0
    } else {
        rand::Rng::random_range(&mut rng, 0..8)
    };
    let base = match choice {
        0 => return (target.generate)(&mut rng),
        1 => (target.generate)(&mut rng),
        _ => pick(&mut rng, seeds).clone(),
    };
    let others: Vec<&[u8]> = (0..3)
        .filter(|_| !seeds.is_empty())
        .map(|_| pick(&mut rng, seeds).as_slice())
        .collect();
    let mut out = (target.mutate)(&mut rng, &base, &others);
    while one_in(&mut rng, 3) {
        out = (target.mutate)(&mut rng, &out, &others);
    }
    out
}

/// What the watchdog sees of the execution under way.
#[derive(Default)]
struct Armed {
    index: u64,
    input: Arc<Vec<u8>>,
    since: Option<Instant>,
}

/// `name(index)` is where the input of a hung execution is saved.
fn start_watchdog(
    armed: Arc<Mutex<Armed>>,
    timeout: Duration,
    name: impl Fn(u64) -> PathBuf + Send + 'static,
) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let state = armed.lock().unwrap_or_else(PoisonError::into_inner);
            if state.since.is_some_and(|s| s.elapsed() > timeout) {
                let path = name(state.index);
                let saved = std::fs::write(&path, state.input.as_slice()).is_ok();
                let shown = if saved {
                    path.display().to_string()
                } else {
                    "-".into()
                };
                println!("hang {} {shown}", state.index);
                let _ = std::io::stdout().flush();
                std::process::exit(HANG_EXIT);
            }
        }
    });
}

fn artifact(args: &Args, kind: &str, target: &str, index: u64) -> Result<PathBuf, FuzzError> {
    let dir = args.artifacts.join(target);
    std::fs::create_dir_all(&dir).map_err(|e| FuzzError::Io(dir.display().to_string(), e))?;
    Ok(dir.join(format!("{kind}-s{}-{index}.in", args.seed)))
}

/// The stack of the thread the executions run on: tokio's default for its workers and
/// blocking pool, where the controller parses, diffs and runs health checks.
pub const STACK_BYTES: usize = 2 * 1024 * 1024;

pub fn run(args: &Args, target: &'static Target) -> Result<(), FuzzError> {
    let args = args.clone();
    std::thread::Builder::new()
        .name(format!("fuzz-{}", target.name))
        .stack_size(STACK_BYTES)
        .spawn(move || run_on_this_thread(&args, target))
        .map_err(|e| FuzzError::Io("a fuzzing thread".into(), e))?
        .join()
        .unwrap_or(Err(FuzzError::Thread))
}

fn run_on_this_thread(args: &Args, target: &'static Target) -> Result<(), FuzzError> {
    trap::install();
    let seeds = (target.seeds)();
    let to = args.to.unwrap_or(args.runs);
    let armed = Arc::new(Mutex::new(Armed::default()));
    artifact(args, "hang", target.name, 0)?; // creates the folder
    let (dir, seed) = (args.artifacts.join(target.name), args.seed);
    start_watchdog(armed.clone(), args.timeout, move |index| {
        dir.join(format!("hang-s{seed}-{index}.in"))
    });
    let mut per_location: BTreeMap<String, usize> = BTreeMap::new();
    let (mut slowest, mut slowest_index) = (Duration::ZERO, args.from);
    let started = Instant::now();
    let mut out = std::io::stdout();
    for index in args.from..to {
        let input = Arc::new(input_for(target, &seeds, args.seed, index));
        if let Some(path) = &args.save_inputs {
            save(path, &input)?;
            writeln!(out, "at {index}")
                .and_then(|()| out.flush())
                .map_err(FuzzError::Stdout)?;
        }
        {
            let mut state = armed.lock().unwrap_or_else(PoisonError::into_inner);
            (state.index, state.input, state.since) = (index, input.clone(), Some(Instant::now()));
        }
        let t = Instant::now();
        let panicked = trap::run(|| (target.run)(&input));
        let took = t.elapsed();
        armed.lock().unwrap_or_else(PoisonError::into_inner).since = None;
        // The first execution pays for lazy set-up (function maps, compiled regexes).
        if took > slowest && index > args.from {
            (slowest, slowest_index) = (took, index);
        }
        if let Some(message) = panicked {
            let seen = per_location
                .entry(trap::location(&message).to_string())
                .or_default();
            *seen += 1;
            let shown = if *seen <= SAVED_PER_LOCATION {
                let path = artifact(args, "panic", target.name, index)?;
                save(&path, &input)?;
                path.display().to_string()
            } else {
                "-".into()
            };
            let message = message.replace('\n', " ");
            writeln!(out, "panic {index} {shown} {message}").map_err(FuzzError::Stdout)?;
        }
        if (index + 1) % PROGRESS_EVERY == 0 {
            writeln!(out, "progress {}", index + 1)
                .and_then(|()| out.flush())
                .map_err(FuzzError::Stdout)?;
        }
    }
    writeln!(
        out,
        "done {} {} {} {slowest_index}",
        to.saturating_sub(args.from),
        started.elapsed().as_millis(),
        slowest.as_micros()
    )
    .and_then(|()| out.flush())
    .map_err(FuzzError::Stdout)
}

fn save(path: &Path, input: &[u8]) -> Result<(), FuzzError> {
    std::fs::write(path, input).map_err(|e| FuzzError::Io(path.display().to_string(), e))
}

/// Runs one saved input in this process; prints what happened.
pub fn replay(target: &'static Target, file: &Path) -> Result<bool, FuzzError> {
    trap::install();
    let input = std::fs::read(file).map_err(|e| FuzzError::Io(file.display().to_string(), e))?;
    let t = Instant::now();
    let on_thread = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(move || trap::run(|| (target.run)(&input)))
        .map_err(|e| FuzzError::Io("a fuzzing thread".into(), e))?
        .join();
    match on_thread.map_err(|_| FuzzError::Thread)? {
        Some(message) => {
            println!("{}: PANIC after {:?}: {message}", target.name, t.elapsed());
            Ok(false)
        }
        None => {
            println!("{}: no panic ({:?})", target.name, t.elapsed());
            Ok(true)
        }
    }
}
