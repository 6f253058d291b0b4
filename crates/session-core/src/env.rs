//! The two things the engine takes from its environment: the time and fresh
//! session ids. Both are injectable, so tests, tools and vectors are
//! deterministic; nothing else in the engine reads the system clock.
//!
//! The deterministic sources (`FixedClock`, `SequentialSid`) exist only with the
//! `testing` cargo feature, which no production build should enable: sequential ids repeat
//! every 8 draws, and two sessions sharing an id share their AES key and IV.

use std::fmt;
#[cfg(feature = "testing")]
use std::sync::Mutex;
#[cfg(feature = "testing")]
use std::sync::atomic::{AtomicU64, Ordering};

/// A source of the current time, in whole seconds since the Unix epoch.
///
/// ```
/// use session_core::env::Clock;
/// #[derive(Debug)]
/// struct At(u64);
/// impl Clock for At {
///     fn now(&self) -> u64 { self.0 }
/// }
/// assert_eq!(At(1_700_000_000).now(), 1_700_000_000);
/// ```
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time in Unix seconds.
    fn now(&self) -> u64;
}

/// The system clock (the default).
///
/// ```
/// use session_core::env::{Clock, SystemClock};
/// assert!(SystemClock.now() > 1_600_000_000);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock that stands still until moved; for tests (feature `testing`).
///
/// ```
/// use session_core::env::{Clock, FixedClock};
/// let clock = FixedClock::new(10);
/// clock.set(20);
/// clock.advance(5);
/// assert_eq!(clock.now(), 25);
/// ```
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
#[derive(Debug, Default)]
pub struct FixedClock(AtomicU64);

#[cfg(feature = "testing")]
impl FixedClock {
    /// A clock fixed at `now`.
    pub fn new(now: u64) -> Self {
        Self(AtomicU64::new(now))
    }

    /// Set the time.
    pub fn set(&self, now: u64) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Move the time forward by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

#[cfg(feature = "testing")]
impl Clock for FixedClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Failure to draw a session id.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SidError(pub String);

/// A source of fresh 32-byte session ids.
///
/// ```
/// use session_core::env::{OsRandomSid, SidSource};
/// let a = OsRandomSid.generate().unwrap();
/// let b = OsRandomSid.generate().unwrap();
/// assert_ne!(a, b);
/// ```
pub trait SidSource: Send + Sync + fmt::Debug {
    /// Draw a new session id.
    ///
    /// # Errors
    /// When the underlying random source fails.
    fn generate(&self) -> Result<[u8; 32], SidError>;
}

/// Session ids from the operating system's CSPRNG (the default), drawn through a per-thread
/// ChaCha12 generator (`rand`'s `StdRng`) that it seeds: one `getrandom` system call per
/// id cost more than the rest of a small session's save. The generator is reseeded from the
/// operating system every 1024 ids and in a forked child (so a child never repeats its
/// parent's ids), as OpenSSL's `RAND_bytes`, the reference's source, reseeds its own. A fork
/// is seen through a `pthread_atfork` child handler (the `forkguard` crate): one atomic load
/// per id, where asking for the process id was a system call per id.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandomSid;

impl SidSource for OsRandomSid {
    fn generate(&self) -> Result<[u8; 32], SidError> {
        random_bytes()
    }
}

/// Whether the process forked since the guard was made (or last asked).
#[cfg(unix)]
type ForkGuard = forkguard::Guard;

/// No `fork` outside Unix.
#[cfg(not(unix))]
#[derive(Debug)]
struct ForkGuard;

#[cfg(not(unix))]
impl ForkGuard {
    fn try_new() -> Result<Self, std::convert::Infallible> {
        Ok(Self)
    }

    fn detected_fork(&mut self) -> bool {
        false
    }
}

pub(crate) fn random_bytes() -> Result<[u8; 32], SidError> {
    use std::cell::RefCell;

    use rand::rngs::StdRng;
    use rand::{RngCore, SeedableRng};

    /// Ids drawn from one seed before the generator is reseeded from the OS.
    const IDS_PER_SEED: u32 = 1024;

    struct Seeded {
        rng: StdRng,
        /// Made before the seed was drawn: a forked child reseeds before its first id.
        fork: ForkGuard,
        left: u32,
    }

    thread_local! {
        static RNG: RefCell<Option<Seeded>> = const { RefCell::new(None) };
    }

    RNG.with(|cell| {
        let mut slot = cell.borrow_mut();
        let fresh = match slot.as_mut() {
            Some(s) => s.fork.detected_fork() || s.left == 0,
            None => true,
        };
        if fresh {
            // The guard first, so that a fork after the seed is drawn is always seen.
            let fork = ForkGuard::try_new().map_err(|e| SidError(e.to_string()))?;
            let rng = StdRng::try_from_os_rng().map_err(|e| SidError(e.to_string()))?;
            *slot = Some(Seeded {
                rng,
                fork,
                left: IDS_PER_SEED,
            });
        }
        let seeded = slot
            .as_mut()
            .ok_or_else(|| SidError("session id generator not seeded".to_owned()))?;
        seeded.left -= 1;
        let mut out = [0u8; 32];
        seeded.rng.fill_bytes(&mut out);
        Ok(out)
    })
}

/// Deterministic session ids for tests (feature `testing`; never in production: the ids
/// repeat every 8 draws): the first id is the 32 bytes
/// `start, start+1, …, start+31` (wrapping), and each following id starts 32
/// higher — the "SID 0x40.." convention of the spec's vectors.
///
/// ```
/// use session_core::env::{SequentialSid, SidSource};
/// let sids = SequentialSid::new(0x40);
/// assert_eq!(sids.generate().unwrap()[0], 0x40);
/// assert_eq!(sids.generate().unwrap()[0], 0x60);
/// ```
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
#[derive(Debug)]
pub struct SequentialSid(Mutex<u8>);

#[cfg(feature = "testing")]
impl SequentialSid {
    /// Start at byte value `start`.
    pub fn new(start: u8) -> Self {
        Self(Mutex::new(start))
    }
}

#[cfg(feature = "testing")]
impl SidSource for SequentialSid {
    fn generate(&self) -> Result<[u8; 32], SidError> {
        let mut next = self.0.lock().map_err(|e| SidError(e.to_string()))?;
        let mut out = [0u8; 32];
        let mut b = *next;
        for slot in &mut out {
            *slot = b;
            b = b.wrapping_add(1);
        }
        *next = b;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_distinct_across_reseeds_and_threads() {
        let mut seen = std::collections::HashSet::new();
        // 3000 draws cross two reseeds of this thread's generator.
        for _ in 0..3000 {
            assert!(seen.insert(OsRandomSid.generate().unwrap()));
        }
        let other = std::thread::spawn(|| {
            (0..100)
                .map(|_| OsRandomSid.generate().unwrap())
                .collect::<Vec<_>>()
        })
        .join()
        .unwrap();
        for id in other {
            assert!(seen.insert(id), "another thread's generator repeated an id");
        }
    }

    /// The fork check per id is the `pthread_atfork` counter (an atomic load), not the
    /// process id (a system call): the `atfork` feature must stay on. `forkguard`'s own
    /// tests fork a child and check that it sees the fork.
    #[cfg(unix)]
    #[test]
    fn forks_are_seen_through_the_atfork_handler() {
        assert_eq!(ForkGuard::FLAVOR, forkguard::Flavor::Atfork);
        let mut guard = ForkGuard::try_new().unwrap();
        assert!(!guard.detected_fork(), "no fork happened");
    }
}
