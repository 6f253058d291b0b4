//! The network pieces the session stores share.
//!
//! A store crate (`session-memcached`, `session-redis`, ...) takes from here what every
//! networked store of lua-resty-session does alike, so each one reads the same:
//!
//! - [`url`]: the syntax of the stores' URL forms (percent-decoding, `host:port`, typed
//!   query options), each error naming the store;
//! - [`deadline`]: one deadline per storage operation (`operation_timeout`, 5 s by default),
//!   so a hung server costs a request seconds, not minutes;
//! - [`options`]: the Lua socket options (timeouts, pool size) with OpenResty's defaults and
//!   their validation, and [`socket_options!`] writing the builder methods;
//! - `tls` (feature `tls`): the TLS policy (verify by default against the web PKI roots or
//!   the CAs of `ssl_trusted_certificate`, `ssl_verify = false` accepting any certificate);
//! - [`text`], [`conn`], [`pool`]: what the line-based text protocols (memcached's, DSHM's)
//!   share: a bounded connection over TCP, TLS or a unix socket, its typed failures, the
//!   connection pool and its retry rule.
//!
//! A third-party store needs none of this: `session-storage` alone is the contract.
//!
//! ```
//! use session_net::url::UrlSyntax;
//! const URL: UrlSyntax = UrlSyntax::new("memcached");
//! assert_eq!(URL.host_port("[::1]:11211")?, ("::1".to_owned(), Some(11211)));
//! # Ok::<_, session_storage::StorageError>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod conn;
pub mod deadline;
pub mod options;
pub mod pool;
pub mod text;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
pub mod url;
