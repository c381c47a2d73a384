//! One way to take a lock: a panic elsewhere never poisons the controller for good.

use std::sync::{Mutex, MutexGuard};

/// The guard of `m`, also after a panic while it was held (the data stays usable).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
