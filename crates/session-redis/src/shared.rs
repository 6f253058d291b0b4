//! The connections a single-server store's own operations share.
//!
//! A multiplexed connection already lets many callers use one socket at once: each command
//! goes through a channel to the connection's driver task, which writes every command queued
//! since its last turn in one `write`. Checking a connection out of a pool for each
//! operation defeats that: with as many connections as concurrent requests, every command
//! leaves in a syscall of its own (and the pool's checkout, recycle and return run on every
//! call). So a single-server store sends its own commands on a few long-lived shared
//! connections instead: one per worker thread, up to the number of CPUs and never more than
//! `pool_size`. A thread always uses the same one, so the commands of the requests it runs
//! together are written together.
//!
//! A shared connection is replaced when it fails (the store's retry-once rule), when an
//! operation on it misses its deadline, and when it was idle longer than
//! `keepalive_timeout` — the same events that make the pool drop its connections.
//! Raw connections ([`RedisStorage::connection`](crate::RedisStorage::connection)) still
//! come from the pool, so a caller's blocking or state-changing command never holds up the
//! store's own.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use session_storage::StorageError;

use crate::error::redis_error;
use crate::pool::{Conn, Manager};

/// The shared connections of one store (see the module docs).
pub(crate) struct Shared {
    slots: Box<[Slot]>,
    /// Counts connections opened, so a failed one is only cleared if no other replaced it.
    opened: AtomicU64,
    /// The bound on opening one (a connect plus the handshake's round trips).
    create_timeout: Duration,
    keepalive: Duration,
}

#[derive(Default)]
struct Slot {
    current: Mutex<Option<Current>>,
    /// Held while a connection is opened, so concurrent callers wait for one connect.
    connecting: tokio::sync::Mutex<()>,
}

struct Current {
    conn: MultiplexedConnection,
    generation: u64,
    last_used: Instant,
}

/// A shared connection lent to one operation.
pub(crate) struct Lease {
    pub(crate) conn: Conn,
    slot: usize,
    generation: u64,
}

/// The slot of the calling thread: threads are numbered in the order they first ask.
fn thread_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    INDEX.with(|i| *i)
}

impl Shared {
    /// Up to one connection per CPU, at most `pool_size`; none is opened yet.
    pub(crate) fn new(pool_size: usize, create_timeout: Duration, keepalive: Duration) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let slots = (0..cpus.min(pool_size).max(1))
            .map(|_| Slot::default())
            .collect();
        Self {
            slots,
            opened: AtomicU64::new(0),
            create_timeout,
            keepalive,
        }
    }

    /// The calling thread's connection, if it has one that did not idle past
    /// `keepalive_timeout` (else [`connect`](Self::connect)).
    pub(crate) fn current(&self) -> Option<Lease> {
        let index = thread_index() % self.slots.len();
        let mut current = lock(&self.slots[index].current);
        let now = Instant::now();
        match current.as_mut() {
            Some(c) if now.saturating_duration_since(c.last_used) <= self.keepalive => {
                c.last_used = now;
                Some(Lease {
                    conn: Conn::Multiplexed(c.conn.clone()),
                    slot: index,
                    generation: c.generation,
                })
            }
            Some(_) => {
                // Idle longer than keepalive_timeout: closed like a pooled one would be.
                *current = None;
                None
            }
            None => None,
        }
    }

    /// Opens the calling thread's connection (one connect per slot however many callers
    /// wait for it).
    pub(crate) async fn connect(&self, manager: &Manager) -> Result<Lease, StorageError> {
        let index = thread_index() % self.slots.len();
        let slot = &self.slots[index];
        let _connecting = slot.connecting.lock().await;
        if let Some(lease) = self.current() {
            return Ok(lease);
        }
        let conn = match tokio::time::timeout(self.create_timeout, manager.multiplexed()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(redis_error(e, "cannot connect to redis")),
            Err(_) => {
                return Err(StorageError::timeout(format!(
                    "redis connect timed out ({:?})",
                    self.create_timeout
                )));
            }
        };
        let generation = self.opened.fetch_add(1, Ordering::Relaxed) + 1;
        let lease = Lease {
            conn: Conn::Multiplexed(conn.clone()),
            slot: index,
            generation,
        };
        *lock(&slot.current) = Some(Current {
            conn,
            generation,
            last_used: Instant::now(),
        });
        Ok(lease)
    }

    /// Forgets the connection `lease` came from (it failed), unless it was already replaced.
    pub(crate) fn discard(&self, lease: Lease) {
        let mut current = lock(&self.slots[lease.slot].current);
        if current
            .as_ref()
            .is_some_and(|c| c.generation == lease.generation)
        {
            *current = None;
        }
    }

    /// Forgets every shared connection (an operation missed its deadline): the next
    /// operations open fresh ones. Operations still running on the old ones keep them until
    /// they end.
    pub(crate) fn clear(&self) {
        for slot in &self.slots {
            *lock(&slot.current) = None;
        }
    }

    /// How many shared connections are open.
    pub(crate) fn open(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| lock(&s.current).is_some())
            .count()
    }
}

/// A poisoned lock only means another thread panicked while holding it; the slot's state
/// (an optional connection) is valid either way.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
