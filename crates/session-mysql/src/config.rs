//! The `mysql = { ... }` configuration block, with lua-resty-session's option names.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use session_storage::StorageError;

/// Default sessions table (`table`).
pub(crate) const DEFAULT_TABLE: &str = "sessions";

// The struct below, plus the socket fields every networked store has (`connect_timeout`,
// `send_timeout`, `read_timeout`, `keepalive_timeout`, `pool`, `pool_size`, `backlog`).
session_net::socket_config! {
    /// The `mysql` (or `mariadb`) options block of lua-resty-session (docs/storage.md §12.2),
    /// deserializable from the same names.
    ///
    /// | option | default | notes |
    /// |---|---|---|
    /// | `host` | `127.0.0.1` | |
    /// | `port` | `3306` | |
    /// | `socket` | none | Unix socket path; replaces host and port |
    /// | `username` | none | |
    /// | `password` | none | hidden by `Debug` |
    /// | `charset` | `ascii` | connection character set, sent as `SET NAMES` on every connection |
    /// | `database` | none | |
    /// | `table` (alias `table_name`) | `sessions` | may be `database.table` |
    /// | `table_meta` (alias `table_name_meta`) | `<table>_meta` | |
    /// | `max_packet_size` | the server's `max_allowed_packet` | largest packet accepted, bytes |
    /// | `connect_timeout` | 60 000 | milliseconds; also bounds waiting for a pooled connection |
    /// | `send_timeout`, `read_timeout` | 60 000 each | milliseconds; their sum bounds each statement |
    /// | `keepalive_timeout` | 60 000 | milliseconds an idle pooled connection is kept |
    /// | `operation_timeout` | 5 000 | milliseconds for the whole operation (checkout, connect, statements, deadlock retries); ours, not Lua's: see docs/failure-behaviour.md |
    /// | `pool_size` | 30 | largest number of open connections |
    /// | `pool`, `backlog` | — | accepted for compatibility; each store has its own pool, and waiting for a connection is bounded by `connect_timeout` |
    /// | `ssl` | `false` | connect with TLS (feature `tls`, on by default; without it `true` is a configuration error) |
    /// | `ssl_verify` | `true` (OpenResty: `false`) | with `ssl`: verify the certificate chain and the host name; `false` accepts any certificate |
    /// | `server_name` | `host` | Rust only: the name sent in SNI and checked against the certificate (useful when `host` is an IP address) |
    /// | `ssl_trusted_certificate` | web PKI roots | Rust only: a PEM file of CA certificates to trust (instead of the web PKI roots) when `ssl_verify` is true |
    ///
    /// # TLS
    ///
    /// With `ssl = true` the client asks the server to switch to TLS during the MySQL handshake
    /// (rustls, ring provider, TLS 1.2 or 1.3), before credentials are sent. A server that does
    /// not offer TLS makes the connection fail with a configuration error: there is no silent
    /// fall-back to plain text. `ssl = true` together with `socket` is a configuration error
    /// (TLS is not used over a Unix socket).
    ///
    /// Certificates are verified unless `ssl_verify = false` — a deliberate difference from
    /// lua-resty-mysql, which verifies only when asked (as session-pg, session-redis and
    /// session-memcached do too): a Lua configuration with `ssl = true` against a self-signed
    /// server needs `ssl_verify = false` or `ssl_trusted_certificate` here. With
    /// `ssl_verify = false` any certificate is accepted: the traffic is encrypted but the server
    /// is **not authenticated**, so an active attacker on the path can impersonate it, exactly as
    /// with the Lua storage. When verifying, the chain must lead to a web PKI root (or, instead,
    /// to a CA of `ssl_trusted_certificate`, like OpenResty's `lua_ssl_trusted_certificate`) and
    /// the certificate must name `server_name` (default `host`; an IP address host is matched
    /// against the certificate's IP addresses). A certificate that fails verification is a
    /// configuration error (retrying will not help) whose message says so. The driver uses
    /// rustls's process-wide default crypto provider: building a store with `ssl = true` installs
    /// ring as that default unless the application has already installed one.
    ///
    /// ```
    /// use session_mysql::MysqlConfig;
    ///
    /// let config: MysqlConfig = serde_json::from_str(r#"{
    ///     "host": "10.0.0.7",
    ///     "ssl": true,
    ///     "server_name": "db.internal",
    ///     "ssl_trusted_certificate": "/etc/ssl/internal-ca.pem"
    /// }"#).unwrap();
    /// assert_eq!(config.server_name.as_deref(), Some("db.internal"));
    /// assert_eq!(config.validate().is_ok(), cfg!(feature = "tls"));
    /// ```
    ///
    /// The reference code reads `table` and `table_meta`; its README calls them `table_name` and
    /// `table_name_meta`. Both spellings are accepted. Unknown option names are rejected, so a
    /// typo does not go unnoticed. `Debug` hides the password.
    ///
    /// ```
    /// use session_mysql::MysqlConfig;
    ///
    /// let config: MysqlConfig = serde_json::from_str(r#"{
    ///     "host": "db.internal",
    ///     "username": "app",
    ///     "password": "secret",
    ///     "database": "sessions_db",
    ///     "table_name": "web_sessions",
    ///     "connect_timeout": 500
    /// }"#).unwrap();
    /// assert_eq!(config.table_names(), ("web_sessions".to_owned(), "web_sessions_meta".to_owned()));
    /// assert!(!format!("{config:?}").contains("secret"));
    /// ```
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    #[non_exhaustive]
    pub struct MysqlConfig {
        /// Server host. Default `127.0.0.1`.
        pub host: Option<String>,
        /// Server port. Default 3306.
        pub port: Option<u16>,
        /// Unix socket path (a bare path); when set, `host` and `port` are not used.
        pub socket: Option<String>,
        /// User name.
        pub username: Option<String>,
        /// Password.
        pub password: Option<String>,
        /// Connection character set. Default `ascii`, as in the reference.
        pub charset: Option<String>,
        /// Database (schema) to use.
        pub database: Option<String>,
        /// Sessions table. Default `sessions`.
        #[serde(alias = "table_name")]
        pub table: Option<String>,
        /// Metadata table. Default `<table>_meta`.
        #[serde(alias = "table_name_meta")]
        pub table_meta: Option<String>,
        /// Largest packet accepted, bytes. Default: the server's `max_allowed_packet`.
        pub max_packet_size: Option<usize>,
        /// Connect with TLS (needs the `tls` feature). Default false. See the
        /// [TLS section](MysqlConfig#tls).
        pub ssl: Option<bool>,
        /// With `ssl`: verify the server certificate and name. Default **true** (OpenResty's
        /// default is false; see the [TLS section](MysqlConfig#tls)).
        pub ssl_verify: Option<bool>,
        /// With `ssl`: the name sent in SNI and checked against the certificate. Default `host`.
        pub server_name: Option<String>,
        /// With `ssl`: a PEM file of CA certificates trusted instead of the web PKI roots when
        /// `ssl_verify` is true. Read when the store is built.
        pub ssl_trusted_certificate: Option<PathBuf>,
    }
}

impl fmt::Debug for MysqlConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("MysqlConfig");
        d.field("host", &self.host)
            .field("port", &self.port)
            .field("socket", &self.socket)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("charset", &self.charset)
            .field("database", &self.database)
            .field("table", &self.table)
            .field("table_meta", &self.table_meta)
            .field("max_packet_size", &self.max_packet_size);
        self.debug_socket_fields(&mut d)
            .field("ssl", &self.ssl)
            .field("ssl_verify", &self.ssl_verify)
            .field("server_name", &self.server_name)
            .field("ssl_trusted_certificate", &self.ssl_trusted_certificate)
            .finish()
    }
}

/// Timeouts and pool limits after defaults are applied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) connect: Duration,
    pub(crate) statement: Duration,
    pub(crate) keepalive: Duration,
    pub(crate) pool_size: usize,
    /// `operation_timeout`: the whole operation.
    pub(crate) operation: Duration,
}

/// The store's name in error messages (and its options block).
pub(crate) const STORE: &str = "mysql";

fn bad(option: &str, why: impl fmt::Display) -> StorageError {
    StorageError::config(format!("{STORE} option `{option}`: {why}"))
}

// `with_host`, `with_socket`, `with_timeouts`, `with_pool_size`, `with_ssl`, `with_server_name`,
// `with_trusted_certificate` and `socket_limits`, as every networked store has them.
session_net::socket_options!(
    MysqlConfig in session_mysql: host, socket, timeouts, pool_size, ssl, server_name, trusted_certificate, limits, options_mut, debug
);

/// Checks a table name: `name` or `database.name`, each part 1..=64 characters from
/// `[A-Za-z0-9_$]`. Table names are spliced into the SQL text, so nothing else is allowed.
fn check_table(option: &str, name: &str) -> Result<(), StorageError> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 2 {
        return Err(bad(option, "at most one `.` (database.table)"));
    }
    for part in parts {
        if part.is_empty() || part.len() > 64 {
            return Err(bad(option, "each name part must be 1 to 64 characters"));
        }
        if !part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
        {
            return Err(bad(
                option,
                format!("{name:?} may only contain letters, digits, `_`, `$` and one `.`"),
            ));
        }
    }
    Ok(())
}

/// Backtick-quotes a validated `name` or `database.name`.
pub(crate) fn quote_table(name: &str) -> String {
    name.split('.')
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(".")
}

/// Checks a character set name (spliced into `SET NAMES`).
pub(crate) fn check_charset(option: &str, charset: &str) -> Result<(), StorageError> {
    if charset.is_empty()
        || charset.len() > 32
        || !charset
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(bad(
            option,
            format!("{charset:?} is not a character set name"),
        ));
    }
    Ok(())
}

impl MysqlConfig {
    /// Sets user name and password.
    ///
    /// ```
    /// let config = session_mysql::MysqlConfig::default().with_auth("app", "secret");
    /// assert_eq!(config.username.as_deref(), Some("app"));
    /// ```
    #[must_use]
    pub fn with_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// Sets the database.
    ///
    /// ```
    /// let config = session_mysql::MysqlConfig::default().with_database("test");
    /// assert_eq!(config.database.as_deref(), Some("test"));
    /// ```
    #[must_use]
    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// Sets the sessions table and, optionally, the metadata table (default `<table>_meta`).
    ///
    /// ```
    /// let config = session_mysql::MysqlConfig::default().with_tables("s", None);
    /// assert_eq!(config.table_names(), ("s".to_owned(), "s_meta".to_owned()));
    /// ```
    #[must_use]
    pub fn with_tables(mut self, table: impl Into<String>, table_meta: Option<String>) -> Self {
        self.table = Some(table.into());
        self.table_meta = table_meta;
        self
    }

    /// Sets the connection character set.
    ///
    /// ```
    /// let config = session_mysql::MysqlConfig::default().with_charset("utf8mb4");
    /// assert_eq!(config.charset.as_deref(), Some("utf8mb4"));
    /// ```
    #[must_use]
    pub fn with_charset(mut self, charset: impl Into<String>) -> Self {
        self.charset = Some(charset.into());
        self
    }

    /// The sessions and metadata table names after defaults: `table` (default `sessions`)
    /// and `table_meta` (default `<table>_meta`).
    ///
    /// ```
    /// let config = session_mysql::MysqlConfig::default();
    /// assert_eq!(config.table_names(), ("sessions".to_owned(), "sessions_meta".to_owned()));
    /// ```
    #[must_use]
    pub fn table_names(&self) -> (String, String) {
        let table = self
            .table
            .clone()
            .unwrap_or_else(|| DEFAULT_TABLE.to_owned());
        let meta = self
            .table_meta
            .clone()
            .unwrap_or_else(|| format!("{table}_meta"));
        (table, meta)
    }

    /// The connection character set after defaults (`ascii`).
    pub(crate) fn charset_name(&self) -> &str {
        self.charset.as_deref().unwrap_or("ascii")
    }

    /// The address for messages: `host:port` or the socket path.
    pub(crate) fn address(&self) -> String {
        match &self.socket {
            Some(path) => format!("unix:{path}"),
            None => format!(
                "{}:{}",
                self.host.as_deref().unwrap_or("127.0.0.1"),
                self.port.unwrap_or(3306)
            ),
        }
    }

    /// Timeouts and pool size with OpenResty's defaults applied.
    pub(crate) fn limits(&self) -> Limits {
        let net = self.socket_limits().or_defaults();
        Limits {
            connect: net.connect,
            statement: net.send.saturating_add(net.read),
            keepalive: net.keepalive,
            pool_size: net.pool_size,
            operation: net.operation,
        }
    }

    /// Checks what can be checked without a server; errors name the option. `ssl = true`
    /// needs the `tls` feature and host and port (not `socket`). The
    /// `ssl_trusted_certificate` file is read when the store is built, not here.
    ///
    /// ```
    /// use session_mysql::MysqlConfig;
    /// assert!(MysqlConfig::default().validate().is_ok());
    /// assert_eq!(MysqlConfig::default().with_ssl(true).validate().is_ok(), cfg!(feature = "tls"));
    /// let err = MysqlConfig::default().with_tables("bad name", None).validate().unwrap_err();
    /// assert!(err.message().contains("`table`"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config) naming the offending option.
    pub fn validate(&self) -> Result<(), StorageError> {
        self.socket_limits().validate(STORE)?;
        if self
            .max_packet_size
            .is_some_and(|size| !(1024..=1024 * 1024 * 1024).contains(&size))
        {
            return Err(bad("max_packet_size", "must be 1024 to 1073741824 bytes"));
        }
        if self.ssl == Some(true) {
            if !cfg!(feature = "tls") {
                return Err(bad(
                    "ssl",
                    "= true needs session-mysql's `tls` feature (enable it, or remove `ssl`)",
                ));
            }
            if self.socket.is_some() {
                return Err(bad(
                    "ssl",
                    "= true cannot be used with `socket` (TLS is not used over a Unix socket; \
                     connect with host and port, or remove `ssl`)",
                ));
            }
        }
        if self.server_name.as_deref() == Some("") {
            return Err(bad("server_name", "must not be empty"));
        }
        if self.host.as_deref() == Some("") {
            return Err(bad("host", "must not be empty"));
        }
        if self.socket.as_deref() == Some("") {
            return Err(bad("socket", "must not be empty"));
        }
        if self.port == Some(0) {
            return Err(bad("port", "must not be 0"));
        }
        check_charset("charset", self.charset_name())?;
        let (table, meta) = self.table_names();
        check_table("table", &table)?;
        check_table("table_meta", &meta)?;
        Ok(())
    }

    /// A configuration from a URL:
    /// `mysql://[username[:password]@]host[:port][/database][?option=value&...]`, where the
    /// options are any of this block's names (`table`, `charset`, `connect_timeout`, ...).
    /// `mariadb://` is accepted as a synonym, and `mysql+unix:///path/to.sock[?options]` (or
    /// `unix:///path...`) selects a Unix socket. User name and password may be
    /// percent-encoded.
    ///
    /// ```
    /// use session_mysql::MysqlConfig;
    ///
    /// let c = MysqlConfig::from_url("mysql://app:s%40cret@10.0.0.1:3307/test?table=web&connect_timeout=500")?;
    /// assert_eq!((c.host.as_deref(), c.port), (Some("10.0.0.1"), Some(3307)));
    /// assert_eq!(c.password.as_deref(), Some("s@cret"));
    /// assert_eq!(c.database.as_deref(), Some("test"));
    /// assert_eq!(c.table_names().0, "web");
    /// assert_eq!(c.connect_timeout, Some(500));
    ///
    /// let c = MysqlConfig::from_url("mysql+unix:///run/mysqld/mysqld.sock?database=test")?;
    /// assert_eq!(c.socket.as_deref(), Some("/run/mysqld/mysqld.sock"));
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config) when the URL is malformed or
    /// names an unknown option.
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        crate::url::parse(url)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use session_storage::ErrorKind;

    #[test]
    fn defaults() {
        let c = MysqlConfig::default();
        assert_eq!(c.table_names(), ("sessions".into(), "sessions_meta".into()));
        assert_eq!(c.charset_name(), "ascii");
        assert_eq!(c.address(), "127.0.0.1:3306");
        let l = c.limits();
        assert_eq!(l.connect, Duration::from_secs(60));
        assert_eq!(l.statement, Duration::from_secs(120));
        assert_eq!(l.pool_size, 30);
    }

    #[test]
    fn lua_and_readme_names_are_both_accepted() {
        let c: MysqlConfig =
            serde_json::from_str(r#"{"table":"a","table_meta":"b","username":"u"}"#).unwrap();
        assert_eq!(c.table_names(), ("a".into(), "b".into()));
        let c: MysqlConfig =
            serde_json::from_str(r#"{"table_name":"a","table_name_meta":"b"}"#).unwrap();
        assert_eq!(c.table_names(), ("a".into(), "b".into()));
        assert!(serde_json::from_str::<MysqlConfig>(r#"{"tabel":"a"}"#).is_err());
    }

    #[test]
    fn validation_names_the_option() {
        let cases: Vec<(MysqlConfig, &str)> = vec![
            (
                MysqlConfig::default().with_timeouts(0, 1, 1),
                "connect_timeout",
            ),
            (
                MysqlConfig::default().with_timeouts(1, 1, 0),
                "read_timeout",
            ),
            (
                MysqlConfig::default().with_tables("a;drop", None),
                "`table`",
            ),
            (
                MysqlConfig::default().with_tables("a", Some("x y".into())),
                "table_meta",
            ),
            (MysqlConfig::default().with_tables("a.b.c", None), "`table`"),
            (MysqlConfig::default().with_charset("utf8'"), "charset"),
            (
                MysqlConfig::default()
                    .with_socket("/s.sock")
                    .with_ssl(false),
                "`ssl`",
            ),
            (MysqlConfig::default().with_server_name(""), "server_name"),
            (
                MysqlConfig {
                    pool_size: Some(0),
                    ..MysqlConfig::default()
                },
                "pool_size",
            ),
        ];
        for (c, option) in cases {
            let err = c.validate().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.message().contains(option), "{err} lacks {option}");
        }
        let ok = MysqlConfig {
            ssl: Some(false),
            ssl_verify: Some(true),
            ..MysqlConfig::default().with_tables("db1.sessions", None)
        };
        ok.validate().unwrap();
        let tls = MysqlConfig::default().with_ssl(true).validate();
        if cfg!(feature = "tls") {
            tls.unwrap();
        } else {
            let err = tls.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(err.message().contains("`tls` feature"), "{err}");
        }
        assert_eq!(quote_table("db1.sessions_meta"), "`db1`.`sessions_meta`");
    }

    #[test]
    fn debug_hides_the_password() {
        let c = MysqlConfig::default().with_auth("u", "hunter2");
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2") && s.contains("<redacted>"), "{s}");
    }
}
