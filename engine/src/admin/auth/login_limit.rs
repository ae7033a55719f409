//! How many passwords one address may try. A failed login already answers
//! no sooner than a second after it arrived, but many connections at once
//! would still try many passwords a second; so after `MAX_FAILURES` failed
//! logins from one address within `WINDOW`, that address's logins are
//! refused (429, `Retry-After`) until its oldest failure leaves the window.
//! Counted by address, not by user name, so that nobody can lock a user out
//! by failing on purpose. A successful login clears its address.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Addresses remembered at most; beyond, those whose failures all left the
/// window are forgotten first, then the quietest.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Default)]
pub struct LoginLimit {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl LoginLimit {
    /// How long `address` must wait before it may try again, if it must.
    pub fn wait_for(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap();
        let recent = failures.get_mut(&address)?;
        forget_old(recent, now);
        if recent.len() < MAX_FAILURES {
            return None;
        }
        let oldest = *recent.front()?;
        Some(
            (oldest + WINDOW)
                .saturating_duration_since(now)
                .max(Duration::from_secs(1)),
        )
    }

    pub fn failed(&self, address: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().unwrap();
        if failures.len() >= MAX_ADDRESSES && !failures.contains_key(&address) {
            make_room(&mut failures, now);
        }
        let recent = failures.entry(address).or_default();
        forget_old(recent, now);
        recent.push_back(now);
        // More than the limit tells nothing more.
        while recent.len() > MAX_FAILURES {
            recent.pop_front();
        }
    }

    pub fn succeeded(&self, address: IpAddr) {
        self.failures.lock().unwrap().remove(&address);
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

fn make_room(failures: &mut HashMap<IpAddr, VecDeque<Instant>>, now: Instant) {
    failures.retain(|_, recent| {
        forget_old(recent, now);
        !recent.is_empty()
    });
    if failures.len() >= MAX_ADDRESSES {
        let quietest = failures
            .iter()
            .min_by_key(|(_, recent)| recent.back().copied())
            .map(|(address, _)| *address);
        if let Some(address) = quietest {
            failures.remove(&address);
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
    fn an_address_waits_after_too_many_failures_until_the_oldest_leaves_the_window() {
        let limit = LoginLimit::default();
        let start = Instant::now();
        for i in 0..MAX_FAILURES - 1 {
            limit.failed(ip(1), start + Duration::from_secs(i as u64));
        }
        assert_eq!(limit.wait_for(ip(1), start + Duration::from_secs(60)), None);
        limit.failed(ip(1), start + Duration::from_secs(60));
        let wait = limit.wait_for(ip(1), start + Duration::from_secs(61)).unwrap();
        assert_eq!(wait, WINDOW - Duration::from_secs(61));
        assert_eq!(
            limit.wait_for(ip(2), start + Duration::from_secs(61)),
            None,
            "others may try"
        );
        // The oldest failure leaves the window: one more try.
        assert_eq!(limit.wait_for(ip(1), start + WINDOW), None);
    }

    #[test]
    fn a_success_clears_the_address() {
        let limit = LoginLimit::default();
        let now = Instant::now();
        for _ in 0..MAX_FAILURES {
            limit.failed(ip(1), now);
        }
        assert!(limit.wait_for(ip(1), now).is_some());
        limit.succeeded(ip(1));
        assert_eq!(limit.wait_for(ip(1), now), None);
    }

    #[test]
    fn memory_stays_bounded() {
        let limit = LoginLimit::default();
        let now = Instant::now();
        for i in 0..(MAX_ADDRESSES as u32 + 50) {
            limit.failed(IpAddr::from(i.to_be_bytes()), now + Duration::from_millis(i as u64));
        }
        assert!(limit.failures.lock().unwrap().len() <= MAX_ADDRESSES);
    }
}
