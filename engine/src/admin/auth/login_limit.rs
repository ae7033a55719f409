//! How many passwords one address may try. A failed login already answers
//! no sooner than a second after it arrived, but many connections at once
//! would still try many passwords a second; so after `MAX_ATTEMPTS` login
//! attempts from one address within `WINDOW` without a success, that
//! address's logins are refused (429, `Retry-After`) until its oldest
//! attempt leaves the window. An attempt counts when it arrives, not when
//! its password check fails, so that a burst of parallel guesses gets no
//! more than the others. Counted by address, not by user name, so that
//! nobody can lock a user out by failing on purpose. A successful login
//! clears its address.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_ATTEMPTS: usize = 10;
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Addresses remembered at most; beyond, those whose attempts all left the
/// window are forgotten first, then the quietest.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Default)]
pub struct LoginLimit {
    attempts: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl LoginLimit {
    /// Counts an attempt from `address`, or, when it had its share lately,
    /// how long it must wait before it may try again.
    pub fn attempt(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut attempts = self.attempts.lock().unwrap();
        if attempts.len() >= MAX_ADDRESSES && !attempts.contains_key(&address) {
            make_room(&mut attempts, now);
        }
        let recent = attempts.entry(address).or_default();
        forget_old(recent, now);
        match recent.front() {
            Some(&oldest) if recent.len() >= MAX_ATTEMPTS => Err((oldest + WINDOW)
                .saturating_duration_since(now)
                .max(Duration::from_secs(1))),
            _ => {
                recent.push_back(now);
                Ok(())
            }
        }
    }

    pub fn succeeded(&self, address: IpAddr) {
        self.attempts.lock().unwrap().remove(&address);
    }
}

fn forget_old(recent: &mut VecDeque<Instant>, now: Instant) {
    while recent
        .front()
        .is_some_and(|&at| now.saturating_duration_since(at) >= WINDOW)
    {
        recent.pop_front();
    }
}

fn make_room(attempts: &mut HashMap<IpAddr, VecDeque<Instant>>, now: Instant) {
    attempts.retain(|_, recent| {
        forget_old(recent, now);
        !recent.is_empty()
    });
    if attempts.len() >= MAX_ADDRESSES {
        let quietest = attempts
            .iter()
            .min_by_key(|(_, recent)| recent.back().copied())
            .map(|(address, _)| *address);
        if let Some(address) = quietest {
            attempts.remove(&address);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn an_address_waits_after_its_share_until_the_oldest_attempt_leaves_the_window() {
        let limit = LoginLimit::default();
        let start = Instant::now();
        for i in 0..MAX_ATTEMPTS - 1 {
            assert_eq!(limit.attempt(ip(1), start + Duration::from_secs(i as u64)), Ok(()));
        }
        assert_eq!(limit.attempt(ip(1), start + Duration::from_secs(60)), Ok(()));
        let refused = limit.attempt(ip(1), start + Duration::from_secs(61));
        assert_eq!(refused, Err(WINDOW - Duration::from_secs(61)));
        assert_eq!(
            limit.attempt(ip(2), start + Duration::from_secs(61)),
            Ok(()),
            "others may try"
        );
        // The oldest attempt leaves the window: one more try.
        assert_eq!(limit.attempt(ip(1), start + WINDOW), Ok(()));
        assert!(limit.attempt(ip(1), start + WINDOW).is_err());
    }

    #[test]
    fn a_success_clears_the_address() {
        let limit = LoginLimit::default();
        let now = Instant::now();
        for _ in 0..MAX_ATTEMPTS {
            limit.attempt(ip(1), now).unwrap();
        }
        assert!(limit.attempt(ip(1), now).is_err());
        limit.succeeded(ip(1));
        assert_eq!(limit.attempt(ip(1), now), Ok(()));
    }

    #[test]
    fn memory_stays_bounded() {
        let limit = LoginLimit::default();
        let now = Instant::now();
        for i in 0..(MAX_ADDRESSES as u32 + 50) {
            limit
                .attempt(IpAddr::from(i.to_be_bytes()), now + Duration::from_millis(i as u64))
                .unwrap();
        }
        assert!(limit.attempts.lock().unwrap().len() <= MAX_ADDRESSES);
    }
}
