//! Normalize, ignoreDifferences, Secret masking and diffs of desired vs live objects (pure)
