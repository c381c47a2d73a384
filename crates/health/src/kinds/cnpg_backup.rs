//! postgresql.cnpg.io Backup and ScheduledBackup (CloudNativePG), from the documented status
//! (our own reading, not Argo CD's scripts).
//!
//! A Backup's `status.phase` goes pending → started → running (→ finalizing for volume
//! snapshots) → completed or failed, with the cause in `status.error`. walArchivingFailing
//! holds an online backup back because WAL archiving does not work; "invalid backup
//! definition" is the admission check's verdict. The convention would call "running"
//! Healthy and not know "completed".
//!
//! A ScheduledBackup's status only says when it last checked and scheduled
//! (`lastScheduleTime`, `nextScheduleTime`) and any admission error (`status.error`); how the
//! Backups it creates end is on them. `spec.suspend: true` is Healthy, as Argo CD reports a
//! suspended CronJob (see `cronjob`): pausing a schedule is intended, and Suspended would hold
//! the whole app in Suspended. No status, or no phase, gives no health.

use crate::HealthStatus;
use crate::fields::{bool_at, has_status, str_at, text};
use serde_json::Value;

pub fn backup(obj: &Value) -> Option<HealthStatus> {
    let error = text(obj, &["status", "error"]);
    let failure =
        |fallback: &str| HealthStatus::degraded(if error.is_empty() { fallback } else { error });
    Some(match str_at(obj, &["status", "phase"])? {
        "completed" => HealthStatus::healthy(match str_at(obj, &["status", "stoppedAt"]) {
            Some(stopped) => format!("Backup completed at {stopped}"),
            None => "Backup completed".to_string(),
        }),
        "failed" => failure("Backup failed"),
        "walArchivingFailing" => failure("Backup cannot start: WAL archiving is not working"),
        "invalid backup definition" => failure("Invalid backup definition"),
        "" => return None,
        // pending, started, running, finalizing.
        phase => HealthStatus::progressing(format!("Backup is {phase}")),
    })
}

pub fn scheduled_backup(obj: &Value) -> Option<HealthStatus> {
    if !has_status(obj) {
        return None;
    }
    let error = text(obj, &["status", "error"]);
    if !error.is_empty() {
        return Some(HealthStatus::degraded(error));
    }
    if bool_at(obj, &["spec", "suspend"]) {
        return Some(HealthStatus::healthy("ScheduledBackup is suspended"));
    }
    let next = str_at(obj, &["status", "nextScheduleTime"]);
    Some(HealthStatus::healthy(
        match (str_at(obj, &["status", "lastScheduleTime"]), next) {
            (Some(last), Some(next)) => {
                format!("Last backup scheduled at {last}, next at {next}")
            }
            (Some(last), None) => format!("Last backup scheduled at {last}"),
            (None, Some(next)) => format!("First backup scheduled at {next}"),
            (None, None) => "ScheduledBackup has not scheduled a backup yet".to_string(),
        },
    ))
}
