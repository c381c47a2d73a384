//! Putting steps in execution order: phase, then wave, then (inside a wave) removals
//! before applies, then kind, then name. Removals run in reverse: their waves are mirrored
//! (what was created first is deleted last) and kinds inside a wave go in reverse install
//! order. Namespaces and CRDs are moved up to the first wave that needs them.

use crate::kinds::install_rank;
use crate::objects::crd_defines;
use crate::step::{Phase, Step};
use std::cmp::Reverse;
use std::collections::BTreeSet;

/// Mirrors the waves of removal steps among themselves, as Argo CD does: with removal
/// waves `-1, 0, 5`, objects of wave 5 go in wave -1 and objects of wave -1 in wave 5.
pub fn mirror_removal_waves(steps: &mut [Step]) {
    let waves: Vec<i32> = steps
        .iter()
        .filter(|s| is_removal_like(s))
        .map(|s| s.wave)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for step in steps.iter_mut().filter(|s| is_removal_like(s)) {
        if let Ok(position) = waves.binary_search(&step.wave)
            && let Some(mirrored) = waves.get(waves.len() - 1 - position)
        {
            step.wave = *mirrored;
        }
    }
}

/// The implicit wave after every wave of `phase` (never below 1), where `PruneLast`
/// removals go.
pub fn wave_after_last(steps: &[Step], phase: Phase) -> i32 {
    let last = steps
        .iter()
        .filter(|s| s.phase == phase)
        .map(|s| s.wave)
        .max()
        .unwrap_or(0);
    last.max(0).saturating_add(1)
}

/// Moves a Namespace to the earliest phase and wave of an object in it, and a CRD to the
/// earliest phase and wave of a custom resource of its kind, so neither is created after
/// what needs it. Hooks and removals are neither moved nor counted.
pub fn pull_dependencies_forward(steps: &mut [Step]) {
    let targets: Vec<usize> = (0..steps.len())
        .filter(|&i| !is_removal_like(&steps[i]))
        .collect();
    for &i in &targets {
        let Some(dependency) = Dependency::of(&steps[i]) else {
            continue;
        };
        let earliest = targets
            .iter()
            .filter(|&&j| j != i && dependency.is_needed_by(&steps[j]))
            .map(|&j| (steps[j].phase, steps[j].wave))
            .min();
        if let Some((phase, wave)) = earliest
            && (phase, wave) < (steps[i].phase, steps[i].wave)
        {
            steps[i].phase = phase;
            steps[i].wave = wave;
        }
    }
}

/// Something other objects cannot be created without.
enum Dependency {
    Namespace(String),
    /// A CRD, by the group and kind it defines.
    Crd(String, String),
}

impl Dependency {
    fn of(step: &Step) -> Option<Self> {
        if step.action.is_hook() {
            return None;
        }
        if step.key.group.is_empty() && step.key.kind == "Namespace" {
            return Some(Self::Namespace(step.key.name.clone()));
        }
        let (group, kind) = step.object.as_ref().and_then(crd_defines)?;
        Some(Self::Crd(group, kind))
    }

    fn is_needed_by(&self, step: &Step) -> bool {
        match self {
            Self::Namespace(name) => step.key.namespace == *name,
            Self::Crd(group, kind) => step.key.group == *group && step.key.kind == *kind,
        }
    }
}

/// Sorts into execution order; ties end on namespace, group and kind so the order is total.
pub fn sort(steps: &mut [Step]) {
    steps.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
}

type SortKey<'a> = (
    Phase,
    i32,
    bool,
    Reverse<usize>,
    usize,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
);

fn sort_key(step: &Step) -> SortKey<'_> {
    let removal = is_removal_like(step);
    let rank = install_rank(&step.key.kind);
    // Removals first in their wave, in reverse install order; everything else in install order.
    let (reverse_rank, forward_rank) = if removal {
        (Reverse(rank), 0)
    } else {
        (Reverse(0), rank)
    };
    (
        step.phase,
        step.wave,
        !removal,
        reverse_rank,
        forward_rank,
        &step.key.name,
        &step.key.namespace,
        &step.key.group,
        &step.key.kind,
    )
}

fn is_removal_like(step: &Step) -> bool {
    step.action.is_removal() || step.action.is_kept_removal()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ApplyOptions;
    use crate::step::Action;
    use driftless_model::ResourceKey;

    fn step(kind: &str, name: &str, wave: i32, action: Action) -> Step {
        Step {
            phase: Phase::Sync,
            wave,
            key: ResourceKey::new("", kind, "ns", name),
            action,
            object: None,
            options: ApplyOptions::default(),
        }
    }

    #[test]
    fn removal_waves_are_mirrored() {
        let mut steps = vec![
            step("ConfigMap", "a", -1, Action::Prune),
            step("ConfigMap", "b", 0, Action::Prune),
            step("ConfigMap", "c", 5, Action::Prune),
            step("ConfigMap", "d", 3, Action::Create),
        ];
        mirror_removal_waves(&mut steps);
        let waves: Vec<i32> = steps.iter().map(|s| s.wave).collect();
        assert_eq!(waves, [5, 0, -1, 3]);
    }

    #[test]
    fn removals_come_first_in_reverse_kind_order() {
        let mut steps = vec![
            step("Deployment", "web", 0, Action::Create),
            step("ConfigMap", "old", 0, Action::Prune),
            step("Service", "web", 0, Action::Create),
            step("Deployment", "old", 0, Action::Prune),
        ];
        sort(&mut steps);
        let order: Vec<String> = steps
            .iter()
            .map(|s| format!("{} {}", s.action.name(), s.key.kind))
            .collect();
        assert_eq!(
            order,
            [
                "prune Deployment",
                "prune ConfigMap",
                "create Service",
                "create Deployment"
            ]
        );
    }

    #[test]
    fn wave_after_last_is_at_least_one() {
        assert_eq!(
            wave_after_last(&[step("ConfigMap", "a", -4, Action::Create)], Phase::Sync),
            1
        );
        assert_eq!(
            wave_after_last(&[step("ConfigMap", "a", 7, Action::Create)], Phase::Sync),
            8
        );
        assert_eq!(wave_after_last(&[], Phase::Sync), 1);
    }
}
