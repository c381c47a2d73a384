//! The PRNG: one generator per execution, seeded from (seed, target, execution index), so any
//! single input can be made again from those three numbers without replaying the others.

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng};

pub type Rng = StdRng;

/// The generator for execution `index` of `target` under `seed`.
pub fn for_execution(seed: u64, target: &str, index: u64) -> Rng {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in target.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    Rng::seed_from_u64(splitmix(seed ^ splitmix(h ^ splitmix(index))))
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// One item of a slice that must not be empty (every caller passes a constant list).
pub fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// True with probability `1 / n`.
pub fn one_in(rng: &mut Rng, n: u32) -> bool {
    rng.random_range(0..n.max(1)) == 0
}

/// A small count in `0..=max`, skewed towards small values.
pub fn small(rng: &mut Rng, max: usize) -> usize {
    let a = rng.random_range(0..=max);
    let b = rng.random_range(0..=max);
    a.min(b)
}
