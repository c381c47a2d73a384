//! Rules that catch volatile fields, insecure workloads and broken routing before sync (pure)
