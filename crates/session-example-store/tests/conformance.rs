//! The storage conformance suite (every case of session-storage's testkit), on a fresh store
//! per case: all a third-party store needs to prove it behaves as the engine expects.
#![allow(missing_docs)]

use session_example_store::{CappedConfig, CappedStorage};
use session_storage::Backend as _;
use session_storage::testkit::Fresh;

session_storage::storage_conformance!(|| async {
    Fresh::new(CappedStorage::from_config(CappedConfig::default()).expect("default options"))
});
