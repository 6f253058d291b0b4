//! The Lua socket options every networked store takes (OpenResty's cosocket options, as
//! lua-resty-session passes them): `connect_timeout`, `send_timeout`, `read_timeout`,
//! `keepalive_timeout` (milliseconds), `pool`, `pool_size`, `backlog`, and the TLS ones
//! `ssl`, `ssl_verify`, `server_name`, `ssl_trusted_certificate`; and one option of ours,
//! `operation_timeout` (milliseconds): the [deadline](crate::deadline) of each whole
//! operation.
//!
//! The serde fields stay in each store's configuration struct (serde's `flatten` cannot be
//! combined with `deny_unknown_fields`, and a typo must be an error); what is shared is the
//! resolution ([`SocketLimits`] → [`Limits`], OpenResty's defaults, the validation and its
//! messages) and the builder methods, which [`socket_options!`](crate::socket_options)
//! writes into a store's configuration.

use std::path::PathBuf;
use std::time::Duration;

use session_storage::StorageError;

pub use crate::deadline::DEFAULT_OPERATION_TIMEOUT_MS;
use crate::url::UrlSyntax;

/// OpenResty's socket timeouts and keepalive idle time when none is configured: 60 s.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// OpenResty's keepalive pool size (`lua_socket_pool_size`): 30.
pub const DEFAULT_POOL_SIZE: usize = 30;

/// The socket timeouts (milliseconds) and pool size as configured, each `None` when absent.
///
/// ```
/// use session_net::options::SocketLimits;
/// let given = SocketLimits { read_timeout: Some(250), ..SocketLimits::default() };
/// let limits = given.resolve("memcached")?;
/// assert_eq!(limits.read, std::time::Duration::from_millis(250));
/// assert_eq!(limits.connect, std::time::Duration::from_secs(60));
/// assert_eq!(limits.pool_size, 30);
/// assert_eq!(limits.operation, std::time::Duration::from_secs(5));
/// # Ok::<_, session_storage::StorageError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketLimits {
    /// `connect_timeout`, milliseconds.
    pub connect_timeout: Option<u64>,
    /// `send_timeout`, milliseconds.
    pub send_timeout: Option<u64>,
    /// `read_timeout`, milliseconds.
    pub read_timeout: Option<u64>,
    /// `keepalive_timeout`, milliseconds.
    pub keepalive_timeout: Option<u64>,
    /// `pool_size`.
    pub pool_size: Option<usize>,
    /// `operation_timeout`, milliseconds: the deadline of each whole operation.
    pub operation_timeout: Option<u64>,
}

impl SocketLimits {
    /// Checks the values: every timeout at least 1 ms, a pool of at least one connection.
    ///
    /// ```
    /// use session_net::options::SocketLimits;
    /// let zero = SocketLimits { send_timeout: Some(0), ..SocketLimits::default() };
    /// let err = zero.validate("dshm").unwrap_err();
    /// assert_eq!(err.message(), "dshm option `send_timeout` must be at least 1 ms");
    /// let empty = SocketLimits { pool_size: Some(0), ..SocketLimits::default() };
    /// assert_eq!(
    ///     empty.validate("dshm").unwrap_err().message(),
    ///     "dshm option `pool_size` must be at least 1"
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// A [`Config`](session_storage::ErrorKind::Config) error naming store `store` and the
    /// option.
    pub fn validate(&self, store: &str) -> Result<(), StorageError> {
        for (name, value) in [
            ("connect_timeout", self.connect_timeout),
            ("send_timeout", self.send_timeout),
            ("read_timeout", self.read_timeout),
            ("keepalive_timeout", self.keepalive_timeout),
            ("operation_timeout", self.operation_timeout),
        ] {
            if value == Some(0) {
                return Err(StorageError::config(format!(
                    "{store} option `{name}` must be at least 1 ms"
                )));
            }
        }
        if self.pool_size == Some(0) {
            return Err(StorageError::config(format!(
                "{store} option `pool_size` must be at least 1"
            )));
        }
        Ok(())
    }

    /// The values with OpenResty's defaults applied ([`DEFAULT_TIMEOUT_MS`],
    /// [`DEFAULT_POOL_SIZE`]), unchecked.
    ///
    /// ```
    /// let limits = session_net::options::SocketLimits::default().or_defaults();
    /// assert_eq!(limits.keepalive, std::time::Duration::from_secs(60));
    /// ```
    #[must_use]
    pub fn or_defaults(&self) -> Limits {
        let ms = |v: Option<u64>| Duration::from_millis(v.unwrap_or(DEFAULT_TIMEOUT_MS));
        Limits {
            connect: ms(self.connect_timeout),
            send: ms(self.send_timeout),
            read: ms(self.read_timeout),
            keepalive: ms(self.keepalive_timeout),
            pool_size: self.pool_size.unwrap_or(DEFAULT_POOL_SIZE),
            operation: Duration::from_millis(
                self.operation_timeout
                    .unwrap_or(DEFAULT_OPERATION_TIMEOUT_MS),
            ),
        }
    }

    /// [`validate`](Self::validate), then [`or_defaults`](Self::or_defaults).
    ///
    /// ```
    /// use session_net::options::SocketLimits;
    /// assert!(SocketLimits { connect_timeout: Some(0), ..Default::default() }.resolve("pg").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// As [`validate`](Self::validate).
    pub fn resolve(&self, store: &str) -> Result<Limits, StorageError> {
        self.validate(store)?;
        Ok(self.or_defaults())
    }
}

/// Timeouts and pool size after defaults are applied.
///
/// ```
/// let limits = session_net::options::Limits::default();
/// assert_eq!(limits.send, std::time::Duration::from_secs(60));
/// assert_eq!(limits.pool_size, 30);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Connecting (TCP and the TLS handshake), and waiting for a pooled connection.
    pub connect: Duration,
    /// Each write of a request.
    pub send: Duration,
    /// Each read of a reply.
    pub read: Duration,
    /// Longest idle time of a pooled connection.
    pub keepalive: Duration,
    /// Largest number of open connections.
    pub pool_size: usize,
    /// The whole operation: pool checkout, connect, every write and read, retries.
    pub operation: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        SocketLimits::default().or_defaults()
    }
}

/// The socket option fields of a store's configuration, borrowed for writing: what a URL's
/// query sets through [`set`](Self::set). `ssl_trusted_certificate` is `None` for a store
/// without that option.
///
/// ```
/// use session_net::options::SocketOptionsMut;
/// use session_net::url::UrlSyntax;
///
/// let (mut connect, mut send, mut read, mut keepalive) = (None, None, None, None);
/// let (mut pool, mut pool_size, mut backlog) = (None, None, None);
/// let (mut ssl, mut ssl_verify, mut server_name) = (None, None, None);
/// let mut operation = None;
/// let mut options = SocketOptionsMut {
///     connect_timeout: &mut connect,
///     send_timeout: &mut send,
///     read_timeout: &mut read,
///     keepalive_timeout: &mut keepalive,
///     pool: &mut pool,
///     pool_size: &mut pool_size,
///     backlog: &mut backlog,
///     ssl: &mut ssl,
///     ssl_verify: &mut ssl_verify,
///     server_name: &mut server_name,
///     ssl_trusted_certificate: None,
///     operation_timeout: &mut operation,
/// };
/// const URL: UrlSyntax = UrlSyntax::new("dshm");
/// assert!(options.set(&URL, "read_timeout", "250")?);
/// assert!(options.set(&URL, "ssl", "off")?);
/// assert!(!options.set(&URL, "ssl_trusted_certificate", "/ca.pem")?);
/// assert!(options.set(&URL, "pool_size", "x").is_err());
/// assert!(options.set(&URL, "operation_timeout", "2000")?);
/// drop(options);
/// assert_eq!((read, ssl, operation), (Some(250), Some(false), Some(2000)));
/// # Ok::<_, session_storage::StorageError>(())
/// ```
#[derive(Debug)]
pub struct SocketOptionsMut<'a> {
    /// `connect_timeout`, milliseconds.
    pub connect_timeout: &'a mut Option<u64>,
    /// `send_timeout`, milliseconds.
    pub send_timeout: &'a mut Option<u64>,
    /// `read_timeout`, milliseconds.
    pub read_timeout: &'a mut Option<u64>,
    /// `keepalive_timeout`, milliseconds.
    pub keepalive_timeout: &'a mut Option<u64>,
    /// `pool`, the pool name.
    pub pool: &'a mut Option<String>,
    /// `pool_size`.
    pub pool_size: &'a mut Option<usize>,
    /// `backlog`.
    pub backlog: &'a mut Option<usize>,
    /// `ssl`.
    pub ssl: &'a mut Option<bool>,
    /// `ssl_verify`.
    pub ssl_verify: &'a mut Option<bool>,
    /// `server_name`.
    pub server_name: &'a mut Option<String>,
    /// `ssl_trusted_certificate`, when the store has it.
    pub ssl_trusted_certificate: Option<&'a mut Option<PathBuf>>,
    /// `operation_timeout`, milliseconds.
    pub operation_timeout: &'a mut Option<u64>,
}

impl SocketOptionsMut<'_> {
    /// Sets option `name` from its URL text `v` (numbers and booleans parsed by `url`);
    /// `false` when `name` is not a socket option of this store.
    ///
    /// ```
    /// # use session_net::options::SocketOptionsMut;
    /// # let (mut a, mut b, mut c, mut d, mut e, mut f, mut g) = (None, None, None, None, None, None, None);
    /// # let (mut h, mut i, mut j, mut k, mut l) = (None, None, None, None, None);
    /// # let mut options = SocketOptionsMut {
    /// #     connect_timeout: &mut a, send_timeout: &mut b, read_timeout: &mut c,
    /// #     keepalive_timeout: &mut d, pool: &mut e, pool_size: &mut f, backlog: &mut g,
    /// #     ssl: &mut h, ssl_verify: &mut i, server_name: &mut j, ssl_trusted_certificate: Some(&mut k),
    /// #     operation_timeout: &mut l,
    /// # };
    /// let url = session_net::url::UrlSyntax::new("memcached");
    /// assert!(options.set(&url, "ssl_trusted_certificate", "/etc/ssl/ca.pem")?);
    /// assert!(!options.set(&url, "prefix", "sessions")?);
    /// # Ok::<_, session_storage::StorageError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A value that is not a number or a boolean where one is expected.
    pub fn set(&mut self, url: &UrlSyntax, name: &str, v: &str) -> Result<bool, StorageError> {
        match name {
            "connect_timeout" => *self.connect_timeout = Some(url.number(name, v)?),
            "send_timeout" => *self.send_timeout = Some(url.number(name, v)?),
            "read_timeout" => *self.read_timeout = Some(url.number(name, v)?),
            "keepalive_timeout" => *self.keepalive_timeout = Some(url.number(name, v)?),
            "operation_timeout" => *self.operation_timeout = Some(url.number(name, v)?),
            "pool" => *self.pool = Some(v.to_owned()),
            "pool_size" => *self.pool_size = Some(url.number(name, v)?),
            "backlog" => *self.backlog = Some(url.number(name, v)?),
            "ssl" => *self.ssl = Some(url.boolean(name, v)?),
            "ssl_verify" => *self.ssl_verify = Some(url.boolean(name, v)?),
            "server_name" => *self.server_name = Some(v.to_owned()),
            "ssl_trusted_certificate" => match self.ssl_trusted_certificate.as_deref_mut() {
                Some(path) => *path = Some(v.into()),
                None => return Ok(false),
            },
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Declares a store's configuration struct with its own fields followed by the Lua socket
/// fields every networked store takes alike, with their Lua names and docs:
/// `connect_timeout`, `send_timeout`, `read_timeout`, `keepalive_timeout` (milliseconds,
/// `Option<u64>`), `pool` (`Option<String>`), `pool_size` and `backlog` (`Option<usize>`),
/// and `operation_timeout` (milliseconds, ours: the [deadline](crate::deadline) of each
/// whole operation).
///
/// The struct's attributes (derives, `#[serde(default, deny_unknown_fields)]`,
/// `#[non_exhaustive]`, docs) and its own fields pass through unchanged; the TLS fields stay
/// with each store, whose docs say what its TLS does. (serde's `flatten` would share a
/// struct instead, but it cannot be combined with `deny_unknown_fields`.)
///
/// ```
/// session_net::socket_config! {
///     /// A store's options.
///     #[derive(Debug, Default, serde::Deserialize)]
///     #[serde(default, deny_unknown_fields)]
///     pub struct ToyConfig {
///         /// Server host.
///         pub host: Option<String>,
///     }
/// }
/// let config: ToyConfig = serde_json::from_str(r#"{"host": "h", "read_timeout": 250}"#)?;
/// assert_eq!((config.host.as_deref(), config.read_timeout), (Some("h"), Some(250)));
/// assert!(serde_json::from_str::<ToyConfig>(r#"{"read_timeuot": 250}"#).is_err());
/// # Ok::<_, serde_json::Error>(())
/// ```
#[macro_export]
macro_rules! socket_config {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$field_meta:meta])* $field_vis:vis $field:ident : $field_ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$field_meta])* $field_vis $field : $field_ty, )*
            /// Connect timeout, milliseconds. Default 60 000.
            pub connect_timeout: ::core::option::Option<u64>,
            /// Send timeout (each write of a request), milliseconds. Default 60 000.
            pub send_timeout: ::core::option::Option<u64>,
            /// Read timeout (each read of a reply), milliseconds. Default 60 000.
            pub read_timeout: ::core::option::Option<u64>,
            /// Longest idle time of a pooled connection, milliseconds. Default 60 000.
            pub keepalive_timeout: ::core::option::Option<u64>,
            /// The deadline of each whole operation (pool checkout, connect, every write
            /// and read, retries), milliseconds. Default 5 000. Not a Lua option: see
            /// docs/failure-behaviour.md.
            pub operation_timeout: ::core::option::Option<u64>,
            /// Pool name (accepted; each store has its own pool).
            pub pool: ::core::option::Option<::std::string::String>,
            /// Largest number of open connections. Default 30.
            pub pool_size: ::core::option::Option<usize>,
            /// Queue length when the pool is exhausted (accepted; waiting is bounded by
            /// `connect_timeout`).
            pub backlog: ::core::option::Option<usize>,
        }
    };
}

/// Writes the socket-option builder methods into a store's configuration struct, whose
/// fields carry the Lua names (`connect_timeout: Option<u64>`, `ssl: Option<bool>`...).
///
/// Invoked as `socket_options!(Type in crate_name: group, ...)`, with the groups the store
/// has (each documented, with an example run against `crate_name::Type`):
///
/// | group | method (`#[must_use]`, consumes and returns `self`) |
/// |---|---|
/// | `affixes` | `with_prefix(prefix)` and `with_suffix(suffix)` (the key prefix and suffix) |
/// | `host` | `with_host(host, port)` |
/// | `socket` | `with_socket(path)`: a unix socket instead of host and port |
/// | `timeouts` | `with_timeouts(connect_ms, send_ms, read_ms)` and `with_operation_timeout(ms)` |
/// | `keepalive` | `with_keepalive_timeout(keepalive_ms)` |
/// | `pool_size` | `with_pool_size(pool_size)` |
/// | `ssl` | `with_ssl(verify)`: `ssl = true`, `ssl_verify = verify` |
/// | `server_name` | `with_server_name(name)` |
/// | `trusted_certificate` | `with_trusted_certificate(path)` |
/// | `limits` | `pub(crate) fn socket_limits(&self) -> SocketLimits` |
/// | `debug` | `pub(crate) fn debug_socket_fields(&self, &mut DebugStruct) -> &mut DebugStruct`: the eight [`socket_config!`](crate::socket_config) fields, for a hand-written `Debug` |
/// | `options_mut` | `pub(crate) fn socket_options_mut(&mut self) -> SocketOptionsMut<'_>` (all twelve fields) |
///
/// ```
/// mod config {
///     /// A store's options.
///     #[derive(Debug, Default)]
///     pub struct ToyConfig {
///         /// `connect_timeout`.
///         pub connect_timeout: Option<u64>,
///         /// `send_timeout`.
///         pub send_timeout: Option<u64>,
///         /// `read_timeout`.
///         pub read_timeout: Option<u64>,
///         /// `keepalive_timeout`.
///         pub keepalive_timeout: Option<u64>,
///         /// `pool_size`.
///         pub pool_size: Option<usize>,
///         /// `operation_timeout`.
///         pub operation_timeout: Option<u64>,
///     }
///     // (a real store names its own crate, whose doctests then run these examples)
///     session_net::socket_options!(ToyConfig in session_net_toy: timeouts, pool_size, limits);
///
///     pub fn limits(c: &ToyConfig) -> session_net::options::SocketLimits {
///         c.socket_limits()
///     }
/// }
/// let config = config::ToyConfig::default().with_timeouts(100, 200, 300).with_pool_size(4);
/// let limits = config::limits(&config).resolve("toy")?;
/// assert_eq!(limits.read, std::time::Duration::from_millis(300));
/// assert_eq!(limits.pool_size, 4);
/// # Ok::<_, session_storage::StorageError>(())
/// ```
#[macro_export]
macro_rules! socket_options {
    ($ty:ident in $krate:ident: $($group:ident),+ $(,)?) => {
        impl $ty {
            $( $crate::socket_options!(@$group $ty, $krate); )+
        }
    };
    (@affixes $ty:ident, $krate:ident) => {
        #[doc = "Sets the key prefix."]
        #[doc = ""]
        #[doc = "```"]
        #[doc = concat!("let config = ", stringify!($krate), "::", stringify!($ty), "::default().with_prefix(\"sessions\");")]
        #[doc = "assert_eq!(config.prefix.as_deref(), Some(\"sessions\"));"]
        #[doc = "```"]
        #[must_use]
        pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
            self.prefix = Some(prefix.into());
            self
        }

        #[doc = "Sets the key suffix."]
        #[doc = ""]
        #[doc = "```"]
        #[doc = concat!("let config = ", stringify!($krate), "::", stringify!($ty), "::default().with_suffix(\"s\");")]
        #[doc = "assert_eq!(config.suffix.as_deref(), Some(\"s\"));"]
        #[doc = "```"]
        #[must_use]
        pub fn with_suffix(mut self, suffix: impl Into<String>) -> Self {
            self.suffix = Some(suffix.into());
            self
        }
    };
    (@host $ty:ident, $krate:ident) => {
        #[doc = "Sets the server's host and port."]
        #[doc = ""]
        #[doc = "```"]
        #[doc = concat!("let config = ", stringify!($krate), "::", stringify!($ty), "::default().with_host(\"10.0.0.2\", 4000);")]
        #[doc = "assert_eq!((config.host.as_deref(), config.port), (Some(\"10.0.0.2\"), Some(4000)));"]
        #[doc = "```"]
        #[must_use]
        pub fn with_host(mut self, host: impl Into<String>, port: u16) -> Self {
            self.host = Some(host.into());
            self.port = Some(port);
            self
        }
    };
    (@socket $ty:ident, $krate:ident) => {
        #[doc = "Sets the unix socket, which replaces host and port (`unix:/path` or a bare path)."]
        #[doc = ""]
        #[doc = "```"]
        #[doc = concat!("let config = ", stringify!($krate), "::", stringify!($ty), "::default().with_socket(\"/run/store.sock\");")]
        #[doc = "assert_eq!(config.socket.as_deref(), Some(\"/run/store.sock\"));"]
        #[doc = "```"]
        #[must_use]
        pub fn with_socket(mut self, socket: impl Into<String>) -> Self {
            self.socket = Some(socket.into());
            self
        }
    };
    (@timeouts $ty:ident, $krate:ident) => {
        #[doc = "Sets the connect, send and read timeouts, in milliseconds."]
        #[doc = ""]
        #[doc = "```"]
        #[doc = concat!("let config = ", stringify!($krate), "::", stringify!($ty), "::default().with_timeouts(100, 200, 300);")]
        #[doc = "assert_eq!(config.connect_timeout, Some(100));"]
        #[doc = "assert_eq!(config.read_timeout, Some(300));"]
        #[doc = "```"]
        #[must_use]
        pub fn with_timeouts(mut self, connect_ms: u64, send_ms: u64, read_ms: u64) -> Self {
            self.connect_timeout = Some(connect_ms);
            self.send_timeout = Some(send_ms);
            self.read_timeout = Some(read_ms);
            self
        }

        #[doc = "Sets the deadline of each whole operation (pool checkout, connect, every write and"]
        #[doc = "read, retries), in milliseconds: `operation_timeout`, 5 000 by default."]
        #[doc = ""]
        #[doc = "```"]
        #[doc = concat!("let config = ", stringify!($krate), "::", stringify!($ty), "::default().with_operation_timeout(1500);")]
        #[doc = "assert_eq!(config.operation_timeout, Some(1500));"]
        #[doc = "```"]
        #[must_use]
        pub fn with_operation_timeout(mut self, operation_ms: u64) -> Self {
            self.operation_timeout = Some(operation_ms);
            self
        }
    };
    (@keepalive $ty:ident, $krate:ident) => {
        #[doc = "Sets the longest idle time of a pooled connection, in milliseconds."]
        #[doc = ""]
        #[doc = "```"]
        #[doc = concat!("let config = ", stringify!($krate), "::", stringify!($ty), "::default().with_keepalive_timeout(30_000);")]
        #[doc = "assert_eq!(config.keepalive_timeout, Some(30_000));"]
        #[doc = "```"]
        #[must_use]
        pub fn with_keepalive_timeout(mut self, keepalive_ms: u64) -> Self {
            self.keepalive_timeout = Some(keepalive_ms);
            self
        }
    };
    (@pool_size $ty:ident, $krate:ident) => {
        #[doc = "Sets the largest number of open connections."]
        #[doc = ""]
        #[doc = "```"]
        #[doc = concat!("let config = ", stringify!($krate), "::", stringify!($ty), "::default().with_pool_size(8);")]
        #[doc = "assert_eq!(config.pool_size, Some(8));"]
        #[doc = "```"]
        #[must_use]
        pub fn with_pool_size(mut self, pool_size: usize) -> Self {
            self.pool_size = Some(pool_size);
            self
        }
    };
    (@ssl $ty:ident, $krate:ident) => {
        #[doc = "Turns TLS on (`ssl = true`), with or without verification (`ssl_verify`)."]
        #[doc = ""]
        #[doc = "```"]
        #[doc = concat!("let config = ", stringify!($krate), "::", stringify!($ty), "::default().with_ssl(true);")]
        #[doc = "assert_eq!((config.ssl, config.ssl_verify), (Some(true), Some(true)));"]
        #[doc = "```"]
        #[must_use]
        pub fn with_ssl(mut self, verify: bool) -> Self {
            self.ssl = Some(true);
            self.ssl_verify = Some(verify);
            self
        }
    };
    (@server_name $ty:ident, $krate:ident) => {
        #[doc = "Sets the TLS server name (sent in SNI and verified), when it differs from the host."]
        #[doc = ""]
        #[doc = "```"]
        #[doc = concat!("let config = ", stringify!($krate), "::", stringify!($ty), "::default().with_server_name(\"cache.internal\");")]
        #[doc = "assert_eq!(config.server_name.as_deref(), Some(\"cache.internal\"));"]
        #[doc = "```"]
        #[must_use]
        pub fn with_server_name(mut self, server_name: impl Into<String>) -> Self {
            self.server_name = Some(server_name.into());
            self
        }
    };
    (@trusted_certificate $ty:ident, $krate:ident) => {
        #[doc = "Sets a PEM file of the CA certificates to trust instead of the web PKI roots."]
        #[doc = ""]
        #[doc = "```"]
        #[doc = concat!("let config = ", stringify!($krate), "::", stringify!($ty), "::default().with_trusted_certificate(\"/etc/ssl/private-ca.pem\");")]
        #[doc = "assert!(config.ssl_trusted_certificate.is_some());"]
        #[doc = "```"]
        #[must_use]
        pub fn with_trusted_certificate(mut self, path: impl Into<::std::path::PathBuf>) -> Self {
            self.ssl_trusted_certificate = Some(path.into());
            self
        }
    };
    (@debug $ty:ident, $krate:ident) => {
        /// Adds the eight socket fields of `session_net::socket_config!` to a `Debug` output, in order.
        pub(crate) fn debug_socket_fields<'a, 'b, 'c>(
            &self,
            d: &'a mut ::std::fmt::DebugStruct<'b, 'c>,
        ) -> &'a mut ::std::fmt::DebugStruct<'b, 'c> {
            d.field("connect_timeout", &self.connect_timeout)
                .field("send_timeout", &self.send_timeout)
                .field("read_timeout", &self.read_timeout)
                .field("keepalive_timeout", &self.keepalive_timeout)
                .field("pool", &self.pool)
                .field("pool_size", &self.pool_size)
                .field("backlog", &self.backlog)
                .field("operation_timeout", &self.operation_timeout)
        }
    };
    (@options_mut $ty:ident, $krate:ident) => {
        /// The socket option fields, for a URL's query to set.
        pub(crate) fn socket_options_mut(&mut self) -> $crate::options::SocketOptionsMut<'_> {
            $crate::options::SocketOptionsMut {
                connect_timeout: &mut self.connect_timeout,
                send_timeout: &mut self.send_timeout,
                read_timeout: &mut self.read_timeout,
                keepalive_timeout: &mut self.keepalive_timeout,
                pool: &mut self.pool,
                pool_size: &mut self.pool_size,
                backlog: &mut self.backlog,
                ssl: &mut self.ssl,
                ssl_verify: &mut self.ssl_verify,
                server_name: &mut self.server_name,
                ssl_trusted_certificate: Some(&mut self.ssl_trusted_certificate),
                operation_timeout: &mut self.operation_timeout,
            }
        }
    };
    (@limits $ty:ident, $krate:ident) => {
        /// The socket timeouts and pool size as configured.
        pub(crate) fn socket_limits(&self) -> $crate::options::SocketLimits {
            $crate::options::SocketLimits {
                connect_timeout: self.connect_timeout,
                send_timeout: self.send_timeout,
                read_timeout: self.read_timeout,
                keepalive_timeout: self.keepalive_timeout,
                pool_size: self.pool_size,
                operation_timeout: self.operation_timeout,
            }
        }
    };
}
