//! The storage conformance suite against the sentinel deployment, each case under its own prefix.

mod common;

use session_storage::testkit::Fresh;

session_storage::storage_conformance!(|| async {
    let config = common::sentinel_config().with_prefix(common::unique("sentinel"));
    Fresh::new(common::store(config))
});
