//! The `postgres = { ... }` configuration block, with lua-resty-session's option names.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use session_storage::StorageError;

/// Default sessions table (docs/storage.md §11.2).
pub const DEFAULT_TABLE: &str = "sessions";

// The struct below, plus the socket fields every networked store has (`connect_timeout`,
// `send_timeout`, `read_timeout`, `keepalive_timeout`, `pool`, `pool_size`, `backlog`).
session_net::socket_config! {
    /// The `postgres` (or `postgresql`) options block of lua-resty-session (docs/storage.md §11.2),
    /// deserializable from the same names.
    ///
    /// | option | default | notes |
    /// |---|---|---|
    /// | `host` | `127.0.0.1` | a path starting with `/` is a unix-socket directory |
    /// | `port` | `5432` | |
    /// | `application` | none (the server shows no name) | `application_name`; pgmoon would send `pgmoon` |
    /// | `username` | `postgres` | as pgmoon |
    /// | `password` | none | hidden by `Debug` |
    /// | `database` | none (the server uses the user name) | |
    /// | `table` (alias `table_name`) | `sessions` | may be schema-qualified (`app.sessions`) |
    /// | `table_meta` (alias `table_name_meta`) | `<table>_meta` | |
    /// | `connect_timeout` | 60 000 ms | connecting, and waiting for a pooled connection |
    /// | `send_timeout` + `read_timeout` | 60 000 ms each | their sum bounds the statements of one operation |
    /// | `keepalive_timeout` | 60 000 ms | a pooled connection idle longer is closed instead of reused |
    /// | `operation_timeout` | 5 000 ms | the whole operation (checkout, connect, statements); ours, not Lua's: see docs/failure-behaviour.md |
    /// | `pool_size` | 30 | most connections open at once |
    /// | `pool`, `backlog` | — | accepted for compatibility; each store has its own pool |
    /// | `ssl` | `false` | ask the server for TLS (feature `tls`, on by default; without it `true` is a configuration error) |
    /// | `ssl_required` | `false` | with `ssl`: fail when the server does not offer TLS; otherwise fall back to plain text, as pgmoon does |
    /// | `ssl_verify` | `true` (pgmoon: `false`) | with `ssl`: verify the certificate chain and the host name; `false` accepts any certificate |
    /// | `server_name` | `host` | Rust only: the name sent in SNI and checked against the certificate (useful when `host` is an IP address) |
    /// | `ssl_trusted_certificate` | web PKI roots | Rust only: a PEM file of CA certificates to trust (instead of the web PKI roots) when `ssl_verify` is true |
    ///
    /// # TLS
    ///
    /// As with pgmoon, `ssl = true` sends PostgreSQL's `SSLRequest`. If the server accepts, the
    /// connection is TLS (rustls, ring provider, TLS 1.2 or 1.3). If it declines, the connection
    /// fails with `ssl_required = true` and continues **in plain text** otherwise, so set
    /// `ssl_required = true` whenever the traffic must be encrypted. `ssl_required = true` without
    /// `ssl = true` is a configuration error (pgmoon silently ignores it).
    ///
    /// Certificates are verified unless `ssl_verify = false` — a deliberate difference from
    /// pgmoon, which verifies only when asked (as session-redis and session-memcached do too): a
    /// Lua configuration with `ssl = true` against a self-signed server needs `ssl_verify = false`
    /// or `ssl_trusted_certificate` here. With `ssl_verify = false` any certificate is accepted:
    /// the traffic is encrypted but the server is **not authenticated**, so an active attacker on
    /// the path can impersonate it, exactly as with the Lua storage. When verifying, the chain must
    /// lead to a web PKI root (or to a CA of `ssl_trusted_certificate`, like OpenResty's
    /// `lua_ssl_trusted_certificate`) and the certificate must name `server_name` (default
    /// `host`; an IP address host is matched against the certificate's IP addresses). SCRAM
    /// authentication does not use channel binding. TLS over a unix socket is not attempted
    /// (the server declines it).
    ///
    /// The timeout defaults are OpenResty's socket defaults, which the reference inherits.
    /// Unknown option names are rejected, so a typo does not go unnoticed. Timeouts are
    /// milliseconds, as in Lua. There is no prefix, suffix or socket option (as in the reference).
    ///
    /// ```
    /// use session_pg::PostgresConfig;
    ///
    /// let config: PostgresConfig = serde_json::from_str(r#"{
    ///     "host": "127.0.0.1", "port": 5432,
    ///     "username": "app", "password": "secret", "database": "app",
    ///     "table_name": "sessions", "connect_timeout": 1000
    /// }"#).unwrap();
    /// assert_eq!(config.table_name(), "sessions");
    /// assert_eq!(config.table_meta_name(), "sessions_meta");
    /// assert!(!format!("{config:?}").contains("secret"));
    /// ```
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    #[non_exhaustive]
    pub struct PostgresConfig {
        /// Server host name or IP address (or a unix-socket directory starting with `/`).
        /// Default `127.0.0.1`.
        pub host: Option<String>,
        /// Server port. Default 5432.
        pub port: Option<u16>,
        /// `application_name` reported to the server.
        #[serde(alias = "application_name")]
        pub application: Option<String>,
        /// Role to log in as. Default `postgres`.
        #[serde(alias = "user")]
        pub username: Option<String>,
        /// Password of `username`.
        pub password: Option<String>,
        /// Database. Default: the server's default (the user name).
        pub database: Option<String>,
        /// Sessions table, optionally schema-qualified. Default `sessions`. The reference's
        /// README calls it `table_name`, its code reads `table`; both are accepted.
        #[serde(alias = "table_name")]
        pub table: Option<String>,
        /// Metadata table. Default `<table>_meta`. README name `table_name_meta` accepted.
        #[serde(alias = "table_name_meta")]
        pub table_meta: Option<String>,
        /// Ask the server for TLS (needs the `tls` feature). Default false.
        pub ssl: Option<bool>,
        /// Verify the server certificate chain and host name. Default true (pgmoon: false);
        /// `false` accepts any certificate, which encrypts without authenticating the server.
        pub ssl_verify: Option<bool>,
        /// Fail when the server does not offer TLS instead of continuing in plain text. Needs
        /// `ssl = true`. Default false.
        pub ssl_required: Option<bool>,
        /// Rust only: name sent in SNI and checked against the certificate, when it differs
        /// from `host` (for example when `host` is an IP address). Default: `host`.
        pub server_name: Option<String>,
        /// Rust only: a PEM file of CA certificates to trust instead of the web PKI roots, unless
        /// `ssl_verify` is false. Read when the store is built.
        pub ssl_trusted_certificate: Option<PathBuf>,
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PostgresConfig");
        d.field("host", &self.host)
            .field("port", &self.port)
            .field("application", &self.application)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .field("table", &self.table)
            .field("table_meta", &self.table_meta);
        self.debug_socket_fields(&mut d)
            .field("ssl", &self.ssl)
            .field("ssl_verify", &self.ssl_verify)
            .field("ssl_required", &self.ssl_required)
            .field("server_name", &self.server_name)
            .field("ssl_trusted_certificate", &self.ssl_trusted_certificate)
            .finish()
    }
}

/// Timeouts and pool limits after defaults are applied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) connect: Duration,
    pub(crate) statements: Duration,
    pub(crate) keepalive: Duration,
    pub(crate) pool_size: usize,
    pub(crate) operation: Duration,
}

impl From<session_net::options::Limits> for Limits {
    fn from(net: session_net::options::Limits) -> Self {
        Self {
            connect: net.connect,
            statements: net.send.saturating_add(net.read),
            keepalive: net.keepalive,
            pool_size: net.pool_size,
            operation: net.operation,
        }
    }
}

impl Limits {
    /// The longest one operation may take (`operation_timeout`): waiting for a pooled
    /// connection, opening one, then its statements.
    pub(crate) fn operation_deadline(&self) -> Duration {
        self.operation
    }
}

/// The store's name in error messages (and its options block).
pub(crate) const STORE: &str = "postgres";

fn bad(option: &str, why: impl fmt::Display) -> StorageError {
    StorageError::config(format!("{STORE} option `{option}` {why}"))
}

// `with_host`, `with_timeouts`, `with_pool_size`, `with_server_name`,
// `with_trusted_certificate` and `socket_limits`, as every networked store has them.
session_net::socket_options!(
    PostgresConfig in session_pg: host, timeouts, pool_size, server_name, trusted_certificate, limits, options_mut, debug
);

/// Checks a table name before it is spliced into SQL: one to three dot-separated parts, each
/// a plain identifier (`[A-Za-z_][A-Za-z0-9_$]*`) or a double-quoted one without `"` or
/// control characters.
fn check_table(option: &str, name: &str) -> Result<(), StorageError> {
    if name.is_empty() {
        return Err(bad(option, "must not be empty"));
    }
    let mut parts = 0;
    let mut rest = name;
    loop {
        parts += 1;
        let tail = if let Some(quoted) = rest.strip_prefix('"') {
            let (inner, tail) = quoted
                .split_once('"')
                .ok_or_else(|| bad(option, format!("has an unclosed quote: {name:?}")))?;
            if inner.is_empty() || inner.chars().any(char::is_control) {
                return Err(bad(option, format!("has an invalid quoted part: {name:?}")));
            }
            tail
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            let (ident, tail) = rest.split_at(end);
            let mut chars = ident.chars();
            let first_ok = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
                return Err(bad(
                    option,
                    format!("must be a (schema-qualified) SQL identifier, got {name:?}"),
                ));
            }
            tail
        };
        match tail.strip_prefix('.') {
            None if tail.is_empty() => break,
            Some(next) if parts < 3 => rest = next,
            _ => {
                return Err(bad(
                    option,
                    format!("must be a (schema-qualified) SQL identifier, got {name:?}"),
                ));
            }
        }
    }
    Ok(())
}

impl PostgresConfig {
    /// Sets the login role and, optionally, its password.
    ///
    /// ```
    /// let config = session_pg::PostgresConfig::default().with_auth("app", Some("secret"));
    /// assert_eq!(config.username.as_deref(), Some("app"));
    /// ```
    #[must_use]
    pub fn with_auth(mut self, username: impl Into<String>, password: Option<&str>) -> Self {
        self.username = Some(username.into());
        self.password = password.map(str::to_owned);
        self
    }

    /// Sets the database.
    ///
    /// ```
    /// let config = session_pg::PostgresConfig::default().with_database("app");
    /// assert_eq!(config.database.as_deref(), Some("app"));
    /// ```
    #[must_use]
    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// Sets the sessions table and, optionally, the metadata table (default `<table>_meta`).
    ///
    /// ```
    /// let config = session_pg::PostgresConfig::default().with_tables("app.sessions", None);
    /// assert_eq!(config.table_meta_name(), "app.sessions_meta");
    /// ```
    #[must_use]
    pub fn with_tables(mut self, table: impl Into<String>, table_meta: Option<&str>) -> Self {
        self.table = Some(table.into());
        self.table_meta = table_meta.map(str::to_owned);
        self
    }

    /// Asks for TLS: `ssl = true`, with `ssl_required` and `ssl_verify` as given (see the
    /// [TLS section](PostgresConfig#tls)).
    ///
    /// ```
    /// let config = session_pg::PostgresConfig::default().with_ssl(true, true);
    /// assert_eq!((config.ssl, config.ssl_required, config.ssl_verify), (Some(true), Some(true), Some(true)));
    /// ```
    #[must_use]
    pub fn with_ssl(mut self, required: bool, verify: bool) -> Self {
        self.ssl = Some(true);
        self.ssl_required = Some(required);
        self.ssl_verify = Some(verify);
        self
    }

    /// The sessions table in effect (`table`, default `sessions`).
    ///
    /// ```
    /// assert_eq!(session_pg::PostgresConfig::default().table_name(), "sessions");
    /// ```
    #[must_use]
    pub fn table_name(&self) -> &str {
        self.table.as_deref().unwrap_or(DEFAULT_TABLE)
    }

    /// The metadata table in effect (`table_meta`, default `<table>_meta`).
    ///
    /// ```
    /// assert_eq!(session_pg::PostgresConfig::default().table_meta_name(), "sessions_meta");
    /// ```
    #[must_use]
    pub fn table_meta_name(&self) -> String {
        self.table_meta
            .clone()
            .unwrap_or_else(|| format!("{}_meta", self.table_name()))
    }

    /// A configuration from a URL:
    /// `postgres://[user[:password]@]host[:port][/database][?option=value&...]`
    /// (`postgresql://` too). Any option of this block can be given in the query with its Lua
    /// name (`table`, `connect_timeout`, `ssl`, `server_name`, ...); libpq's
    /// `application_name`, `sslrootcert` (= `ssl_trusted_certificate`) and `sslmode` are
    /// accepted too. User, password and database may be percent-encoded.
    ///
    /// | `sslmode` | `ssl` | `ssl_required` | `ssl_verify` |
    /// |---|---|---|---|
    /// | `disable`, `allow` | false | false | — |
    /// | `prefer` | true (false without the `tls` feature) | false | false |
    /// | `require` | true | true | false |
    /// | `verify-ca`, `verify-full` | true | true | true |
    ///
    /// `verify-ca` checks the host name too (rustls always does): set `server_name` when the
    /// certificate does not name `host`.
    ///
    /// ```
    /// use session_pg::PostgresConfig;
    ///
    /// let c = PostgresConfig::from_url("postgres://app:s%40cret@db.local:5433/prod?table=app.sessions&connect_timeout=500")?;
    /// assert_eq!((c.host.as_deref(), c.port), (Some("db.local"), Some(5433)));
    /// assert_eq!((c.username.as_deref(), c.password.as_deref()), (Some("app"), Some("s@cret")));
    /// assert_eq!(c.database.as_deref(), Some("prod"));
    /// assert_eq!(c.table_meta_name(), "app.sessions_meta");
    /// assert_eq!(c.connect_timeout, Some(500));
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

    /// Checks what can be checked without a server: table names are SQL identifiers,
    /// timeouts and the pool size are at least 1, `ssl_required` comes with `ssl`, and `ssl`
    /// is only asked for when the `tls` feature is on. Errors name the option.
    /// [`PostgresStorage::from_config`](crate::PostgresStorage::from_config) calls it (and also reads
    /// `ssl_trusted_certificate`).
    ///
    /// ```
    /// use session_pg::PostgresConfig;
    /// assert!(PostgresConfig::default().validate().is_ok());
    /// let err = PostgresConfig::default().with_tables("sessions; DROP TABLE x", None).validate().unwrap_err();
    /// assert!(err.message().contains("`table`"));
    /// let mut required = PostgresConfig::default();
    /// required.ssl_required = Some(true);
    /// assert!(required.validate().unwrap_err().message().contains("`ssl_required`"));
    /// let tls = PostgresConfig::default().with_ssl(true, false);
    /// assert_eq!(tls.validate().is_ok(), cfg!(feature = "tls"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config) naming the offending option.
    pub fn validate(&self) -> Result<(), StorageError> {
        check_table("table", self.table_name())?;
        check_table("table_meta", &self.table_meta_name())?;
        self.socket_limits().validate(STORE)?;
        if self.port == Some(0) {
            return Err(bad("port", "must not be 0"));
        }
        if self.host.as_deref() == Some("") {
            return Err(bad("host", "must not be empty"));
        }
        if self.username.as_deref() == Some("") {
            return Err(bad("username", "must not be empty"));
        }
        let ssl = self.ssl == Some(true);
        if ssl && !cfg!(feature = "tls") {
            return Err(bad(
                "ssl",
                "= true needs session-pg's `tls` feature (enable it, or remove `ssl`)",
            ));
        }
        if self.ssl_required == Some(true) && !ssl {
            return Err(bad(
                "ssl_required",
                "= true needs `ssl = true` (without it no TLS is asked for)",
            ));
        }
        if self.server_name.as_deref() == Some("") {
            return Err(bad("server_name", "must not be empty"));
        }
        Ok(())
    }

    /// Timeouts and pool size with OpenResty's defaults applied.
    pub(crate) fn limits(&self) -> Limits {
        self.socket_limits().or_defaults().into()
    }

    /// The driver's TLS mode: `Disable` without `ssl`, `Require` with `ssl_required`, else
    /// `Prefer` (plain text when the server declines, as pgmoon).
    pub(crate) fn ssl_mode(&self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode;
        match (self.ssl, self.ssl_required) {
            (Some(true), Some(true)) => SslMode::Require,
            (Some(true), _) => SslMode::Prefer,
            _ => SslMode::Disable,
        }
    }

    /// The driver configuration.
    pub(crate) fn driver_config(&self) -> tokio_postgres::Config {
        let mut pg = tokio_postgres::Config::new();
        pg.host(self.host.as_deref().unwrap_or("127.0.0.1"))
            .port(self.port.unwrap_or(5432))
            .user(self.username.as_deref().unwrap_or("postgres"))
            .connect_timeout(self.limits().connect)
            .ssl_mode(self.ssl_mode());
        if let Some(password) = &self.password {
            pg.password(password);
        }
        if let Some(database) = &self.database {
            pg.dbname(database);
        }
        if let Some(application) = &self.application {
            pg.application_name(application);
        }
        pg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        for ok in [
            "sessions",
            "app.sessions",
            "db.app.sessions",
            "\"My Sessions\"",
            "app.\"S\"",
            "_s$1",
        ] {
            assert!(check_table("table", ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "1abc", "a b", "a;b", "a.", ".a", "a..b", "\"x", "\"\"", "a.b.c.d", "a'b", "a-b",
        ] {
            assert!(check_table("table", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_names_and_aliases() {
        let c: PostgresConfig =
            serde_json::from_str(r#"{"table_name":"s","table_name_meta":"m","user":"u"}"#).unwrap();
        assert_eq!((c.table_name(), c.table_meta_name().as_str()), ("s", "m"));
        assert_eq!(c.username.as_deref(), Some("u"));
        assert!(serde_json::from_str::<PostgresConfig>(r#"{"tabel":"s"}"#).is_err());
    }

    #[test]
    fn validation_names_the_option() {
        let c = PostgresConfig {
            read_timeout: Some(0),
            ..Default::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .message()
                .contains("`read_timeout`")
        );
        let c = PostgresConfig {
            ssl_required: Some(true),
            ..Default::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .message()
                .contains("`ssl_required`")
        );
        let c = PostgresConfig {
            ssl: Some(false),
            ssl_verify: Some(true),
            ..Default::default()
        };
        assert!(c.validate().is_ok());
        let c = PostgresConfig::default().with_pool_size(0);
        assert!(c.validate().unwrap_err().message().contains("`pool_size`"));
    }

    #[test]
    fn ssl_options_map_onto_driver_modes() {
        use tokio_postgres::config::SslMode;
        let mode = |c: PostgresConfig| c.driver_config().get_ssl_mode();
        assert_eq!(mode(PostgresConfig::default()), SslMode::Disable);
        assert_eq!(
            mode(PostgresConfig::default().with_ssl(false, true)),
            SslMode::Prefer
        );
        assert_eq!(
            mode(PostgresConfig::default().with_ssl(true, false)),
            SslMode::Require
        );
        let c = PostgresConfig {
            server_name: Some(String::new()),
            ..Default::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .message()
                .contains("`server_name`")
        );
        let c: PostgresConfig = serde_json::from_str(
            r#"{"ssl":true,"ssl_verify":true,"server_name":"db","ssl_trusted_certificate":"/ca.pem"}"#,
        )
        .unwrap();
        assert_eq!(c.validate().is_ok(), cfg!(feature = "tls"));
        assert!(format!("{c:?}").contains("/ca.pem"));
    }

    #[test]
    fn debug_redacts_password() {
        let c = PostgresConfig::default().with_auth("u", Some("hunter2"));
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2") && s.contains("<redacted>"), "{s}");
    }
}
