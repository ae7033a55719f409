//! Connections to each receiver address, kept open between deliveries, and the backoff that
//! keeps a receiver that is down from being hammered.
//!
//! A delivery leases a connection: an idle one that is still usable, else a new one. It gives
//! it back when the stream is in step (an ACK for the message sent came back); otherwise the
//! lease drops it, closing it. Idle connections are closed after `idle_timeout`.
//!
//! When connecting fails, the address backs off: 100 ms, doubling up to 30 s, reset by the
//! next connection that opens. While it backs off, and while one delivery probes the receiver
//! after a backoff, other deliveries fail at once as `connect`, and the delivery policy
//! schedules them; so a receiver that is down sees one attempt per backoff step, not one per
//! queued message.

use super::connection::Connection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const FIRST_RECONNECT_WAIT: Duration = Duration::from_millis(100);
const MAX_RECONNECT_WAIT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug)]
pub(super) struct PoolSettings {
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    /// Connections leased at once per address; `None`: as many as deliveries in flight.
    pub max_connections: Option<usize>,
    /// The largest answer frame read.
    pub max_answer: usize,
}

/// One pool per address the destination sends to (its address may be a template).
pub(super) struct Pools {
    settings: PoolSettings,
    by_address: Mutex<HashMap<String, Arc<AddressPool>>>,
}

struct AddressPool {
    address: String,
    settings: PoolSettings,
    idle: Mutex<Vec<Connection>>,
    permits: Option<Arc<Semaphore>>,
    reconnect: Mutex<Reconnect>,
}

/// The backoff state of one address.
#[derive(Default)]
struct Reconnect {
    /// Connection attempts failed in a row.
    failures: u32,
    /// No new attempt before this.
    retry_at: Option<Instant>,
    /// A delivery is trying to connect after failures; the others wait for its outcome.
    probing: bool,
    last_error: String,
    /// Whether a task closes this pool's idle connections.
    reaper_started: bool,
}

/// A connection lent to one delivery.
pub(super) struct Lease {
    connection: Option<Connection>,
    pool: Arc<AddressPool>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Pools {
    pub fn new(settings: PoolSettings) -> Pools {
        Pools {
            settings,
            by_address: Mutex::new(HashMap::new()),
        }
    }

    /// A connection to `address`: an idle one still usable, else a new one. Err says why none
    /// could be had (the connection failed, or the address is backing off).
    pub async fn checkout(&self, address: &str) -> Result<Lease, String> {
        let pool = self.pool(address);
        let permit = match &pool.permits {
            Some(permits) => Some(
                permits
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed"),
            ),
            None => None,
        };
        if let Some(connection) = pool.take_idle() {
            return Ok(pool.lease(connection, permit));
        }
        let probe = pool.may_connect()?;
        match Connection::open(&pool.address, self.settings.connect_timeout, self.settings.max_answer).await {
            Ok(connection) => {
                probe.succeeded();
                Ok(pool.lease(connection, permit))
            }
            Err(error) => {
                probe.failed(&error);
                Err(error)
            }
        }
    }

    fn pool(&self, address: &str) -> Arc<AddressPool> {
        let mut pools = self.by_address.lock().unwrap();
        pools
            .entry(address.to_string())
            .or_insert_with(|| {
                Arc::new(AddressPool {
                    address: address.to_string(),
                    settings: self.settings,
                    idle: Mutex::new(Vec::new()),
                    permits: self.settings.max_connections.map(|n| Arc::new(Semaphore::new(n))),
                    reconnect: Mutex::new(Reconnect::default()),
                })
            })
            .clone()
    }

    /// Idle connections to `address` (for tests).
    #[cfg(test)]
    pub fn idle_count(&self, address: &str) -> usize {
        self.pool(address).idle.lock().unwrap().len()
    }
}

impl AddressPool {
    /// The most recently used idle connection that is still usable; the unusable are closed.
    fn take_idle(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap();
        while let Some(mut connection) = idle.pop() {
            if connection.is_reusable(self.settings.idle_timeout) {
                return Some(connection);
            }
        }
        None
    }

    fn lease(self: &Arc<Self>, connection: Connection, permit: Option<OwnedSemaphorePermit>) -> Lease {
        Lease {
            connection: Some(connection),
            pool: self.clone(),
            _permit: permit,
        }
    }

    /// Whether this delivery may try to connect now; Err says why not.
    fn may_connect(&self) -> Result<Probe<'_>, String> {
        let mut reconnect = self.reconnect.lock().unwrap();
        if reconnect.failures == 0 {
            return Ok(Probe {
                pool: self,
                armed: false,
                failures_before: 0,
            });
        }
        let attempts = match reconnect.failures {
            1 => "1 failed attempt".to_string(),
            n => format!("{n} failed attempts"),
        };
        if reconnect.probing {
            return Err(format!(
                "another delivery is reconnecting to {} after {attempts} (last: {})",
                self.address, reconnect.last_error
            ));
        }
        let now = Instant::now();
        if let Some(wait) = reconnect.retry_at.and_then(|at| at.checked_duration_since(now)) {
            return Err(format!(
                "not connecting to {} for another {} after {attempts} (last: {})",
                self.address,
                humantime::format_duration(Duration::from_millis(wait.as_millis() as u64)),
                reconnect.last_error
            ));
        }
        reconnect.probing = true;
        Ok(Probe {
            pool: self,
            armed: true,
            failures_before: reconnect.failures,
        })
    }

    /// Starts the task that closes idle connections, once; it ends with the pool.
    fn start_reaper(self: &Arc<Self>) {
        {
            let mut reconnect = self.reconnect.lock().unwrap();
            if std::mem::replace(&mut reconnect.reaper_started, true) {
                return;
            }
        }
        let pool: Weak<AddressPool> = Arc::downgrade(self);
        let every = (self.settings.idle_timeout / 2).max(Duration::from_millis(50));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(pool) = pool.upgrade() else { return };
                let timeout = pool.settings.idle_timeout;
                pool.idle
                    .lock()
                    .unwrap()
                    .retain(|connection| connection.idle_since.elapsed() < timeout);
            }
        });
    }
}

/// One connection attempt's bookkeeping: its outcome updates the address's backoff. Dropped
/// unfinished (the delivery was cancelled), it lets the next delivery probe.
struct Probe<'a> {
    pool: &'a AddressPool,
    armed: bool,
    /// The failures counted when the attempt began.
    failures_before: u32,
}

impl Probe<'_> {
    fn succeeded(mut self) {
        self.armed = false;
        let mut reconnect = self.pool.reconnect.lock().unwrap();
        reconnect.failures = 0;
        reconnect.retry_at = None;
        reconnect.probing = false;
    }

    fn failed(mut self, error: &str) {
        self.armed = false;
        let mut reconnect = self.pool.reconnect.lock().unwrap();
        // Deliveries that tried together while nothing had failed yet count as one failure.
        if reconnect.failures == self.failures_before {
            reconnect.failures = reconnect.failures.saturating_add(1);
            reconnect.retry_at = Some(Instant::now() + reconnect_wait(reconnect.failures));
        }
        reconnect.probing = false;
        reconnect.last_error = error.to_string();
    }
}

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.pool.reconnect.lock().unwrap().probing = false;
        }
    }
}

/// The wait after `failures` failed connection attempts in a row.
fn reconnect_wait(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_RECONNECT_WAIT
        .saturating_mul(1 << doublings)
        .min(MAX_RECONNECT_WAIT)
}

impl Lease {
    pub fn connection(&mut self) -> &mut Connection {
        self.connection
            .as_mut()
            .expect("a lease holds its connection until given back")
    }

    /// Returns the connection to the pool for the next delivery.
    pub fn give_back(mut self) {
        if let Some(mut connection) = self.connection.take() {
            connection.idle_since = Instant::now();
            self.pool.idle.lock().unwrap().push(connection);
            self.pool.start_reaper();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reconnect_wait_doubles_from_100ms_to_30s() {
        let waits: Vec<u64> = [1, 2, 3, 9, 10, 40]
            .into_iter()
            .map(|n| reconnect_wait(n).as_millis() as u64)
            .collect();
        assert_eq!(waits, [100, 200, 400, 25_600, 30_000, 30_000]);
    }
}
