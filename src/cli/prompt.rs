//! Questions on the terminal: a line, a password (not echoed), a yes/no confirmation. Asked
//! on stderr, answered on stdin.

use super::app_source::CommandError;
use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
use std::io::{BufRead, IsTerminal, Write};

/// Whether a person can answer: stdin is a terminal.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

fn ask(question: &str) -> Result<(), CommandError> {
    let mut err = std::io::stderr();
    write!(err, "{question}")
        .and_then(|()| err.flush())
        .map_err(|e| CommandError::Failed(format!("failed to ask on the terminal: {e}")))
}

/// One line from stdin, without its line end (`None` at end of input).
pub fn read_line() -> Result<Option<String>, CommandError> {
    let mut line = String::new();
    let read = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CommandError::Failed(format!("failed to read stdin: {e}")))?;
    if read == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\n', '\r']).to_string()))
}

pub fn line(question: &str) -> Result<String, CommandError> {
    ask(question)?;
    Ok(read_line()?.unwrap_or_default())
}

/// Asks for a password with the terminal's echo off (restored, whatever happens).
pub fn password(question: &str) -> Result<String, CommandError> {
    ask(question)?;
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin)
        .map_err(|e| CommandError::Failed(format!("failed to read the terminal settings: {e}")))?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(&stdin, OptionalActions::Now, &quiet)
        .map_err(|e| CommandError::Failed(format!("failed to turn the terminal echo off: {e}")))?;
    let answer = read_line();
    let restored = tcsetattr(&stdin, OptionalActions::Now, &saved);
    eprintln!();
    restored
        .map_err(|e| CommandError::Failed(format!("failed to restore the terminal echo: {e}")))?;
    Ok(answer?.unwrap_or_default())
}

/// A yes/no question; only "y" or "yes" is yes.
pub fn confirm(question: &str) -> Result<bool, CommandError> {
    let answer = line(&format!("{question} [y/N] "))?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}
