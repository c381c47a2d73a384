//! Which shard Leases a controller replica claims or gives back (pure), when replicas share
//! the apps through `S` shard Leases (apps hashed to shards by [`crate::shard::shard_of`])
//! instead of a fixed `--shard` index. Each replica renews a membership Lease of its own; the
//! live members split the shards evenly (at most ceil(S / members) each): a replica that holds
//! more than its share gives the surplus back, and one below its share claims shards whose
//! Lease is free or expired, never one another replica still holds.

/// A replica's membership Lease as last read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub identity: String,
    /// Last renewal, in seconds since the epoch.
    pub renewed: i64,
    pub duration_secs: i64,
}

/// One shard's Lease as last read (a shard with no Lease yet is free).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardLease {
    pub shard: u32,
    pub holder: Option<String>,
    pub renewed: Option<i64>,
    pub duration_secs: i64,
}

/// What this replica does with the shard Leases now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardMoves {
    pub claim: Vec<u32>,
    pub release: Vec<u32>,
}

fn alive(renewed: i64, duration_secs: i64, now: i64) -> bool {
    renewed + duration_secs.max(1) >= now
}

/// How many shards `me` should hold: `shards` split over the live members (with `me` always
/// among them), the remainder going to the first identities in order.
pub fn share_of(members: &[Member], shards: u32, me: &str, now: i64) -> u32 {
    let mut live: Vec<&str> = members
        .iter()
        .filter(|m| alive(m.renewed, m.duration_secs, now))
        .map(|m| m.identity.as_str())
        .collect();
    live.push(me);
    live.sort_unstable();
    live.dedup();
    let count = u32::try_from(live.len()).unwrap_or(u32::MAX);
    let rank = live.iter().position(|m| *m == me).unwrap_or_default();
    let rank = u32::try_from(rank).unwrap_or(u32::MAX);
    shards / count + u32::from(rank < shards % count)
}

/// The shards `me` claims (free or expired ones, lowest first, up to its share) and releases
/// (its surplus over its share, highest first) among `shards` shards.
pub fn shard_moves(
    members: &[Member],
    leases: &[ShardLease],
    shards: u32,
    me: &str,
    now: i64,
) -> ShardMoves {
    let share = share_of(members, shards, me, now) as usize;
    let lease_of = |shard: u32| leases.iter().find(|l| l.shard == shard);
    let mut held = Vec::new();
    let mut free = Vec::new();
    for shard in 0..shards {
        match lease_of(shard) {
            Some(lease) if lease.holder.as_deref() == Some(me) => held.push(shard),
            Some(ShardLease {
                holder: Some(holder),
                renewed: Some(renewed),
                duration_secs,
                ..
            }) if !holder.is_empty() && alive(*renewed, *duration_secs, now) => {}
            _ => free.push(shard),
        }
    }
    let mut moves = ShardMoves::default();
    if held.len() > share {
        moves.release = held.split_off(share);
        moves.release.reverse();
    } else {
        moves.claim = free.into_iter().take(share - held.len()).collect();
    }
    moves
}

/// The label every Lease of this scheme carries, so that members and shards are listed with
/// a label selector; its value is [`MEMBER`] or [`SHARD`].
pub const LEASE_LABEL: &str = "driftless.dev/lease";
pub const MEMBER: &str = "member";
pub const SHARD: &str = "shard";

/// The name of shard `shard`'s Lease.
pub fn shard_lease_name(shard: u32) -> String {
    format!("driftless-shard-{shard}")
}

/// The shard a Lease named by [`shard_lease_name`] stands for, if it is one of the `shards`.
pub fn shard_of_lease(name: &str, shards: u32) -> Option<u32> {
    let index = name.strip_prefix("driftless-shard-")?;
    if index.len() > 1 && index.starts_with('0') {
        return None;
    }
    index.parse().ok().filter(|shard| *shard < shards)
}

/// The name of the membership Lease of replica `identity`: an object name (lowercase letters,
/// digits, `-` and `.`, at most 253 characters) whatever the identity is made of.
pub fn member_lease_name(identity: &str) -> String {
    let cleaned: String = identity
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '.') => c,
            _ => '-',
        })
        .collect();
    let mut name = format!("driftless-member-{}", cleaned.trim_matches(['-', '.']));
    name.truncate(253);
    name.trim_end_matches(['-', '.']).to_string()
}

/// Whether a membership Lease has gone unrenewed so long (ten of its durations) that its
/// replica is surely gone and the Lease may be deleted.
pub fn member_forgotten(member: &Member, now: i64) -> bool {
    member.renewed + member.duration_secs.max(1) * 10 < now
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(identity: &str, renewed: i64) -> Member {
        Member {
            identity: identity.into(),
            renewed,
            duration_secs: 10,
        }
    }

    fn held(shard: u32, holder: &str, renewed: i64) -> ShardLease {
        ShardLease {
            shard,
            holder: Some(holder.into()),
            renewed: Some(renewed),
            duration_secs: 10,
        }
    }

    #[test]
    fn a_lone_replica_claims_every_shard() {
        let moves = shard_moves(&[], &[], 4, "a", 100);
        assert_eq!(moves.claim, [0, 1, 2, 3]);
        assert!(moves.release.is_empty());
    }

    #[test]
    fn live_members_split_the_shards_with_at_most_the_ceiling_each() {
        let members = [member("a", 100), member("b", 100), member("c", 100)];
        let shares: Vec<u32> = ["a", "b", "c"]
            .iter()
            .map(|me| share_of(&members, 8, me, 100))
            .collect();
        assert_eq!(shares, [3, 3, 2]);
        assert_eq!(shares.iter().sum::<u32>(), 8);
    }

    #[test]
    fn a_shard_another_replica_still_holds_is_never_claimed() {
        let members = [member("a", 100), member("b", 100)];
        let leases = [held(0, "b", 99), held(1, "b", 99), held(2, "b", 99)];
        let moves = shard_moves(&members, &leases, 4, "a", 100);
        assert_eq!(
            moves.claim,
            [3],
            "only the free shard, though a's share is 2"
        );
    }

    #[test]
    fn a_replica_gives_back_its_surplus_when_another_joins() {
        let members = [member("a", 100), member("b", 100)];
        let leases: Vec<ShardLease> = (0..4).map(|s| held(s, "a", 100)).collect();
        let moves = shard_moves(&members, &leases, 4, "a", 100);
        assert_eq!(moves.release, [3, 2]);
        assert!(moves.claim.is_empty());
        let released: Vec<ShardLease> = leases.into_iter().take(2).collect();
        assert_eq!(shard_moves(&members, &released, 4, "b", 100).claim, [2, 3]);
    }

    #[test]
    fn the_shards_of_a_dead_replica_are_claimed_once_their_leases_expire() {
        let members = [member("a", 100), member("dead", 80)];
        let leases = [held(0, "a", 100), held(1, "dead", 80), held(2, "dead", 95)];
        let moves = shard_moves(&members, &leases, 3, "a", 100);
        // The dead member no longer counts: a's share is all 3; shard 2's lease is still valid.
        assert_eq!(moves.claim, [1]);
        let later = shard_moves(&members, &leases, 3, "a", 106);
        assert_eq!(later.claim, [1, 2]);
    }

    #[test]
    fn a_released_shard_lease_is_free_at_once() {
        let released = ShardLease {
            shard: 0,
            holder: None,
            renewed: Some(100),
            duration_secs: 10,
        };
        assert_eq!(shard_moves(&[], &[released], 1, "a", 100).claim, [0]);
    }

    #[test]
    fn lease_names_are_object_names_and_read_back() {
        assert_eq!(shard_lease_name(3), "driftless-shard-3");
        assert_eq!(shard_of_lease("driftless-shard-3", 6), Some(3));
        assert_eq!(
            shard_of_lease("driftless-shard-6", 6),
            None,
            "beyond --shard-leases"
        );
        assert_eq!(shard_of_lease("driftless-shard-03", 6), None);
        assert_eq!(shard_of_lease("driftless-member-a", 6), None);
        assert_eq!(
            member_lease_name("Web_0-1234"),
            "driftless-member-web-0-1234"
        );
        assert_eq!(member_lease_name("-x-"), "driftless-member-x");
        assert!(member_lease_name(&"a".repeat(400)).len() <= 253);
    }

    #[test]
    fn only_a_long_dead_member_is_forgotten() {
        assert!(!member_forgotten(&member("a", 100), 150));
        assert!(member_forgotten(&member("a", 100), 201));
    }

    /// Runs rounds of `replicas` in turn (each applying its moves to the Leases at once, as
    /// its compare-and-swaps would) and returns the holders after `rounds`.
    fn simulate(replicas: &[&str], leases: &mut Vec<ShardLease>, shards: u32, rounds: usize) {
        let members: Vec<Member> = replicas.iter().map(|r| member(r, 100)).collect();
        for _ in 0..rounds {
            for me in replicas {
                let moves = shard_moves(&members, leases, shards, me, 100);
                for shard in moves.release {
                    leases.retain(|l| l.shard != shard);
                }
                for shard in moves.claim {
                    assert!(
                        leases.iter().all(|l| l.shard != shard),
                        "{me} claimed shard {shard}, held already"
                    );
                    leases.push(held(shard, me, 100));
                }
            }
        }
    }

    #[test]
    fn replicas_joining_one_by_one_reach_an_even_split_without_sharing_a_shard() {
        let mut leases = Vec::new();
        simulate(&["a"], &mut leases, 6, 2);
        assert_eq!(leases.len(), 6);
        simulate(&["a", "b"], &mut leases, 6, 3);
        simulate(&["a", "b", "c"], &mut leases, 6, 3);
        for me in ["a", "b", "c"] {
            let count = leases
                .iter()
                .filter(|l| l.holder.as_deref() == Some(me))
                .count();
            assert_eq!(count, 2, "{me} holds {count} of 6");
        }
        assert_eq!(leases.len(), 6);
    }
}
