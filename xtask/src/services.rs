//! Throwaway test servers on loopback for `cargo xtask test`.
//!
//! `start` brings up every server the storage tests need (installing the
//! Debian packages when missing and permitted), exports their addresses in
//! the environment variables the tests read, and returns a guard that stops
//! them when dropped. Servers a person already runs can be used instead by
//! setting those variables and `SESSION_SERVICES=external`.
//!
//! No storage backend needs a server yet; the Redis, memcached and SQL
//! issues add theirs here.

/// Running test servers; dropping it stops them.
#[derive(Debug, Default)]
pub(crate) struct Services {}

impl Drop for Services {
    fn drop(&mut self) {
        // Nothing to stop yet.
    }
}

/// Starts the test servers and exports their addresses.
pub(crate) fn start() -> Result<Services, String> {
    Ok(Services::default())
}
