//! A plan printed as a table grouped by phase and wave, as `driftless sync --dry-run` shows it.

use crate::step::{Action, Phase, Plan, PlanKind, Step, WaveId};
use std::fmt;

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            PlanKind::Sync => "Sync plan",
            PlanKind::Deletion => "Deletion plan",
        };
        let dry_run = if self.dry_run { " (dry run)" } else { "" };
        writeln!(f, "{what} for app {}{dry_run}", self.app_name)?;
        if self.steps.is_empty() {
            writeln!(f, "  nothing to do")?;
        }
        let rows: Vec<[String; 4]> = self.steps.iter().map(row).collect();
        let width = |i: usize| rows.iter().map(|r| r[i].len()).max().unwrap_or(0);
        let widths = [width(0), width(1), width(2)];
        let mut current: Option<WaveId> = None;
        for (step, row) in self.steps.iter().zip(&rows) {
            if current != Some(step.wave_id()) {
                current = Some(step.wave_id());
                let note = if step.phase == Phase::SyncFail {
                    " (only if the sync fails)"
                } else {
                    ""
                };
                writeln!(f, "{} wave {}{note}", step.phase, step.wave)?;
            }
            let line = format!(
                "  {:w0$}  {:w1$}  {:w2$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            );
            writeln!(f, "{}", line.trim_end())?;
        }
        if !self.ignored.is_empty() {
            writeln!(f, "Ignored:")?;
            for ignored in &self.ignored {
                writeln!(f, "  {}: {}", ignored.key, ignored.reason)?;
            }
        }
        if !self.warnings.is_empty() {
            writeln!(f, "Warnings:")?;
            for warning in &self.warnings {
                writeln!(f, "  {warning}")?;
            }
        }
        Ok(())
    }
}

/// Action, kind, object, notes.
fn row(step: &Step) -> [String; 4] {
    let kind = if step.key.group.is_empty() {
        step.key.kind.clone()
    } else {
        format!("{}/{}", step.key.group, step.key.kind)
    };
    let object = if step.key.namespace.is_empty() {
        step.key.name.clone()
    } else {
        format!("{}/{}", step.key.namespace, step.key.name)
    };
    let mut notes = step.option_notes();
    match &step.action {
        Action::Hook {
            delete_policies,
            existing,
        } => {
            notes.push(format!(
                "delete: {}",
                delete_policies
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ));
            if *existing {
                notes.push("exists".into());
            }
        }
        Action::PruneSkipped { reason } | Action::DeleteSkipped { reason } => {
            notes.push(reason.message().into())
        }
        _ => {}
    }
    [
        step.action.name().to_string(),
        kind,
        object,
        notes.join(", "),
    ]
}
