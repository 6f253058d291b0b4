//! What the integration tests of the session stores share, so that each store's `tests/`
//! holds what is particular to that store and nothing else.
//!
//! - [`env`](mod@env): server addresses and file paths from the environment, with the defaults
//!   `cargo xtask services start` uses (see `xtask/src/services.rs`);
//! - [`names`]: table names and key prefixes no other test, process or earlier run uses;
//! - [`clock`]: the wall clock in Unix seconds, as the stores take it;
//! - [`net`]: a port nothing listens on, a server that accepts and never answers, a server
//!   process of a test's own that is killed when dropped;
//! - [`faults`]: what an outage looks like to a caller of `Storage`;
//! - [`engine`]: a `session_core` configuration on a store, the cookie jar of a browser, and an
//!   open in a new request, for the engine round trips every store runs;
//! - [`rt`]: running async clean-up (dropping test tables) from a `Drop`;
//! - [`secrets`]: passwords that break naive URL parsers, and the check that none shows.
//!
//! Not published: a dev-dependency of the workspace's own crates only (see
//! `docs/architecture.md`). A helper never skips a check: when a server a test needs is absent,
//! the test fails and says which variable to set.
#![forbid(unsafe_code)]

pub mod clock;
pub mod engine;
pub mod env;
pub mod faults;
pub mod names;
pub mod net;
pub mod rt;
pub mod secrets;
