//! The replay store: every accepted (`iss`, `jti`) pair is remembered until the token's `exp`
//! plus the leeway has passed, and a second token with the same pair is refused.
//!
//! Thread-safe (one `std` mutex, never held across an `.await`) and bounded: it holds at most
//! its capacity of unexpired entries, and when full it refuses new tokens
//! ([`AuthError::ReplayStoreFull`]) rather than forget an entry that could then be replayed.
//! Entries expire in `exp` order (a `BTreeSet` index), so purging costs O(log n) per entry.
//!
//! Pairs are stored as 128-bit keyed hashes (two `RandomState` SipHash keys drawn at start-up),
//! which keeps an entry small whatever the `jti` length and keeps token data out of memory
//! dumps. A collision would refuse one genuine token; it cannot be provoked without the keys.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};

use super::AuthError;

/// Entries held at most by default (about 100 bytes each, allocated only as calls come: at
/// most ~200 MB). A store must hold every token seen within a token's lifetime plus the
/// leeway: 2,000,000 sustains ~5,500 verified calls per second with the usual 5-minute tokens,
/// ~550 with 1-hour tokens. `--jwt-replay-capacity` sets it.
pub const DEFAULT_CAPACITY: usize = 2_000_000;

type Fingerprint = (u64, u64);

/// Seen (`iss`, `jti`) pairs with the time (seconds since the epoch) until which each is kept.
pub(super) struct ReplayStore {
    capacity: usize,
    hashers: (RandomState, RandomState),
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    keep_until: HashMap<Fingerprint, u64>,
    by_expiry: BTreeSet<(u64, Fingerprint)>,
}

impl State {
    /// Forgets entries whose time is before `now`.
    fn purge(&mut self, now: u64) {
        while let Some(&(until, fingerprint)) = self.by_expiry.first() {
            if until >= now {
                break;
            }
            self.by_expiry.pop_first();
            self.keep_until.remove(&fingerprint);
        }
    }
}

impl ReplayStore {
    pub(super) fn new(capacity: usize) -> ReplayStore {
        ReplayStore {
            capacity,
            hashers: (RandomState::new(), RandomState::new()),
            state: Mutex::new(State::default()),
        }
    }

    /// Records the pair, or refuses it if it was seen (and has not expired since).
    pub(super) fn check_and_insert(
        &self,
        iss: &str,
        jti: &str,
        keep_until: u64,
        now: u64,
    ) -> Result<(), AuthError> {
        let fingerprint =
            (self.hashers.0.hash_one((iss, jti)), self.hashers.1.hash_one((iss, jti)));
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.purge(now);
        if state.keep_until.contains_key(&fingerprint) {
            return Err(AuthError::Replayed);
        }
        if state.keep_until.len() >= self.capacity {
            return Err(AuthError::ReplayStoreFull);
        }
        state.keep_until.insert(fingerprint, keep_until);
        state.by_expiry.insert((keep_until, fingerprint));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_seen_pair_until_it_expires() {
        let store = ReplayStore::new(10);
        assert!(store.check_and_insert("iss", "a", 100, 50).is_ok());
        assert!(matches!(store.check_and_insert("iss", "a", 100, 60), Err(AuthError::Replayed)));
        // Same jti from another issuer is a different token.
        assert!(store.check_and_insert("other", "a", 100, 60).is_ok());
        // Kept through its last second, forgotten after.
        assert!(matches!(store.check_and_insert("iss", "a", 100, 100), Err(AuthError::Replayed)));
        assert!(store.check_and_insert("iss", "a", 200, 101).is_ok());
    }

    #[test]
    fn refuses_when_full_of_live_entries_and_recovers_after_expiry() {
        let store = ReplayStore::new(2);
        assert!(store.check_and_insert("iss", "a", 100, 0).is_ok());
        assert!(store.check_and_insert("iss", "b", 150, 0).is_ok());
        assert!(matches!(
            store.check_and_insert("iss", "c", 100, 10),
            Err(AuthError::ReplayStoreFull)
        ));
        assert!(store.check_and_insert("iss", "c", 300, 120).is_ok());
        assert!(matches!(store.check_and_insert("iss", "b", 300, 120), Err(AuthError::Replayed)));
    }
}
