//! The conformance suite: what "a backend works" means (feature `testkit`).
//!
//! A backend's tests call [`storage_conformance!`](crate::storage_conformance) once with a
//! closure that builds a fresh, isolated store; the macro expands to one `#[test]` per case,
//! named after what it checks, so a failure says what broke:
//!
//! ```
//! // In a backend's tests/conformance.rs (dev-dependency: session-storage with `testkit`):
//! use session_storage::{memory::MemoryStorage, testkit::Fresh};
//!
//! session_storage::storage_conformance!(|| async { Fresh::new(MemoryStorage::new()) });
//! # fn main() {}
//! ```
//!
//! [`Fresh::with_guard`] keeps something alive for the duration of a case (a temporary
//! directory, a server handle). Each case runs on its own multi-threaded tokio runtime with a
//! 120 s limit. [`run_all`] runs every case from inside an existing async test instead.
//!
//! # Time
//!
//! The suite reads [`Storage::capability`]: with [`ExpiryClock::Argument`] it moves time by
//! passing a later `now` and never sleeps; with [`ExpiryClock::Server`] it passes the real
//! clock and really sleeps (TTLs of 1 s, sleeps of about 2 s, in four cases). Checks stay
//! away from the exact expiry second, where backends legitimately differ (file and SQL
//! still return a record at `now == expiry`, the others do not).
//!
//! # What is covered
//!
//! Records: set/get, miss, upsert, delete (also of a missing key), namespacing by cookie
//! name, byte-for-byte values (all printable ASCII, JSON punctuation, non-ASCII UTF-8), a
//! [`LARGE_VALUE_LEN`] value, names and keys from every character the engine produces
//! (base64url alphabet, `__Host-`/`__Secure-` prefixes, cookie-name token characters), TTL
//! expiry, the old key kept for exactly its stale TTL and then gone, an old key that does not
//! exist is not created, the `remember` flag changes nothing. Metadata: every saved key is
//! listed with its expiry, collections are separate per audience, subject and cookie name,
//! expired entries are pruned, the old key leaves a collection (at the latest when its stale
//! TTL ends), delete removes the key, raw (unencoded) subjects work, an unknown collection
//! is empty. Concurrency: many tasks saving different sessions, many tasks saving the same
//! session while others read it (every read sees a complete value).
//!
//! Layout checks (the reference's exact bytes for shm, file, memcached...) need access to a
//! backend's raw storage and live in each backend's own tests; [`collection`](crate::collection)
//! and [`KeyLayout`](crate::KeyLayout) give them the expected bytes.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{ExpiryClock, Storage, StorageError};

pub mod cases;

/// Size of the value of the large-value case: 2 MiB.
///
/// The engine can produce up to 16 777 215 bytes of payload, but real sessions are far
/// smaller; 2 MiB is well past anything realistic while staying quick. A memcached server
/// must allow items of this size (`-I 4m`).
pub const LARGE_VALUE_LEN: usize = 2 * 1024 * 1024;

/// Limit for one case.
const CASE_TIMEOUT: Duration = Duration::from_secs(120);

/// A freshly built store for one case, plus anything that must live as long as it.
///
/// ```
/// use session_storage::{memory::MemoryStorage, testkit::Fresh};
/// let fresh = Fresh::with_guard(MemoryStorage::new(), String::from("kept alive"));
/// # let _ = fresh;
/// ```
pub struct Fresh<S> {
    store: S,
    guard: Box<dyn Send>,
}

impl<S> std::fmt::Debug for Fresh<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fresh").finish_non_exhaustive()
    }
}

impl<S: Storage> Fresh<S> {
    /// A store with nothing to keep alive.
    ///
    /// ```
    /// let fresh = session_storage::testkit::Fresh::new(session_storage::memory::MemoryStorage::new());
    /// # let _ = fresh;
    /// ```
    pub fn new(store: S) -> Self {
        Self::with_guard(store, ())
    }

    /// A store and a guard dropped after the case (for example a `tempfile::TempDir`).
    ///
    /// ```
    /// use session_storage::{memory::MemoryStorage, testkit::Fresh};
    /// let fresh = Fresh::with_guard(MemoryStorage::new(), 42_u8);
    /// # let _ = fresh;
    /// ```
    pub fn with_guard(store: S, guard: impl Send + 'static) -> Self {
        Self {
            store,
            guard: Box::new(guard),
        }
    }
}

/// The time source of one case (see the module docs on time).
///
/// ```
/// use session_storage::{ExpiryClock, testkit::Clock};
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let clock = Clock::new(ExpiryClock::Argument);
/// let t = clock.now();
/// clock.advance(10).await; // no sleep: the next `now` is 10 s later
/// assert!(clock.now() >= t + 10);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Clock {
    mode: ExpiryClock,
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// A clock for a store whose expiry follows `mode`.
    ///
    /// ```
    /// let clock = session_storage::testkit::Clock::new(session_storage::ExpiryClock::Server);
    /// assert!(clock.now() > 1_600_000_000);
    /// ```
    #[must_use]
    pub fn new(mode: ExpiryClock) -> Self {
        Self {
            mode,
            offset: Arc::new(AtomicI64::new(0)),
        }
    }

    /// The `now` to pass: real Unix seconds plus any simulated advance.
    ///
    /// ```
    /// let clock = session_storage::testkit::Clock::new(session_storage::ExpiryClock::Argument);
    /// assert!(clock.now() > 1_600_000_000);
    /// ```
    #[must_use]
    pub fn now(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        real.saturating_add(self.offset.load(Ordering::SeqCst))
    }

    /// Lets `secs` seconds pass: simulated for [`ExpiryClock::Argument`], slept (plus a
    /// quarter second of margin) for [`ExpiryClock::Server`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// session_storage::testkit::Clock::new(session_storage::ExpiryClock::Argument).advance(5).await;
    /// # });
    /// ```
    pub async fn advance(&self, secs: u32) {
        match self.mode {
            ExpiryClock::Argument => {
                self.offset.fetch_add(i64::from(secs), Ordering::SeqCst);
            }
            _ => {
                tokio::time::sleep(
                    Duration::from_secs(u64::from(secs)) + Duration::from_millis(250),
                )
                .await;
            }
        }
    }
}

/// Storage keys for one case: 43 base64url characters, unique per process and run, so a
/// shared server never sees a key from an earlier run.
///
/// ```
/// let keys = session_storage::testkit::Keys::new();
/// let (a, b) = (keys.next(), keys.next());
/// assert_eq!(a.len(), 43);
/// assert_ne!(a, b);
/// ```
#[derive(Debug)]
pub struct Keys {
    seed: u64,
    counter: AtomicU64,
}

impl Default for Keys {
    fn default() -> Self {
        Self::new()
    }
}

impl Keys {
    /// A generator seeded from the clock and the process's random hasher keys.
    ///
    /// ```
    /// assert_eq!(session_storage::testkit::Keys::new().next().len(), 43);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        Self {
            seed: h.finish(),
            counter: AtomicU64::new(0),
        }
    }

    /// The next key.
    ///
    /// ```
    /// let keys = session_storage::testkit::Keys::new();
    /// assert!(keys.next().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    /// ```
    #[must_use]
    #[allow(clippy::should_implement_trait)] // shared (&self), not an Iterator
    pub fn next(&self) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        // splitmix64 stream: 43 sextets from 8 words.
        let mut state = self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut out = String::with_capacity(43);
        while out.len() < 43 {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            for i in 0..10 {
                if out.len() == 43 {
                    break;
                }
                let idx = usize::try_from((z >> (6 * i)) & 0x3f).unwrap_or(0);
                out.push(char::from(ALPHABET[idx]));
            }
        }
        out
    }
}

/// Unwraps a storage result inside a case, panicking with what was being done.
#[track_caller]
pub(crate) fn ok<T>(res: Result<T, StorageError>, what: &str) -> T {
    match res {
        Ok(v) => v,
        Err(e) => panic!(
            "{what} failed: {e} (source: {:?})",
            std::error::Error::source(&e)
        ),
    }
}

/// Runs one case on its own multi-threaded runtime. Used by
/// [`storage_conformance!`](crate::storage_conformance); call it directly to run a single case.
///
/// ```
/// use session_storage::{memory::MemoryStorage, testkit::{self, Fresh}};
/// testkit::run(|| async { Fresh::new(MemoryStorage::new()) }, testkit::cases::set_then_get_returns_value);
/// ```
///
/// # Panics
///
/// When the case fails, the runtime cannot be built, or the case exceeds 120 s.
pub fn run<S, F, Fut, C, CF>(make: F, case: C)
where
    S: Storage,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Fresh<S>>,
    C: FnOnce(Arc<S>, Clock) -> CF,
    CF: Future<Output = ()>,
{
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build a tokio runtime: {e}"),
    };
    rt.block_on(async {
        let Fresh { store, guard } = make().await;
        let clock = Clock::new(store.capability().expiry_clock);
        let store = Arc::new(store);
        if tokio::time::timeout(CASE_TIMEOUT, case(store, clock))
            .await
            .is_err()
        {
            panic!("case did not finish within {CASE_TIMEOUT:?}");
        }
        drop(guard);
    });
}

/// Runs every case from inside an existing tokio runtime (multi-threaded), each on a fresh
/// store, and returns the names of the failed cases (empty when the backend conforms).
///
/// ```
/// use session_storage::{memory::MemoryStorage, testkit::{self, Fresh}};
/// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// let failed = testkit::run_all(|| async { Fresh::new(MemoryStorage::new()) }).await;
/// assert!(failed.is_empty(), "{failed:?}");
/// # });
/// ```
pub async fn run_all<S, F, Fut>(make: F) -> Vec<&'static str>
where
    S: Storage,
    F: Fn() -> Fut,
    Fut: Future<Output = Fresh<S>>,
{
    let mut failed = Vec::new();
    for (name, case) in cases::all::<S>() {
        let Fresh { store, guard } = make().await;
        let clock = Clock::new(store.capability().expiry_clock);
        let task = tokio::spawn(tokio::time::timeout(
            CASE_TIMEOUT,
            case(Arc::new(store), clock),
        ));
        if !matches!(task.await, Ok(Ok(()))) {
            failed.push(name);
        }
        drop(guard);
    }
    failed
}

/// Expands to one `#[test]` per conformance case, each building a fresh store with the
/// given closure (`Fn() -> impl Future<Output = Fresh<S>>`). See the [`testkit`](crate::testkit)
/// module.
///
/// ```
/// use session_storage::{memory::MemoryStorage, testkit::Fresh};
/// session_storage::storage_conformance!(|| async { Fresh::new(MemoryStorage::new()) });
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! storage_conformance {
    ($make:expr $(,)?) => {
        $crate::__storage_cases!(__storage_emit_tests!($make));
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __storage_emit_tests {
    (($make:expr) $($case:ident)*) => {
        $(
            #[test]
            fn $case() {
                $crate::testkit::run($make, $crate::testkit::cases::$case);
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __storage_emit_list {
    (($s:ty) $($case:ident)*) => {
        ::std::vec![
            $(
                (
                    ::core::stringify!($case),
                    (|store, clock| ::std::boxed::Box::pin($crate::testkit::cases::$case(store, clock)))
                        as $crate::testkit::cases::CaseFn<$s>,
                ),
            )*
        ]
    };
}
