//! The `redis = { ... }` configuration block, with lua-resty-session's option names.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use session_storage::StorageError;

/// Which deployment a [`RedisConfig`] describes (docs/storage.md §4.7).
///
/// ```
/// use session_redis::{Mode, RedisConfig};
/// assert_eq!(RedisConfig::default().mode(), Mode::Single);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// One server over TCP, TLS or a unix socket (`resty.session.redis`).
    Single,
    /// A master found through Sentinel (`resty.session.redis.sentinel`).
    Sentinel,
    /// A Redis Cluster (`resty.session.redis.cluster`).
    Cluster,
}

/// The Sentinel role to connect to (`role`).
///
/// ```
/// let role: session_redis::Role = serde_json::from_str("\"slave\"").unwrap();
/// assert_eq!(role, session_redis::Role::Replica);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// The master (the default). Reads and writes go there.
    #[default]
    Master,
    /// A replica (`"slave"` in Lua, `"replica"` accepted too). Writes fail, as in the reference.
    #[serde(rename = "slave", alias = "replica")]
    Replica,
}

/// A Sentinel or cluster node address.
///
/// Sentinels are written `{ host = ..., port = ... }` and cluster nodes `{ ip = ..., port = ... }`
/// in Lua; both spellings are accepted for both. Missing fields default to `127.0.0.1` and the
/// deployment's usual port.
///
/// ```
/// let node: session_redis::NodeAddr = serde_json::from_str(r#"{"ip":"10.0.0.1","port":7000}"#).unwrap();
/// assert_eq!(node.host.as_deref(), Some("10.0.0.1"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NodeAddr {
    /// Host name or IP address.
    #[serde(alias = "ip", default)]
    pub host: Option<String>,
    /// TCP port.
    #[serde(default)]
    pub port: Option<u16>,
}

impl NodeAddr {
    /// A node address.
    ///
    /// ```
    /// let node = session_redis::NodeAddr::new("127.0.0.1", 26379);
    /// assert_eq!(node.port, Some(26379));
    /// ```
    #[must_use]
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: Some(host.into()),
            port: Some(port),
        }
    }

    pub(crate) fn resolve(&self, default_port: u16) -> (String, u16) {
        (
            self.host.clone().unwrap_or_else(|| "127.0.0.1".to_owned()),
            self.port.unwrap_or(default_port),
        )
    }
}

// The struct below, plus the socket fields every networked store has (`connect_timeout`,
// `send_timeout`, `read_timeout`, `keepalive_timeout`, `pool`, `pool_size`, `backlog`).
session_net::socket_config! {
    /// The `redis` options block of lua-resty-session (docs/storage.md §6.5–§6.7), deserializable from the
    /// same names.
    ///
    /// The deployment is chosen as the reference chooses it: a cluster when `nodes` is present
    /// (even empty), else Sentinel when `sentinels` is present, else a single server
    /// ([`mode`](Self::mode)). Unknown option names are rejected, so a typo in a security option
    /// does not go unnoticed. Timeouts are milliseconds, as in Lua.
    ///
    /// Differences from the Lua library, all on the safe side:
    /// - `ssl_verify` defaults to **true** (OpenResty does not verify unless asked);
    ///   `ssl_trusted_certificate` (Rust only, named after nginx's `lua_ssl_trusted_certificate`)
    ///   adds a PEM file of trusted CAs;
    /// - `pool_size` caps open connections (each one multiplexed); waiting for a free one is
    ///   bounded by `connect_timeout`. On a single server the store's own operations share
    ///   one connection per worker thread (at most `pool_size`, at most one per CPU), so
    ///   that concurrent requests' commands leave in one write; the pool then only serves
    ///   [`RedisStorage::connection`](crate::RedisStorage::connection);
    /// - `send_timeout` and `read_timeout` together bound each round trip (the driver has one
    ///   response timeout);
    /// - `pool`, `backlog`, `force_auth`, `name`, `lock_zone` and `lock_prefix` are accepted for
    ///   compatibility: connections are authenticated when opened and never shared between
    ///   credentials, and no nginx shared dictionary exists here.
    ///
    /// `Debug` hides the passwords.
    ///
    /// ```
    /// use session_redis::{Mode, RedisConfig};
    ///
    /// let config: RedisConfig = serde_json::from_str(r#"{
    ///     "prefix": "sessions",
    ///     "password": "secret",
    ///     "sentinels": [{ "host": "127.0.0.1", "port": 26379 }],
    ///     "master": "mymaster",
    ///     "connect_timeout": 500
    /// }"#).unwrap();
    /// assert_eq!(config.mode(), Mode::Sentinel);
    /// assert!(!format!("{config:?}").contains("secret"));
    /// ```
    #[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    #[non_exhaustive]
    pub struct RedisConfig {
        /// Key prefix (docs/storage.md §5.1); an empty string still counts as set.
        pub prefix: Option<String>,
        /// Key suffix (docs/storage.md §5.1); an empty string still counts as set.
        pub suffix: Option<String>,
        /// Server host (single). Default `127.0.0.1`.
        pub host: Option<String>,
        /// Server port (single). Default 6379.
        pub port: Option<u16>,
        /// Unix socket (single), `unix:/path/to.sock` or a bare path; replaces host and port.
        pub socket: Option<String>,
        /// ACL user for the Redis server(s).
        pub username: Option<String>,
        /// Password for the Redis server(s).
        pub password: Option<String>,
        /// Database to `SELECT` (single and Sentinel).
        pub database: Option<i64>,
        /// Use TLS.
        pub ssl: Option<bool>,
        /// Verify the server certificate (default true here).
        pub ssl_verify: Option<bool>,
        /// Name sent in SNI and checked against the certificate, when it differs from `host`.
        pub server_name: Option<String>,
        /// Rust only: a PEM file of CA certificates to trust instead of the web PKI roots.
        pub ssl_trusted_certificate: Option<PathBuf>,
        /// AUTH on every operation (accepted: connections are authenticated once, when opened).
        pub force_auth: Option<bool>,

        /// Sentinel: the master group name. Default `mymaster`.
        pub master: Option<String>,
        /// Sentinel: master (default) or replica.
        pub role: Option<Role>,
        /// Sentinel: the sentinels; its presence selects Sentinel mode.
        pub sentinels: Option<Vec<NodeAddr>>,
        /// Sentinel: ACL user for the sentinels.
        pub sentinel_username: Option<String>,
        /// Sentinel: password for the sentinels.
        pub sentinel_password: Option<String>,

        /// Cluster: the cluster's name (accepted; the slot map is per store).
        pub name: Option<String>,
        /// Cluster: seed nodes; its presence selects cluster mode.
        pub nodes: Option<Vec<NodeAddr>>,
        /// Cluster: nginx lock zone (accepted, unused).
        pub lock_zone: Option<String>,
        /// Cluster: lock name prefix (accepted, unused).
        pub lock_prefix: Option<String>,
        /// Cluster: how many `MOVED`/`ASK` redirections (and retries) to follow. Default 5.
        pub max_redirections: Option<u32>,
        /// Cluster: connection attempts per node. Default 3.
        pub max_connection_attempts: Option<usize>,
        /// Cluster: total time budget for opening a connection, milliseconds.
        pub max_connection_timeout: Option<u64>,
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |p: &Option<String>| p.as_ref().map(|_| "<redacted>");
        let mut d = f.debug_struct("RedisConfig");
        d.field("mode", &self.mode())
            .field("prefix", &self.prefix)
            .field("suffix", &self.suffix)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("socket", &self.socket)
            .field("username", &self.username)
            .field("password", &redact(&self.password))
            .field("database", &self.database);
        self.debug_socket_fields(&mut d)
            .field("ssl", &self.ssl)
            .field("ssl_verify", &self.ssl_verify)
            .field("server_name", &self.server_name)
            .field("ssl_trusted_certificate", &self.ssl_trusted_certificate)
            .field("force_auth", &self.force_auth)
            .field("master", &self.master)
            .field("role", &self.role)
            .field("sentinels", &self.sentinels)
            .field("sentinel_username", &self.sentinel_username)
            .field("sentinel_password", &redact(&self.sentinel_password))
            .field("name", &self.name)
            .field("nodes", &self.nodes)
            .field("lock_zone", &self.lock_zone)
            .field("lock_prefix", &self.lock_prefix)
            .field("max_redirections", &self.max_redirections)
            .field("max_connection_attempts", &self.max_connection_attempts)
            .field("max_connection_timeout", &self.max_connection_timeout)
            .finish()
    }
}

/// Timeouts and pool limits after defaults are applied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) connect: Duration,
    pub(crate) response: Duration,
    pub(crate) keepalive: Duration,
    pub(crate) pool_size: usize,
    /// `operation_timeout`: the whole operation (checkout, connect, a sentinel query, every
    /// round trip, the retry, cluster redirections).
    pub(crate) operation: Duration,
}

impl Limits {
    /// The longest one operation may take (`operation_timeout`).
    pub(crate) fn operation_deadline(&self) -> Duration {
        self.operation
    }
}

/// The store's name in error messages (and its options block).
pub(crate) const STORE: &str = "redis";

// `with_prefix`, `with_suffix`, `with_host`, `with_timeouts`, `with_pool_size`, `with_ssl`,
// `with_server_name`, `with_trusted_certificate` and `socket_limits`, as every networked store
// has them.
session_net::socket_options!(
    RedisConfig in session_redis: affixes, host, timeouts, pool_size, ssl, server_name, trusted_certificate, limits, options_mut, debug
);

const fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

impl RedisConfig {
    /// The deployment this configuration selects (docs/storage.md §4.7): cluster when `nodes` is
    /// present, else Sentinel when `sentinels` is present, else single.
    ///
    /// ```
    /// use session_redis::{Mode, NodeAddr, RedisConfig};
    /// let config = RedisConfig::default().with_nodes(vec![NodeAddr::new("127.0.0.1", 7000)]);
    /// assert_eq!(config.mode(), Mode::Cluster);
    /// ```
    #[must_use]
    pub fn mode(&self) -> Mode {
        if self.nodes.is_some() {
            Mode::Cluster
        } else if self.sentinels.is_some() {
            Mode::Sentinel
        } else {
            Mode::Single
        }
    }

    /// Sets the Redis credentials (`username` may be `None` for the legacy one-argument AUTH).
    ///
    /// ```
    /// let config = session_redis::RedisConfig::default().with_auth(None, "secret");
    /// assert!(config.password.is_some());
    /// ```
    #[must_use]
    pub fn with_auth(mut self, username: Option<&str>, password: impl Into<String>) -> Self {
        self.username = username.map(str::to_owned);
        self.password = Some(password.into());
        self
    }

    /// Sets the Sentinel master name and sentinels (selects Sentinel mode).
    ///
    /// ```
    /// use session_redis::{Mode, NodeAddr, RedisConfig};
    /// let config = RedisConfig::default()
    ///     .with_sentinels("mymaster", vec![NodeAddr::new("127.0.0.1", 26379)]);
    /// assert_eq!(config.mode(), Mode::Sentinel);
    /// ```
    #[must_use]
    pub fn with_sentinels(mut self, master: impl Into<String>, sentinels: Vec<NodeAddr>) -> Self {
        self.master = Some(master.into());
        self.sentinels = Some(sentinels);
        self
    }

    /// Sets the cluster seed nodes (selects cluster mode).
    ///
    /// ```
    /// use session_redis::{Mode, NodeAddr, RedisConfig};
    /// let config = RedisConfig::default().with_nodes(vec![NodeAddr::new("127.0.0.1", 7000)]);
    /// assert_eq!(config.mode(), Mode::Cluster);
    /// ```
    #[must_use]
    pub fn with_nodes(mut self, nodes: Vec<NodeAddr>) -> Self {
        self.nodes = Some(nodes);
        self
    }

    /// Timeouts and pool size with the reference's defaults for the mode: single 60 s
    /// (OpenResty's socket defaults) and a pool of 30; Sentinel 100 ms connect, 1 s send/read,
    /// pool 30 (lua-resty-redis-connector); cluster 1 s each, pool 1000, keepalive 55 s
    /// (resty-redis-cluster).
    pub(crate) fn limits(&self) -> Limits {
        let (connect, send, read, keepalive, pool) = match self.mode() {
            Mode::Single => (60_000, 60_000, 60_000, 60_000, 30),
            Mode::Sentinel => (100, 1_000, 1_000, 60_000, 30),
            Mode::Cluster => (1_000, 1_000, 1_000, 55_000, 1_000),
        };
        let mut connect = ms(self.connect_timeout.unwrap_or(connect));
        if let (Mode::Cluster, Some(total)) = (self.mode(), self.max_connection_timeout) {
            connect = connect.max(ms(total));
        }
        Limits {
            connect,
            response: ms(self
                .send_timeout
                .unwrap_or(send)
                .saturating_add(self.read_timeout.unwrap_or(read))),
            keepalive: ms(self.keepalive_timeout.unwrap_or(keepalive)),
            pool_size: self.pool_size.unwrap_or(pool).max(1),
            operation: ms(self
                .operation_timeout
                .unwrap_or(session_net::deadline::DEFAULT_OPERATION_TIMEOUT_MS)),
        }
    }

    /// Checks what can be checked without a server.
    pub(crate) fn validate(&self) -> Result<(), StorageError> {
        // The defaults depend on the mode (see `limits`); the checks are every store's.
        self.socket_limits().validate(STORE)?;
        if let Some(db) = self.database {
            if db < 0 {
                return Err(StorageError::config("redis database must not be negative"));
            }
            if self.mode() == Mode::Cluster && db != 0 {
                return Err(StorageError::config(
                    "redis cluster has only database 0 (remove `database`)",
                ));
            }
        }
        match self.mode() {
            Mode::Sentinel if self.sentinels.as_ref().is_some_and(Vec::is_empty) => Err(
                StorageError::config("redis sentinel mode needs at least one sentinel"),
            ),
            Mode::Cluster if self.nodes.as_ref().is_some_and(Vec::is_empty) => Err(
                StorageError::config("redis cluster mode needs at least one node"),
            ),
            _ if self.ssl == Some(true) && !cfg!(feature = "tls") => Err(StorageError::config(
                "redis ssl needs session-redis's `tls` feature",
            )),
            _ => Ok(()),
        }
    }

    /// A configuration from a URL (spec: any of the `redis` options can also be given as query
    /// parameters with their Lua names).
    ///
    /// - `redis://[user[:password]@]host[:port][/database][?options]` — single server;
    /// - `rediss://...` — the same over TLS;
    /// - `redis+unix:///path/to.sock[?database=N&...]` (or `unix:///path...`) — unix socket;
    /// - `redis+sentinel://[user[:password]@]host:port[,host:port...]/master[/database][?options]`
    ///   — Sentinel; the user and password are the master's, `sentinel_username` and
    ///   `sentinel_password` go in the query;
    /// - `redis+cluster://[user[:password]@]host:port[,host:port...][?options]` — cluster.
    ///
    /// User and password may be percent-encoded.
    ///
    /// ```
    /// use session_redis::{Mode, RedisConfig};
    ///
    /// let c = RedisConfig::from_url("redis://:s%40cret@10.0.0.1:6380/2?prefix=sessions&connect_timeout=500")?;
    /// assert_eq!((c.host.as_deref(), c.port, c.database), (Some("10.0.0.1"), Some(6380), Some(2)));
    /// assert_eq!(c.password.as_deref(), Some("s@cret"));
    /// assert_eq!(c.prefix.as_deref(), Some("sessions"));
    ///
    /// let c = RedisConfig::from_url("redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster")?;
    /// assert_eq!(c.mode(), Mode::Sentinel);
    /// assert_eq!(c.sentinels.as_ref().map(Vec::len), Some(2));
    ///
    /// let c = RedisConfig::from_url("redis+cluster://127.0.0.1:7000,127.0.0.1:7001?max_redirections=3")?;
    /// assert_eq!(c.mode(), Mode::Cluster);
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
