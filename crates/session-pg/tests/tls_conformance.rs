//! The storage conformance suite over TLS (`ssl = true`, `ssl_verify = false`), against the
//! real PostgreSQL. With `SESSION_PG_TLS` unset or `on` the server must offer TLS
//! (`ssl_required = true`, so every case runs encrypted); with `SESSION_PG_TLS=none` the
//! cases run with `ssl_required = false` and fall back to plain text, as pgmoon does.
#![cfg(feature = "tls")]
#![allow(missing_docs)]

mod common;

use session_pg::PostgresStorage;
use session_storage::testkit::Fresh;

async fn make() -> Fresh<PostgresStorage> {
    let server_has_tls = std::env::var("SESSION_PG_TLS").map_or(true, |v| v != "none");
    let config = common::base_config().with_ssl(server_has_tls, false);
    let (store, tables) = common::fresh_with("tlsconf", config).await;
    Fresh::with_guard(store, tables)
}

session_storage::storage_conformance!(make);
