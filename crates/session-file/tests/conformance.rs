//! The storage conformance suite against the file store (a fresh temp dir per case).

use session_file::{FileConfig, FileStorage};
use session_storage::testkit::Fresh;

session_storage::storage_conformance!(|| async {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("cannot create a temporary directory: {e}"),
    };
    let config = FileConfig::default()
        .with_path(dir.path())
        .with_suffix("session");
    match FileStorage::from_config(config) {
        Ok(store) => Fresh::with_guard(store, dir),
        Err(e) => panic!("cannot build the file store: {e}"),
    }
});
