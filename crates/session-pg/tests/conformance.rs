//! The storage conformance suite against the real PostgreSQL, each case on its own tables.
//!
//! The reference's schema keys records and metadata by `sid` alone, with no cookie-name
//! column (docs/storage.md §11.1), so the store reports `Capability::without_name_scope` and the two
//! name cases check that behaviour (one record per key, one collection whatever the name);
//! `reference_deviations.rs` pins it in detail.

mod common;

use session_pg::PostgresStorage;
use session_storage::testkit::Fresh;

async fn make() -> Fresh<PostgresStorage> {
    let (store, tables) = common::fresh("conf").await;
    Fresh::with_guard(store, tables)
}

session_storage::storage_conformance!(make);
