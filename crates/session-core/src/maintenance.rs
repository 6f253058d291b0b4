//! Expired-record cleanup you can schedule.
//!
//! Records carry their expiry, and every store refuses to return an expired one, but some stores
//! leave the bytes behind: the file store keeps one file per record until something removes it
//! (docs/storage.md §10), and the SQL stores only purge expired rows on a 1-in-1000 roll during
//! a save (docs/storage.md §5.6), so nothing runs on an idle server. [`Cleanup`] is a task that
//! calls a store's own sweep every `interval`, reports what each sweep removed, and stops
//! cleanly when its [`CleanupHandle`] says so.
//!
//! The task is runtime-agnostic: it is a future you spawn, given your runtime's `sleep`. The
//! sweep is any `FnMut(now) -> Future<Output = Result<usize, StorageError>>`, such as
//! `FileStorage::cleanup(name, now)` (once per cookie name) or the SQL stores' `cleanup(now)`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::Duration;
//! use session_core::maintenance::Cleanup;
//!
//! // A sweep that removes 2 records each time (a real one calls the store).
//! let (task, handle) = Cleanup::new(Duration::from_secs(300), |_now| async { Ok(2) });
//! let running = tokio::spawn(task.run(tokio::time::sleep, |report| {
//!     println!("cleanup at {}: {:?}", report.at, report.result);
//! }));
//! tokio::task::yield_now().await; // the first sweep runs at once
//! handle.cancel(); // wakes the task from its sleep
//! let totals = running.await.unwrap();
//! assert_eq!((totals.sweeps, totals.removed, totals.failures), (1, 2, 0));
//! # }
//! ```

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

use session_storage::StorageError;

use crate::env::{Clock, SystemClock};

/// The cancellation flag shared by a [`Cleanup`] and its [`CleanupHandle`].
#[derive(Default)]
struct CancelState {
    cancelled: bool,
    waker: Option<Waker>,
}

/// Stops a running [`Cleanup`]: a sleeping task wakes and returns at once; a sweep in
/// progress finishes first (a store's sweep is not interrupted half-way). Cloneable; dropping
/// every handle does **not** stop the task.
///
/// ```
/// use std::time::Duration;
/// let (_task, handle) = session_core::maintenance::Cleanup::new(Duration::from_secs(60), |_| async { Ok(0) });
/// assert!(!handle.is_cancelled());
/// handle.cancel();
/// assert!(handle.is_cancelled());
/// ```
#[derive(Clone)]
pub struct CleanupHandle(Arc<Mutex<CancelState>>);

impl fmt::Debug for CleanupHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CleanupHandle")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl CleanupHandle {
    /// Asks the task to stop (idempotent).
    pub fn cancel(&self) {
        let waker = {
            let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            state.cancelled = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .cancelled
    }
}

/// What one sweep did: when it ran, and how many records it removed or why it failed.
///
/// ```
/// let report = session_core::maintenance::CleanupReport { at: 1_700_000_000, result: Ok(3) };
/// assert_eq!(report.removed(), 3);
/// ```
#[derive(Debug)]
pub struct CleanupReport {
    /// The time (Unix seconds, from the task's clock) the sweep was given as `now`.
    pub at: i64,
    /// How many records the sweep removed, or the store's error.
    pub result: Result<usize, StorageError>,
}

impl CleanupReport {
    /// The records removed (0 when the sweep failed).
    pub fn removed(&self) -> usize {
        *self.result.as_ref().unwrap_or(&0)
    }
}

/// What a [`Cleanup`] did over its life, returned when it stops.
///
/// ```
/// let totals = session_core::maintenance::CleanupTotals::default();
/// assert_eq!(totals.removed, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CleanupTotals {
    /// Sweeps run (failed ones included).
    pub sweeps: u64,
    /// Records removed, over all sweeps.
    pub removed: u64,
    /// Sweeps that failed (the task keeps going; the next sweep retries).
    pub failures: u64,
}

/// A maintenance task: runs `sweep(now)` at once, then every `interval`, until cancelled
/// through its [`CleanupHandle`]. See the [module docs](self).
pub struct Cleanup<F> {
    interval: Duration,
    sweep: F,
    clock: Arc<dyn Clock>,
    cancel: Arc<Mutex<CancelState>>,
}

impl<F> fmt::Debug for Cleanup<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cleanup")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl<F, Fut> Cleanup<F>
where
    F: FnMut(i64) -> Fut,
    Fut: Future<Output = Result<usize, StorageError>>,
{
    /// A task sweeping every `interval` (at least one second), reading the time from the system
    /// clock, and the handle that stops it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (task, _handle) = session_core::maintenance::Cleanup::new(Duration::ZERO, |_| async { Ok(0) });
    /// assert_eq!(task.interval(), Duration::from_secs(1));
    /// ```
    pub fn new(interval: Duration, sweep: F) -> (Self, CleanupHandle) {
        let cancel = Arc::new(Mutex::new(CancelState::default()));
        let task = Self {
            interval: interval.max(Duration::from_secs(1)),
            sweep,
            clock: Arc::new(SystemClock),
            cancel: Arc::clone(&cancel),
        };
        (task, CleanupHandle(cancel))
    }

    /// Reads `now` from `clock` instead of the system clock (the clock a [`SessionConfig`]
    /// was built with, or a test clock).
    ///
    /// [`SessionConfig`]: crate::SessionConfig
    ///
    /// ```
    /// use std::{sync::Arc, time::Duration};
    /// use session_core::env::SystemClock;
    /// let (task, _) = session_core::maintenance::Cleanup::new(Duration::from_secs(60), |_| async { Ok(0) });
    /// let _task = task.with_clock(Arc::new(SystemClock));
    /// ```
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The interval between sweeps.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (task, _) = session_core::maintenance::Cleanup::new(Duration::from_secs(60), |_| async { Ok(0) });
    /// assert_eq!(task.interval(), Duration::from_secs(60));
    /// ```
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Runs until cancelled: a sweep, then `sleep(interval)`, and again. Each sweep's
    /// [`CleanupReport`] goes to `on_report` and to [`tracing`] (debug when it removed nothing,
    /// info when it removed records, a warning when it failed; the task goes on after a
    /// failure). Returns the [`CleanupTotals`] once cancelled.
    ///
    /// `sleep` is your runtime's timer (`tokio::time::sleep`, …). See the [module
    /// docs](self) for an example.
    pub async fn run<S, SFut>(
        mut self,
        mut sleep: S,
        mut on_report: impl FnMut(&CleanupReport),
    ) -> CleanupTotals
    where
        S: FnMut(Duration) -> SFut,
        SFut: Future<Output = ()>,
    {
        let mut totals = CleanupTotals::default();
        while !self.is_cancelled() {
            let at = i64::try_from(self.clock.now()).unwrap_or(i64::MAX);
            let result = (self.sweep)(at).await;
            let report = CleanupReport { at, result };
            totals.sweeps += 1;
            match &report.result {
                Ok(0) => tracing::debug!(at, "cleanup: nothing expired"),
                Ok(n) => {
                    totals.removed += u64::try_from(*n).unwrap_or(u64::MAX);
                    tracing::info!(at, removed = n, "cleanup: removed expired records");
                }
                Err(e) => {
                    totals.failures += 1;
                    tracing::warn!(at, error = %crate::log::error_chain(e), "cleanup failed");
                }
            }
            on_report(&report);
            if self.is_cancelled() {
                break;
            }
            self.sleep_or_cancel(sleep(self.interval)).await;
        }
        totals
    }

    fn is_cancelled(&self) -> bool {
        self.cancel
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .cancelled
    }

    /// Waits for `sleep`, or for a cancel, whichever comes first.
    async fn sleep_or_cancel(&self, sleep: impl Future<Output = ()>) {
        let mut sleep = pin!(sleep);
        poll_fn(|cx| {
            {
                let mut state = self.cancel.lock().unwrap_or_else(PoisonError::into_inner);
                if state.cancelled {
                    return Poll::Ready(());
                }
                state.waker = Some(cx.waker().clone());
            }
            sleep.as_mut().poll(cx)
        })
        .await;
    }
}
