//! The `memcached = { ... }` configuration block, with lua-resty-session's option names.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
pub(crate) use session_net::conn::{Target, TlsConnector};
pub(crate) use session_net::options::Limits;
use session_storage::StorageError;

/// The default host: `127.0.0.1`.
const DEFAULT_HOST: &str = "127.0.0.1";
/// The default port: 11211.
const DEFAULT_PORT: u16 = 11211;
/// How often a `set` with metadata compacts each collection (docs/storage.md §5.6).
const DEFAULT_COMPACTION_PROBABILITY: f64 = 0.1;

// The struct below, plus the socket fields every networked store has (`connect_timeout`,
// `send_timeout`, `read_timeout`, `keepalive_timeout`, `pool`, `pool_size`, `backlog`).
session_net::socket_config! {
    /// The `memcached` options block of lua-resty-session (docs/storage.md §7.5), deserializable from the
    /// same names (the `memcache` block of the reference takes the same options).
    ///
    /// Unknown option names are rejected, so a typo does not go unnoticed. Timeouts are
    /// milliseconds, as in Lua; when absent they are OpenResty's socket defaults (60 s).
    ///
    /// What differs from the Lua library:
    /// - `ssl = true` opens every connection with TLS (rustls, TLS 1.2 or 1.3, over TCP only:
    ///   with `socket` it is a [`Config`](session_storage::ErrorKind::Config) error). It needs
    ///   the crate feature `tls` (on by default); without it `ssl = true` is a `Config` error;
    /// - `ssl_verify` defaults to **true** here, as in `session-redis` (OpenResty does not verify
    ///   unless asked): the chain is checked against the CAs of `ssl_trusted_certificate` (only
    ///   those), else the web PKI roots, and the name against `server_name` (or `host`).
    ///   `ssl_verify = false`, Lua's default, accepts any certificate: the traffic is encrypted
    ///   but the server is **not authenticated**, so anyone able to intercept the connection can
    ///   impersonate memcached, exactly as with OpenResty's `sslhandshake` without verification;
    /// - `ssl_trusted_certificate` (Rust only, named after nginx's `lua_ssl_trusted_certificate`,
    ///   as in `session-redis`): a PEM file of the CAs to trust instead of the web PKI roots;
    /// - `pool` (a pool name) and `backlog` are accepted: each store has its own pool, and
    ///   waiting for a free connection is bounded by `connect_timeout`;
    /// - `pool_size` caps the connections open at once (default 30, OpenResty's pool size);
    /// - `compaction_probability` is Rust-only (see its field).
    ///
    /// There is no secret among the options, so `Debug` prints them all.
    ///
    /// ```
    /// use session_memcached::MemcachedConfig;
    ///
    /// let config: MemcachedConfig = serde_json::from_str(r#"{
    ///     "prefix": "sessions",
    ///     "host": "10.0.0.5", "port": 11211,
    ///     "connect_timeout": 500, "send_timeout": 1000, "read_timeout": 1000,
    ///     "keepalive_timeout": 30000, "pool_size": 16
    /// }"#).unwrap();
    /// assert_eq!(config.prefix.as_deref(), Some("sessions"));
    /// assert!(serde_json::from_str::<MemcachedConfig>(r#"{"hots": "x"}"#).is_err());
    ///
    /// // TLS, verifying the server against a private CA (feature `tls`).
    /// let tls: MemcachedConfig = serde_json::from_str(r#"{
    ///     "host": "10.0.0.5", "port": 11211,
    ///     "ssl": true, "ssl_verify": true, "server_name": "cache.internal",
    ///     "ssl_trusted_certificate": "/etc/ssl/private-ca.pem"
    /// }"#).unwrap();
    /// assert_eq!(tls.server_name.as_deref(), Some("cache.internal"));
    /// ```
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    #[non_exhaustive]
    pub struct MemcachedConfig {
        /// Key prefix (docs/storage.md §5.1); an empty string still counts as set.
        pub prefix: Option<String>,
        /// Key suffix (docs/storage.md §5.1); an empty string still counts as set.
        pub suffix: Option<String>,
        /// Server host name or IP address. Default `127.0.0.1`.
        pub host: Option<String>,
        /// Server port. Default 11211.
        pub port: Option<u16>,
        /// Unix socket, `unix:/path/to.sock` (OpenResty's form) or a bare path; replaces host and
        /// port.
        pub socket: Option<String>,
        /// Use TLS (over TCP; needs the feature `tls`). Default false.
        pub ssl: Option<bool>,
        /// Verify the server certificate chain and name (default **true** here; Lua's default
        /// is false). `false` accepts any certificate: encryption without authentication.
        pub ssl_verify: Option<bool>,
        /// Name sent in SNI and checked against the certificate, when it differs from `host`
        /// (for example when `host` is an IP address and the certificate names a host).
        pub server_name: Option<String>,
        /// Rust only: a PEM file of the CA certificates to trust, instead of the web PKI roots,
        /// when verifying (named after nginx's `lua_ssl_trusted_certificate`).
        pub ssl_trusted_certificate: Option<PathBuf>,
        /// Rust only: the probability (0 to 1) that a `set` with metadata compacts each
        /// collection it appends to. Default 0.1, as the reference. Only how often stale entries
        /// are cleaned up depends on it; readers filter expired entries anyway.
        pub compaction_probability: Option<f64>,
    }
}

session_net::socket_options!(MemcachedConfig in session_memcached:
    affixes, host, socket, timeouts, keepalive, pool_size, ssl, server_name, trusted_certificate, limits, options_mut);

impl MemcachedConfig {
    /// Sets the (Rust-only) compaction probability of `set` with metadata.
    ///
    /// ```
    /// let config = session_memcached::MemcachedConfig::default().with_compaction_probability(0.0);
    /// assert_eq!(config.compaction_probability, Some(0.0));
    /// ```
    #[must_use]
    pub fn with_compaction_probability(mut self, probability: f64) -> Self {
        self.compaction_probability = Some(probability);
        self
    }

    /// A configuration from a URL. Every option can be given as a query parameter with its
    /// Lua name (values percent-decoded; booleans `true`/`false`, `1`/`0`, `yes`/`no`,
    /// `on`/`off`), TLS included: `ssl`, `ssl_verify`, `server_name` and
    /// `ssl_trusted_certificate`:
    ///
    /// - `memcache://host[:port][?options]` (or `memcached://`), IPv6 hosts in brackets;
    /// - `memcache+unix:///path/to.sock[?options]` (or `unix:///path...`).
    ///
    /// ```
    /// use session_memcached::MemcachedConfig;
    ///
    /// let c = MemcachedConfig::from_url("memcache://10.0.0.1:11212?prefix=sessions&connect_timeout=500")?;
    /// assert_eq!((c.host.as_deref(), c.port), (Some("10.0.0.1"), Some(11212)));
    /// assert_eq!(c.prefix.as_deref(), Some("sessions"));
    /// assert_eq!(c.connect_timeout, Some(500));
    ///
    /// let c = MemcachedConfig::from_url("memcache+unix:///run/memcached.sock?pool_size=4")?;
    /// assert_eq!(c.socket.as_deref(), Some("/run/memcached.sock"));
    ///
    /// let c = MemcachedConfig::from_url(
    ///     "memcache://10.0.0.1?ssl=true&server_name=cache.internal\
    ///      &ssl_trusted_certificate=%2Fetc%2Fssl%2Fca.pem",
    /// )?;
    /// assert_eq!((c.ssl, c.ssl_verify), (Some(true), None)); // verified by default
    /// assert_eq!(c.server_name.as_deref(), Some("cache.internal"));
    /// assert_eq!(c.ssl_trusted_certificate.as_deref(), Some(std::path::Path::new("/etc/ssl/ca.pem")));
    ///
    /// assert!(MemcachedConfig::from_url("memcache://h?colour=red").is_err());
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

    /// Checks every option that can be checked without a server. Run by
    /// [`MemcachedStorage::from_config`](crate::MemcachedStorage::from_config).
    ///
    /// ```
    /// use session_memcached::MemcachedConfig;
    /// assert!(MemcachedConfig::default().validate().is_ok());
    /// // TLS works over TCP only.
    /// let config = MemcachedConfig::default().with_ssl(true).with_socket("/run/memcached.sock");
    /// let err = config.validate().unwrap_err();
    /// assert!(err.message().contains("`ssl`"));
    /// assert!(MemcachedConfig::default().with_timeouts(0, 1, 1).validate().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config), naming the option.
    pub fn validate(&self) -> Result<(), StorageError> {
        self.socket_limits().validate("memcached")?;
        if self.ssl == Some(true) {
            if !cfg!(feature = "tls") {
                return Err(StorageError::config(
                    "memcached option `ssl` needs session-memcached's `tls` feature (enable it)",
                ));
            }
            if self.socket.is_some() {
                return Err(StorageError::config(
                    "memcached option `ssl` works over TCP only, not with `socket`",
                ));
            }
        }
        if self.host.as_deref().is_some_and(str::is_empty) {
            return Err(StorageError::config(
                "memcached option `host` must not be empty",
            ));
        }
        if self.port == Some(0) {
            return Err(StorageError::config(
                "memcached option `port` must not be 0",
            ));
        }
        if let Some(socket) = &self.socket {
            if socket.strip_prefix("unix:").unwrap_or(socket).is_empty() {
                return Err(StorageError::config(
                    "memcached option `socket` must name a path",
                ));
            }
            if !cfg!(unix) {
                return Err(StorageError::config(
                    "memcached option `socket` needs a unix platform",
                ));
            }
        }
        if self
            .compaction_probability
            .is_some_and(|p| !(0.0..=1.0).contains(&p))
        {
            return Err(StorageError::config(
                "memcached option `compaction_probability` must be between 0 and 1",
            ));
        }
        for (name, prefix) in [("prefix", &self.prefix), ("suffix", &self.suffix)] {
            if prefix
                .as_ref()
                .is_some_and(|p| crate::escape_key(p).len() > crate::MAX_KEY_LEN - 60)
            {
                return Err(StorageError::config(format!(
                    "memcached option `{name}` is too long for memcached's 250-byte keys"
                )));
            }
        }
        Ok(())
    }

    pub(crate) fn target(&self) -> Target {
        match &self.socket {
            Some(socket) => Target::Unix(socket.strip_prefix("unix:").unwrap_or(socket).into()),
            None => Target::Tcp(self.tcp_host(), self.port.unwrap_or(DEFAULT_PORT)),
        }
    }

    /// `host`, or the default host.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn tcp_host(&self) -> String {
        self.host.clone().unwrap_or_else(|| DEFAULT_HOST.to_owned())
    }

    pub(crate) fn limits(&self) -> Limits {
        self.socket_limits().or_defaults()
    }

    /// The TLS connector when `ssl = true` (the configuration is already validated: without
    /// the feature `tls`, `ssl = true` was refused).
    #[cfg_attr(not(feature = "tls"), allow(clippy::unnecessary_wraps))]
    pub(crate) fn tls(&self) -> Result<Option<TlsConnector>, StorageError> {
        #[cfg(feature = "tls")]
        if self.ssl == Some(true) {
            return TlsConnector::new(
                "memcached",
                self.ssl_verify != Some(false),
                self.ssl_trusted_certificate.as_deref(),
                self.server_name.as_deref(),
                &self.tcp_host(),
            )
            .map(Some);
        }
        Ok(None)
    }

    pub(crate) fn compaction_probability(&self) -> f64 {
        self.compaction_probability
            .unwrap_or(DEFAULT_COMPACTION_PROBABILITY)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn defaults_are_the_references() {
        let c = MemcachedConfig::default();
        assert_eq!(c.target(), Target::Tcp("127.0.0.1".into(), 11211));
        let l = c.limits();
        assert_eq!(l.connect, Duration::from_secs(60));
        assert_eq!(l.pool_size, 30);
        assert!((c.compaction_probability() - 0.1).abs() < f64::EPSILON);
    }

    #[test]
    fn validation_names_the_option() {
        let with = |set: fn(&mut MemcachedConfig)| {
            let mut c = MemcachedConfig::default();
            set(&mut c);
            c
        };
        let cases = [
            (with(|c| c.connect_timeout = Some(0)), "connect_timeout"),
            (with(|c| c.read_timeout = Some(0)), "read_timeout"),
            (with(|c| c.pool_size = Some(0)), "pool_size"),
            (
                with(|c| {
                    c.ssl = Some(true);
                    c.socket = Some("/tmp/m.sock".into());
                }),
                "ssl",
            ),
            (with(|c| c.port = Some(0)), "port"),
            (with(|c| c.socket = Some("unix:".into())), "socket"),
            (
                with(|c| c.compaction_probability = Some(1.5)),
                "compaction_probability",
            ),
            (with(|c| c.prefix = Some("x".repeat(200))), "prefix"),
        ];
        for (config, name) in cases {
            let err = config.validate().unwrap_err();
            assert_eq!(err.kind(), session_storage::ErrorKind::Config);
            assert!(err.message().contains(&format!("`{name}`")), "{err}");
        }
        let ok = MemcachedConfig {
            ssl: Some(false),
            ssl_verify: Some(true),
            server_name: Some("x".into()),
            pool: Some("p".into()),
            backlog: Some(5),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let tls = MemcachedConfig::default().with_ssl(false);
        assert_eq!(tls.validate().is_ok(), cfg!(feature = "tls"));
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn ssl_without_the_feature_says_to_enable_it() {
        let err = MemcachedConfig::default()
            .with_ssl(true)
            .validate()
            .unwrap_err();
        assert_eq!(err.kind(), session_storage::ErrorKind::Config);
        assert!(err.message().contains("`tls` feature"), "{err}");
    }

    #[test]
    fn socket_replaces_host() {
        let c = MemcachedConfig::default()
            .with_host("h", 1)
            .with_socket("unix:/tmp/m.sock");
        assert_eq!(c.target(), Target::Unix("/tmp/m.sock".into()));
        let c = MemcachedConfig::default().with_socket("/tmp/m.sock");
        assert_eq!(c.target(), Target::Unix("/tmp/m.sock".into()));
    }
}
