//! The storage conformance suite against the single deployment, each case under its own prefix.

mod common;

use session_storage::testkit::Fresh;
use session_testsupport::names::unique;

session_storage::storage_conformance!(|| async {
    let config = common::single_config().with_prefix(unique("single"));
    Fresh::new(common::store(config))
});
