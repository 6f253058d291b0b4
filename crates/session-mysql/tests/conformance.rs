//! The storage conformance suite against the real server, each case on its own tables:
//! once on the reference schema with the default `ascii` connection (module `reference`),
//! once on the same schema with `CHARACTER SET utf8mb4` and a `utf8mb4` connection (module
//! `utf8mb4`).
//!
//! The reference keys records by `sid` alone (`sid CHAR(43) PRIMARY KEY`, `GET ... WHERE
//! sid = ?`) and GET_META filters by `aud` and `sub` only, so the store reports
//! `Capability::without_name_scope` and the suite's two name cases check exactly that: one
//! record per key and one collection whatever the cookie name. Real session keys are 32
//! random bytes, so neither matters in practice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

/// The reference schema (`CHARACTER SET ascii`) and connection character set (`ascii`).
mod reference {
    use super::common;
    use session_mysql::MysqlStorage;
    use session_storage::testkit::Fresh;

    async fn make() -> Fresh<MysqlStorage> {
        let (store, tables) = common::fresh_with("conf", "ascii", common::config()).await;
        Fresh::with_guard(store, tables)
    }

    session_storage::storage_conformance!(make);
}

/// The reference schema with `CHARACTER SET utf8mb4`, and a `utf8mb4` connection.
mod utf8mb4 {
    use super::common;
    use session_mysql::MysqlStorage;
    use session_storage::testkit::Fresh;

    async fn make() -> Fresh<MysqlStorage> {
        let (store, tables) = common::fresh_with("conf8", "utf8mb4", common::config()).await;
        Fresh::with_guard(store, tables)
    }

    session_storage::storage_conformance!(make);
}
