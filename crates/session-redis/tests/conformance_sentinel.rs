//! The storage conformance suite against the sentinel deployment, each case under its own prefix.

mod common;

use session_storage::testkit::Fresh;
use session_testsupport::names::unique;

session_storage::storage_conformance!(|| async {
    let config = common::sentinel_config().with_prefix(unique("sentinel"));
    Fresh::new(common::store(config))
});
