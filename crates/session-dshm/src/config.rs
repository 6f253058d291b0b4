//! The `dshm = { ... }` configuration block, with lua-resty-session's option names.

use serde::{Deserialize, Serialize};
pub(crate) use session_net::conn::Target;
pub(crate) use session_net::options::Limits;
use session_storage::StorageError;

/// The default host: `127.0.0.1`.
const DEFAULT_HOST: &str = "127.0.0.1";
/// The default port: 4321.
const DEFAULT_PORT: u16 = 4321;

// The struct below, plus the socket fields every networked store has (`connect_timeout`,
// `send_timeout`, `read_timeout`, `keepalive_timeout`, `pool`, `pool_size`, `backlog`).
session_net::socket_config! {
    /// The `dshm` options block of lua-resty-session (docs/storage.md §8.8), deserializable from the
    /// same names.
    ///
    /// Unknown option names are rejected, so a typo does not go unnoticed (the reference's
    /// README also lists `force_auth` under dshm; it belongs to redis and is refused here).
    /// Timeouts are milliseconds, as in Lua; when absent they are OpenResty's socket defaults
    /// (60 s).
    ///
    /// What differs from the Lua library:
    /// - `ssl = true` is refused with a [`Config`](session_storage::ErrorKind::Config) error:
    ///   the DSHM server has no TLS and this crate speaks plain TCP only (put a TLS tunnel such
    ///   as stunnel on both ends if the server is reached over an untrusted network).
    ///   `ssl_verify` and `server_name` are accepted and unused;
    /// - `pool` (a pool name) and `backlog` are accepted: each store has its own pool, and
    ///   waiting for a free connection is bounded by `connect_timeout`;
    /// - `pool_size` caps the connections open at once (default 30, OpenResty's pool size).
    ///
    /// There is no `socket` option (the reference has none for dshm). There is no secret among
    /// the options, so `Debug` prints them all.
    ///
    /// ```
    /// use session_dshm::DshmConfig;
    ///
    /// let config: DshmConfig = serde_json::from_str(r#"{
    ///     "prefix": "sessions",
    ///     "host": "10.0.0.5", "port": 4321,
    ///     "connect_timeout": 500, "send_timeout": 1000, "read_timeout": 1000,
    ///     "keepalive_timeout": 30000, "pool_size": 16
    /// }"#).unwrap();
    /// assert_eq!(config.prefix.as_deref(), Some("sessions"));
    /// assert!(serde_json::from_str::<DshmConfig>(r#"{"hots": "x"}"#).is_err());
    /// ```
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    #[non_exhaustive]
    pub struct DshmConfig {
        /// Key prefix (docs/storage.md §5.1); an empty string still counts as set. It is also the
        /// server's region (Hazelcast map) of every key (docs/storage.md §8.3).
        pub prefix: Option<String>,
        /// Key suffix (docs/storage.md §5.1); an empty string still counts as set.
        pub suffix: Option<String>,
        /// Server host name or IP address. Default `127.0.0.1`.
        pub host: Option<String>,
        /// Server port. Default 4321.
        pub port: Option<u16>,
        /// Use TLS. Only `false` (or absent) is supported.
        pub ssl: Option<bool>,
        /// Verify the server certificate (accepted, unused without TLS).
        pub ssl_verify: Option<bool>,
        /// SNI name (accepted, unused without TLS).
        pub server_name: Option<String>,
    }
}

session_net::socket_options!(DshmConfig in session_dshm: affixes, host, timeouts, keepalive, pool_size, limits);

impl DshmConfig {
    /// A configuration from a URL, `dshm://host[:port][?options]` (IPv6 hosts in brackets).
    /// Every option can be given as a query parameter with its Lua name (values
    /// percent-decoded).
    ///
    /// ```
    /// use session_dshm::DshmConfig;
    ///
    /// let c = DshmConfig::from_url("dshm://10.0.0.1:4322?prefix=sessions&connect_timeout=500")?;
    /// assert_eq!((c.host.as_deref(), c.port), (Some("10.0.0.1"), Some(4322)));
    /// assert_eq!(c.prefix.as_deref(), Some("sessions"));
    /// assert_eq!(c.connect_timeout, Some(500));
    /// assert!(DshmConfig::from_url("dshm://h?colour=red").is_err());
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
    /// [`DshmStorage::from_config`](crate::DshmStorage::from_config).
    ///
    /// ```
    /// use session_dshm::DshmConfig;
    /// assert!(DshmConfig::default().validate().is_ok());
    /// let mut config = DshmConfig::default();
    /// config.ssl = Some(true);
    /// let err = config.validate().unwrap_err();
    /// assert!(err.message().contains("`ssl`"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](session_storage::ErrorKind::Config), naming the option.
    pub fn validate(&self) -> Result<(), StorageError> {
        self.socket_limits().validate("dshm")?;
        if self.ssl == Some(true) {
            return Err(StorageError::config(
                "dshm option `ssl` is not supported: the DSHM server has no TLS and \
                 session-dshm speaks plain TCP (use a TLS tunnel on both ends)",
            ));
        }
        if self.host.as_deref().is_some_and(str::is_empty) {
            return Err(StorageError::config("dshm option `host` must not be empty"));
        }
        if self.port == Some(0) {
            return Err(StorageError::config("dshm option `port` must not be 0"));
        }
        Ok(())
    }

    pub(crate) fn target(&self) -> Target {
        Target::Tcp(
            self.host.clone().unwrap_or_else(|| DEFAULT_HOST.to_owned()),
            self.port.unwrap_or(DEFAULT_PORT),
        )
    }

    pub(crate) fn limits(&self) -> Limits {
        self.socket_limits().or_defaults()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn defaults_are_the_references() {
        let c = DshmConfig::default();
        assert_eq!(c.target(), Target::Tcp("127.0.0.1".into(), 4321));
        let l = c.limits();
        assert_eq!(l.connect, Duration::from_secs(60));
        assert_eq!(l.send, Duration::from_secs(60));
        assert_eq!(l.read, Duration::from_secs(60));
        assert_eq!(l.keepalive, Duration::from_secs(60));
        assert_eq!(l.pool_size, 30);
    }

    #[test]
    fn validation_names_the_option() {
        let with = |set: fn(&mut DshmConfig)| {
            let mut c = DshmConfig::default();
            set(&mut c);
            c
        };
        let cases = [
            (with(|c| c.connect_timeout = Some(0)), "connect_timeout"),
            (with(|c| c.send_timeout = Some(0)), "send_timeout"),
            (with(|c| c.read_timeout = Some(0)), "read_timeout"),
            (with(|c| c.keepalive_timeout = Some(0)), "keepalive_timeout"),
            (with(|c| c.pool_size = Some(0)), "pool_size"),
            (with(|c| c.ssl = Some(true)), "ssl"),
            (with(|c| c.host = Some(String::new())), "host"),
            (with(|c| c.port = Some(0)), "port"),
        ];
        for (config, name) in cases {
            let err = config.validate().unwrap_err();
            assert_eq!(err.kind(), session_storage::ErrorKind::Config);
            assert!(err.message().contains(&format!("`{name}`")), "{err}");
        }
        let ok = DshmConfig {
            ssl: Some(false),
            ssl_verify: Some(true),
            server_name: Some("x".into()),
            pool: Some("p".into()),
            backlog: Some(5),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn lua_names_deserialize_and_unknown_names_are_refused() {
        let c: DshmConfig = serde_json::from_str(
            r#"{"prefix":"sessions","suffix":"s","host":"h","port":1,"connect_timeout":1,
                "send_timeout":2,"read_timeout":3,"keepalive_timeout":4,"pool":"p",
                "pool_size":5,"backlog":6,"ssl":false,"ssl_verify":false,"server_name":"n"}"#,
        )
        .unwrap();
        assert_eq!(c.backlog, Some(6));
        for bad in [r#"{"socket":"/x"}"#, r#"{"force_auth":true}"#] {
            assert!(serde_json::from_str::<DshmConfig>(bad).is_err(), "{bad}");
        }
    }
}
