//! Failed-login throttling, per user name and per client address, each counted on its own:
//! guessing one user's password (from any number of addresses) blocks attempts on that user
//! only; an address is blocked only when it fails for many *different* users (password
//! spraying), so users behind one proxy address are not locked out by one of them.
//! A throttled attempt is refused before its password is hashed, so a flood of bad logins
//! costs no bcrypt time. Pure: the time is passed in.

use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures for one user within `window_seconds` after which its attempts wait.
    pub user_failures: u32,
    /// Different users one address failed for within the window after which it waits.
    pub address_users: usize,
    pub window_seconds: i64,
    /// Keys remembered at most (the oldest are forgotten first).
    pub capacity: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Argo CD's defaults for a user: 5 failures in 300 s.
        Self {
            user_failures: 5,
            address_users: 20,
            window_seconds: 300,
            capacity: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: i64,
}

/// The users one address failed for lately.
#[derive(Debug, Clone, Default)]
struct Spray {
    users: std::collections::HashSet<String>,
    last: i64,
}

/// Why an attempt was not even checked, and for how long more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_seconds: i64,
    pub by_address: bool,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    limits: Limits,
    users: HashMap<String, Failures>,
    addresses: HashMap<IpAddr, Spray>,
}

impl LoginThrottle {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            users: HashMap::new(),
            addresses: HashMap::new(),
        }
    }

    /// Whether an attempt for `user` from `address` may be checked now.
    pub fn admit(&self, user: &str, address: IpAddr, now: i64) -> Result<(), Throttled> {
        let window = self.limits.window_seconds;
        if let Some(f) = self.users.get(user)
            && f.count >= self.limits.user_failures
            && now - f.last < window
        {
            return Err(Throttled {
                retry_after_seconds: window - (now - f.last),
                by_address: false,
            });
        }
        if let Some(spray) = self.addresses.get(&address)
            && spray.users.len() >= self.limits.address_users
            && now - spray.last < window
            && !spray.users.contains(user)
        {
            return Err(Throttled {
                retry_after_seconds: window - (now - spray.last),
                by_address: true,
            });
        }
        Ok(())
    }

    pub fn failed(&mut self, user: &str, address: IpAddr, now: i64) {
        let window = self.limits.window_seconds;
        let entry = self.users.entry(user.to_string()).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now - entry.last >= window {
            entry.count = 0;
        }
        entry.count += 1;
        entry.last = now;
        let spray = self.addresses.entry(address).or_default();
        if now - spray.last >= window {
            spray.users.clear();
        }
        // Past the limit the set need not grow: the address is blocked either way.
        if spray.users.len() < self.limits.address_users {
            spray.users.insert(user.to_string());
        }
        spray.last = now;
        self.forget_oldest();
    }

    /// A successful login clears the user's count (not the address's: one right password
    /// must not reset a sprayer's budget for other users).
    pub fn succeeded(&mut self, user: &str) {
        self.users.remove(user);
    }

    fn forget_oldest(&mut self) {
        let capacity = self.limits.capacity;
        while self.users.len() > capacity {
            let Some(oldest) = self
                .users
                .iter()
                .min_by_key(|(_, f)| f.last)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.users.remove(&oldest);
        }
        while self.addresses.len() > capacity {
            let Some(oldest) = self
                .addresses
                .iter()
                .min_by_key(|(_, s)| s.last)
                .map(|(k, _)| *k)
            else {
                break;
            };
            self.addresses.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn a_flood_on_one_user_leaves_other_users_alone() {
        let mut throttle = LoginThrottle::new(Limits::default());
        // Many addresses guessing alice's password.
        for i in 0..1000u32 {
            let address = ip((i % 200) as u8);
            if throttle.admit("alice", address, 100).is_ok() {
                throttle.failed("alice", address, 100);
            }
        }
        let refused = throttle.admit("alice", ip(250), 100).unwrap_err();
        assert!(!refused.by_address);
        assert_eq!(refused.retry_after_seconds, 300);
        assert_eq!(throttle.admit("bob", ip(251), 100), Ok(()));
        // The window passes: alice may try again.
        assert_eq!(throttle.admit("alice", ip(250), 400), Ok(()));
    }

    #[test]
    fn one_address_guessing_many_users_is_stopped_by_address() {
        let mut throttle = LoginThrottle::new(Limits::default());
        for i in 0..20 {
            throttle.failed(&format!("user{i}"), ip(1), 10);
        }
        let refused = throttle.admit("someone", ip(1), 11).unwrap_err();
        assert!(refused.by_address);
        assert_eq!(throttle.admit("someone", ip(2), 11), Ok(()));
    }

    #[test]
    fn one_address_hammering_one_user_does_not_block_its_other_users() {
        // Users behind one proxy share its address.
        let mut throttle = LoginThrottle::new(Limits::default());
        for t in 0..1000 {
            if throttle.admit("alice", ip(1), t / 100).is_ok() {
                throttle.failed("alice", ip(1), t / 100);
            }
        }
        assert!(throttle.admit("alice", ip(1), 10).is_err());
        assert_eq!(throttle.admit("bob", ip(1), 10), Ok(()));
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let mut throttle = LoginThrottle::new(Limits::default());
        for t in 0..4 {
            throttle.failed("carol", ip(1), t);
        }
        throttle.failed("carol", ip(2), 1000);
        assert_eq!(throttle.admit("carol", ip(3), 1001), Ok(()));
        throttle.succeeded("carol");
        assert_eq!(throttle.admit("carol", ip(3), 1001), Ok(()));
    }

    #[test]
    fn memory_is_bounded() {
        let mut throttle = LoginThrottle::new(Limits {
            capacity: 100,
            ..Limits::default()
        });
        for i in 0..1000 {
            throttle.failed(&format!("u{i}"), ip(1), i);
        }
        assert!(throttle.users.len() <= 100 && throttle.addresses.len() <= 100);
    }
}
