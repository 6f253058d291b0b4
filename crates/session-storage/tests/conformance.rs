//! The conformance suite against the reference in-memory store.
#![cfg(feature = "testkit")]

use session_storage::{BoxedStorage, memory::MemoryStorage, testkit::Fresh};

session_storage::storage_conformance!(|| async { Fresh::new(MemoryStorage::new()) });

mod boxed {
    //! The same suite through the run-time chosen `BoxedStorage` wrapper.
    use super::*;

    session_storage::storage_conformance!(|| async {
        Fresh::new(BoxedStorage::new(MemoryStorage::new()))
    });
}

mod the_suite_catches_broken_stores {
    //! A suite that passes everything proves nothing: deliberately broken stores must fail
    //! exactly the cases that check what they break.
    use session_storage::{
        Capability, ExpiryClock, Metadata, SessionIndex, SetRequest, Storage, StorageError,
        memory::MemoryStorage,
        testkit::{self, Fresh},
    };

    /// Which bug to simulate.
    #[derive(Clone, Copy)]
    enum Bug {
        IgnoresTtl,
        DeletesOldKeyAtOnce,
        ForgetsMetadata,
    }

    struct Broken(MemoryStorage, Bug);

    impl Storage for Broken {
        async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
            match self.1 {
                Bug::DeletesOldKeyAtOnce => {
                    let mut plain = SetRequest::new(req.name, req.key, req.value, req.ttl, req.now);
                    plain.metadata = req.metadata;
                    self.0.set(&plain).await?;
                    if let Some(old) = req.old_key {
                        self.0.delete(req.name, old, req.now, None).await?;
                    }
                    Ok(())
                }
                Bug::ForgetsMetadata => {
                    let mut plain = *req;
                    plain.metadata = None;
                    self.0.set(&plain).await
                }
                Bug::IgnoresTtl => self.0.set(req).await,
            }
        }
        async fn get(
            &self,
            name: &str,
            key: &str,
            now: i64,
        ) -> Result<Option<String>, StorageError> {
            let now = if matches!(self.1, Bug::IgnoresTtl) {
                i64::MIN
            } else {
                now
            };
            self.0.get(name, key, now).await
        }
        async fn delete(
            &self,
            name: &str,
            key: &str,
            now: i64,
            metadata: Option<&Metadata>,
        ) -> Result<(), StorageError> {
            self.0.delete(name, key, now, metadata).await
        }
        async fn read_metadata(
            &self,
            name: &str,
            audience: &str,
            subject: &str,
            now: i64,
        ) -> Result<SessionIndex, StorageError> {
            self.0.read_metadata(name, audience, subject, now).await
        }
        fn capability(&self) -> Capability {
            Capability::new(ExpiryClock::Argument)
        }
    }

    async fn failures(bug: Bug) -> Vec<&'static str> {
        testkit::run_all(move || async move { Fresh::new(Broken(MemoryStorage::new(), bug)) }).await
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn ignoring_ttl_is_caught() {
        let failed = failures(Bug::IgnoresTtl).await;
        assert!(failed.contains(&"record_expires_after_ttl"), "{failed:?}");
        assert!(
            failed.contains(&"old_key_stays_readable_for_stale_ttl_then_expires"),
            "{failed:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn deleting_old_key_at_once_is_caught() {
        let failed = failures(Bug::DeletesOldKeyAtOnce).await;
        assert!(
            failed.contains(&"old_key_stays_readable_for_stale_ttl_then_expires"),
            "{failed:?}"
        );
        assert!(
            failed.contains(&"remember_flag_does_not_change_behaviour"),
            "{failed:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn forgetting_metadata_is_caught() {
        let failed = failures(Bug::ForgetsMetadata).await;
        assert!(
            failed.contains(&"metadata_lists_every_saved_key_with_its_expiry"),
            "{failed:?}"
        );
        assert!(
            failed.contains(&"concurrent_saves_of_different_sessions_all_persist"),
            "{failed:?}"
        );
    }
}

mod server_clock {
    //! The suite's real-sleep path (for redis, memcached, dshm): MemoryStorage fed the real
    //! clock but reporting server-side TTLs, so every time step is a real sleep.
    use session_storage::{
        Capability, ExpiryClock, Metadata, SessionIndex, SetRequest, Storage, StorageError,
        memory::MemoryStorage, testkit::Fresh,
    };

    struct RealTime(MemoryStorage);

    impl Storage for RealTime {
        async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
            self.0.set(req).await
        }
        async fn get(
            &self,
            name: &str,
            key: &str,
            now: i64,
        ) -> Result<Option<String>, StorageError> {
            self.0.get(name, key, now).await
        }
        async fn delete(
            &self,
            name: &str,
            key: &str,
            now: i64,
            metadata: Option<&Metadata>,
        ) -> Result<(), StorageError> {
            self.0.delete(name, key, now, metadata).await
        }
        async fn read_metadata(
            &self,
            name: &str,
            audience: &str,
            subject: &str,
            now: i64,
        ) -> Result<SessionIndex, StorageError> {
            self.0.read_metadata(name, audience, subject, now).await
        }
        fn capability(&self) -> Capability {
            Capability::new(ExpiryClock::Server)
        }
    }

    session_storage::storage_conformance!(|| async { Fresh::new(RealTime(MemoryStorage::new())) });
}

mod without_name_scope {
    //! A store shaped like the reference's SQL tables (one record and one collection per
    //! key, whatever the cookie name) passes the suite when it says so in its capability,
    //! and fails exactly the two name cases when it claims name scope.
    use session_storage::{
        Capability, ExpiryClock, Metadata, SessionIndex, SetRequest, Storage, StorageError,
        memory::MemoryStorage,
        testkit::{self, Fresh},
    };

    /// Every cookie name is stored as this one.
    const ONE: &str = "one_table";

    struct OneTable(MemoryStorage, bool);

    impl Storage for OneTable {
        async fn set(&self, req: &SetRequest<'_>) -> Result<(), StorageError> {
            let mut one = *req;
            one.name = ONE;
            self.0.set(&one).await
        }
        async fn get(
            &self,
            _name: &str,
            key: &str,
            now: i64,
        ) -> Result<Option<String>, StorageError> {
            self.0.get(ONE, key, now).await
        }
        async fn delete(
            &self,
            _name: &str,
            key: &str,
            now: i64,
            metadata: Option<&Metadata>,
        ) -> Result<(), StorageError> {
            self.0.delete(ONE, key, now, metadata).await
        }
        async fn read_metadata(
            &self,
            _name: &str,
            audience: &str,
            subject: &str,
            now: i64,
        ) -> Result<SessionIndex, StorageError> {
            self.0.read_metadata(ONE, audience, subject, now).await
        }
        fn capability(&self) -> Capability {
            let cap = Capability::new(ExpiryClock::Argument);
            if self.1 {
                cap
            } else {
                cap.without_name_scope()
            }
        }
    }

    #[tokio::test]
    async fn passes_when_declared() {
        let failed =
            testkit::run_all(|| async { Fresh::new(OneTable(MemoryStorage::new(), false)) }).await;
        assert!(failed.is_empty(), "{failed:?}");
    }

    #[tokio::test]
    async fn is_caught_when_claiming_name_scope() {
        let failed =
            testkit::run_all(|| async { Fresh::new(OneTable(MemoryStorage::new(), true)) }).await;
        assert_eq!(
            failed,
            [
                "records_are_namespaced_by_cookie_name",
                "metadata_collections_are_separate"
            ]
        );
    }
}
