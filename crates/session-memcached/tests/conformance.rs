//! The storage conformance suite against the shared memcached, each case under its own
//! prefix (server-clock cases really wait).

mod common;

use session_storage::testkit::Fresh;
use session_testsupport::names::unique;

session_storage::storage_conformance!(|| async {
    let config = common::config().with_prefix(unique("conf"));
    Fresh::new(common::store_with(config))
});

/// The suite's large-value case stores a 2 MiB record; memcached's default item limit is
/// 1 MiB. Say so plainly instead of leaving only that case's `SERVER_ERROR`.
#[test]
fn server_allows_the_suites_large_items() {
    common::require_server();
    let stats = common::Raw::connect().stats_settings();
    let max: usize = stats
        .get("item_size_max")
        .and_then(|v| v.parse().ok())
        .expect("`stats settings` has item_size_max");
    assert!(
        max >= 4 * 1024 * 1024,
        "memcached at {} has item_size_max {max}: the conformance suite needs `-I 4m` \
         (`memcached -d -u root -l 127.0.0.1 -p 11211 -U 0 -m 64 -A -I 4m`)",
        session_testsupport::env::memcached_addr()
    );
}
