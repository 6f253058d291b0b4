//! One timer per runtime that keeps the operations' deadlines from waking the I/O driver.
//!
//! Tokio's time driver remembers, when the runtime parks, when its next timer is due
//! (`next_wake`). A timer registered later with an earlier deadline — or with any deadline
//! while the wheel was empty at the last park — makes it wake the I/O driver (a write to an
//! `eventfd`, then an extra turn of `epoll`) so the park can be shortened. Under load the
//! wheel is often empty at a park (every request of a wave has finished its storage
//! operation), so each operation's [`Deadline`](super::Deadline) paid that syscall: 4.3 % of
//! the server's CPU on bench-http's Redis `/open` (docs/benchmarks.md).
//!
//! While operations run, a keeper task per runtime sleeps in a loop, each sleep shorter than
//! half the shortest deadline seen on that runtime (at most 1 s). The wheel then always holds
//! a timer due before any new operation's deadline, and registering a deadline never wakes
//! the driver. The keeper ends after [`IDLE_ROUNDS`] sleeps without an operation; the next
//! operation starts a new one. Outside a Tokio runtime nothing is started.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::runtime::{Handle, Id};

/// The longest sleep of a keeper.
const MAX_PERIOD: Duration = Duration::from_secs(1);
/// The shortest sleep of a keeper (deadlines of a millisecond or two get no benefit).
const MIN_PERIOD: Duration = Duration::from_millis(1);
/// Sleeps in a row without an operation after which a keeper ends.
pub(crate) const IDLE_ROUNDS: u32 = 30;

/// What the operations of one runtime share with its keeper task.
#[derive(Debug)]
pub(crate) struct Keeper {
    /// Set by every operation, cleared by the keeper each round.
    used: AtomicBool,
    /// The keeper's sleep in milliseconds: half the shortest deadline seen, within
    /// [`MIN_PERIOD`]..=[`MAX_PERIOD`].
    period_ms: AtomicU64,
}

/// The keepers of every runtime that ran an operation, by runtime; a dead entry is a keeper
/// that ended (or a runtime that was dropped).
static KEEPERS: Mutex<Vec<(Id, Weak<Keeper>)>> = Mutex::new(Vec::new());

thread_local! {
    /// This thread's runtime and its keeper: the common case takes no lock.
    static CURRENT: RefCell<Option<(Id, Weak<Keeper>)>> = const { RefCell::new(None) };
}

fn period_ms(limit: Duration) -> u64 {
    let period = (limit / 2).clamp(MIN_PERIOD, MAX_PERIOD);
    u64::try_from(period.as_millis()).unwrap_or(1)
}

/// Makes sure the current runtime has a keeper whose sleeps are shorter than `limit`, and
/// marks it used. Does nothing outside a Tokio runtime.
pub(crate) fn keep(limit: Duration) {
    let Ok(handle) = Handle::try_current() else {
        return;
    };
    let id = handle.id();
    let cached = CURRENT.with(|current| match &*current.borrow() {
        Some((runtime, keeper)) if *runtime == id => keeper.upgrade(),
        _ => None,
    });
    let keeper = cached.unwrap_or_else(|| {
        let keeper = find_or_start(&handle, id, limit);
        CURRENT.with(|current| *current.borrow_mut() = Some((id, Arc::downgrade(&keeper))));
        keeper
    });
    keeper.used.store(true, Ordering::Relaxed);
    keeper
        .period_ms
        .fetch_min(period_ms(limit), Ordering::Relaxed);
}

/// The live keeper of runtime `id`, or a new one spawned on `handle`.
fn find_or_start(handle: &Handle, id: Id, limit: Duration) -> Arc<Keeper> {
    let mut keepers = KEEPERS.lock().unwrap_or_else(PoisonError::into_inner);
    keepers.retain(|(_, keeper)| keeper.strong_count() > 0);
    if let Some(keeper) = keepers
        .iter()
        .find(|(runtime, _)| *runtime == id)
        .and_then(|(_, keeper)| keeper.upgrade())
    {
        return keeper;
    }
    let keeper = Arc::new(Keeper {
        used: AtomicBool::new(true),
        period_ms: AtomicU64::new(period_ms(limit)),
    });
    keepers.push((id, Arc::downgrade(&keeper)));
    drop(keepers);
    tracing::debug!("storage deadline keeper started");
    handle.spawn(run(Arc::clone(&keeper)));
    keeper
}

/// The keeper task: sleeps while operations run, ends after [`IDLE_ROUNDS`] idle sleeps.
async fn run(keeper: Arc<Keeper>) {
    let mut idle = 0;
    while idle < IDLE_ROUNDS {
        let period = Duration::from_millis(keeper.period_ms.load(Ordering::Relaxed));
        tokio::time::sleep(period).await;
        if keeper.used.swap(false, Ordering::Relaxed) {
            idle = 0;
        } else {
            idle += 1;
        }
    }
    tracing::debug!("storage deadline keeper ended (idle)");
}

/// The live keeper of the current runtime, if any (tests).
#[cfg(test)]
pub(crate) fn current() -> Option<Arc<Keeper>> {
    let id = Handle::try_current().ok()?.id();
    KEEPERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(runtime, _)| *runtime == id)
        .and_then(|(_, keeper)| keeper.upgrade())
}

#[cfg(test)]
impl Keeper {
    pub(crate) fn period(&self) -> Duration {
        Duration::from_millis(self.period_ms.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    #[test]
    fn one_keeper_per_runtime_with_the_shortest_period_ending_when_idle() {
        let rt = runtime();
        rt.block_on(async {
            assert!(current().is_none());
            keep(Duration::from_secs(5));
            let keeper = current().unwrap();
            assert_eq!(keeper.period(), MAX_PERIOD);
            keep(Duration::from_millis(300));
            assert!(Arc::ptr_eq(&keeper, &current().unwrap()), "one per runtime");
            assert_eq!(keeper.period(), Duration::from_millis(150));
            drop(keeper);
            // Used within each round: it stays.
            for _ in 0..3 * IDLE_ROUNDS {
                tokio::time::sleep(Duration::from_millis(150)).await;
                keep(Duration::from_millis(300));
            }
            assert!(current().is_some());
            // Idle: it ends, and the next operation starts another.
            tokio::time::sleep(Duration::from_millis(150) * (IDLE_ROUNDS + 2)).await;
            assert!(current().is_none(), "ended after {IDLE_ROUNDS} idle rounds");
            keep(Duration::from_secs(5));
            assert!(current().is_some());
        });
        // Another runtime gets its own.
        let other = runtime();
        other.block_on(async {
            assert!(current().is_none());
            keep(Duration::from_millis(1));
            assert_eq!(current().unwrap().period(), MIN_PERIOD);
        });
    }

    #[test]
    fn outside_a_runtime_keep_is_a_no_op() {
        // No runtime to spawn on: no panic, nothing registered for this thread.
        keep(Duration::from_secs(1));
        CURRENT.with(|current| assert!(current.borrow().is_none()));
    }
}
