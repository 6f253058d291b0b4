//! The storage conformance suite against the in-process DSHM test server (a fresh server per
//! case, prefix `sessions` as in the reference's dshm tests; server-clock cases really wait).

mod support;

use session_storage::testkit::Fresh;

session_storage::storage_conformance!(|| async {
    let server = support::TestServer::start();
    let store = support::store(&server);
    Fresh::with_guard(store, server)
});
