//! Which controller replica owns an app when `--shards N` run side by side (pure): a stable
//! hash of `namespace/name`, so every replica agrees without talking to the others.

use sha2::{Digest, Sha256};

/// This replica's share of the apps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Self { index: 0, count: 1 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error(
        "failed to use shard {index} of {count}: the shard must be below the number of shards (at least 1)"
    )]
    OutOfRange { index: u32, count: u32 },
}

impl Shard {
    pub fn new(index: u32, count: u32) -> Result<Self, ShardError> {
        if count == 0 || index >= count {
            return Err(ShardError::OutOfRange { index, count });
        }
        Ok(Self { index, count })
    }

    pub fn owns(&self, namespace: &str, name: &str) -> bool {
        shard_of(namespace, name, self.count) == self.index
    }
}

/// The shard (0..count) of an app.
pub fn shard_of(namespace: &str, name: &str, count: u32) -> u32 {
    if count <= 1 {
        return 0;
    }
    let hash = Sha256::digest(format!("{namespace}/{name}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    (u64::from_be_bytes(first) % u64::from(count)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_app_has_exactly_one_owner() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard::new(i, 3).unwrap()).collect();
        for n in 0..200 {
            let name = format!("app-{n}");
            assert_eq!(
                shards.iter().filter(|s| s.owns("argocd", &name)).count(),
                1,
                "{name}"
            );
        }
    }

    #[test]
    fn apps_spread_over_the_shards_and_stay_put() {
        let counts = (0..300).fold([0u32; 3], |mut acc, n| {
            acc[shard_of("argocd", &format!("app-{n}"), 3) as usize] += 1;
            acc
        });
        assert!(counts.iter().all(|c| *c > 60), "uneven spread {counts:?}");
        assert_eq!(
            shard_of("argocd", "guestbook", 3),
            shard_of("argocd", "guestbook", 3)
        );
        assert_eq!(shard_of("argocd", "guestbook", 1), 0);
    }

    #[test]
    fn out_of_range_shards_are_refused() {
        assert!(Shard::new(3, 3).is_err());
        assert!(Shard::new(0, 0).is_err());
        assert!(Shard::new(0, 1).unwrap().owns("x", "y"));
    }
}
