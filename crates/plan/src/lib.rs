//! Sync plan: pair desired with live, order by phase, wave, kind and name; hooks and prune set (pure)
