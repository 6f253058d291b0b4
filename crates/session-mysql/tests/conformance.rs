//! The storage conformance suite against the real server, each case on its own tables:
//! once on the reference schema with the default `ascii` connection (module `reference`),
//! once on the same schema with `CHARACTER SET utf8mb4` and a `utf8mb4` connection (module
//! `utf8mb4`).
//!
//! Two cases check a property the reference's MySQL design does not have, and are run here
//! expecting their failure, so a change of behaviour is noticed:
//! - `records_are_namespaced_by_cookie_name`: the reference keys records by `sid` alone
//!   (`sid CHAR(43) PRIMARY KEY`, `GET ... WHERE sid = ?`), so the same key under two cookie
//!   names is one row;
//! - `metadata_collections_are_separate`: GET_META joins on `sid` and filters by `aud` and
//!   `sub` only, so a collection is shared by every cookie name.
//!
//! Real session keys are 32 random bytes, so neither matters in practice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use session_mysql::MysqlStorage;
use session_storage::testkit::{self, Fresh, cases};

macro_rules! conformance {
    ($($case:ident)*) => {
        $(
            #[test]
            fn $case() {
                testkit::run(make, cases::$case);
            }
        )*
        const PASSING: &[&str] = &[$(stringify!($case)),*];

        #[test]
        fn every_conformance_case_is_run() {
            for (name, _) in cases::all::<MysqlStorage>() {
                assert!(
                    PASSING.contains(&name) || super::NOT_IN_THE_REFERENCE.contains(&name),
                    "conformance case {name} is not run against mysql"
                );
            }
            assert_eq!(
                cases::all::<MysqlStorage>().len(),
                PASSING.len() + super::NOT_IN_THE_REFERENCE.len()
            );
        }

        #[test]
        fn records_are_keyed_by_sid_alone_as_in_the_reference() {
            let outcome = std::panic::catch_unwind(|| {
                testkit::run(make, cases::records_are_namespaced_by_cookie_name);
            });
            assert!(
                outcome.is_err(),
                "the same key under two cookie names became two records: \
                 the reference keys by sid alone"
            );
        }

        #[test]
        fn metadata_collections_are_shared_by_cookie_names_as_in_the_reference() {
            let outcome = std::panic::catch_unwind(|| {
                testkit::run(make, cases::metadata_collections_are_separate);
            });
            assert!(
                outcome.is_err(),
                "read_metadata filtered by cookie name: the reference's GET_META does not"
            );
        }
    };
}

macro_rules! all_cases {
    () => {
        conformance! {
            set_then_get_returns_value
            get_of_missing_key_returns_none
            set_overwrites_existing_record
            delete_removes_record
            delete_of_missing_key_succeeds
            value_round_trips_byte_for_byte
            large_value_round_trips
            names_and_keys_with_every_engine_character_work
            record_expires_after_ttl
            old_key_stays_readable_for_stale_ttl_then_expires
            save_with_missing_old_key_does_not_create_it
            remember_flag_does_not_change_behaviour
            metadata_lists_every_saved_key_with_its_expiry
            metadata_prunes_expired_entries
            metadata_drops_old_key_after_save_with_old_key
            delete_with_metadata_removes_key_from_collection
            metadata_with_raw_subjects_works
            read_metadata_of_unknown_collection_is_empty
            concurrent_saves_of_different_sessions_all_persist
            concurrent_saves_of_one_session_never_tear
        }
    };
}

/// The reference schema (`CHARACTER SET ascii`) and connection character set (`ascii`).
mod reference {
    use super::*;

    async fn make() -> Fresh<MysqlStorage> {
        let (store, tables) = common::fresh_with("conf", "ascii", common::config()).await;
        Fresh::with_guard(store, tables)
    }

    all_cases!();
}

/// The reference schema with `CHARACTER SET utf8mb4`, and a `utf8mb4` connection.
mod utf8mb4 {
    use super::*;

    async fn make() -> Fresh<MysqlStorage> {
        let (store, tables) = common::fresh_with("conf8", "utf8mb4", common::config()).await;
        Fresh::with_guard(store, tables)
    }

    all_cases!();
}

/// The cases the reference's schema cannot pass (see the module docs).
const NOT_IN_THE_REFERENCE: &[&str] = &[
    "records_are_namespaced_by_cookie_name",
    "metadata_collections_are_separate",
];
