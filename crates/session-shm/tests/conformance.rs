//! The storage conformance suite against the shm store (a private zone per case).

use session_shm::{ShmStorage, ShmZone};
use session_storage::testkit::Fresh;

session_storage::storage_conformance!(|| async {
    Fresh::new(ShmStorage::with_zone(
        ShmZone::new("conformance", 64 * 1024 * 1024),
        Some("sessions".into()),
        None,
    ))
});
