//! TLS to memcached (feature `tls`): rustls with the ring provider, TLS 1.2 and 1.3.
//!
//! With `ssl_verify` (the default here) the server's chain is checked against the CAs of
//! `ssl_trusted_certificate` (only those, like OpenResty's `lua_ssl_trusted_certificate`), else
//! the web PKI roots, and its name against `server_name` (or `host`). With `ssl_verify = false` any certificate is accepted, as OpenResty does by
//! default: the traffic is encrypted but the server is not authenticated.

#[cfg(feature = "tls")]
pub(crate) use enabled::{TlsConnector, TlsStream, handshake_error};

/// No TLS without the feature: this type has no value, so no connection ever uses TLS.
#[cfg(not(feature = "tls"))]
#[derive(Debug)]
pub(crate) enum TlsConnector {}

/// Builds the connector when `ssl = true` (the configuration is already validated).
///
/// # Errors
///
/// `Config` when the trusted CA file cannot be read or parsed, or `server_name` (or the
/// host) is not a valid TLS name.
#[cfg(feature = "tls")]
pub(crate) fn connector(
    config: &crate::MemcachedConfig,
) -> Result<Option<TlsConnector>, session_storage::StorageError> {
    if config.ssl == Some(true) {
        TlsConnector::new(config).map(Some)
    } else {
        Ok(None)
    }
}

/// Without the feature `ssl = true` is refused by validation, so there is never a connector.
#[cfg(not(feature = "tls"))]
#[allow(clippy::unnecessary_wraps)]
pub(crate) fn connector(
    _config: &crate::MemcachedConfig,
) -> Result<Option<TlsConnector>, session_storage::StorageError> {
    Ok(None)
}

#[cfg(feature = "tls")]
mod enabled {
    use std::io;
    use std::sync::Arc;

    use session_net::tls::rustls::{self, pki_types::ServerName};
    use session_net::tls::tokio_rustls;
    use session_storage::{ErrorKind, StorageError};
    use tokio::net::TcpStream;

    use crate::MemcachedConfig;

    /// A TLS client stream over TCP.
    pub(crate) type TlsStream = tokio_rustls::client::TlsStream<TcpStream>;

    /// What opens TLS sessions for one store: the rustls configuration and the name to
    /// send (SNI) and verify.
    #[derive(Clone)]
    pub(crate) struct TlsConnector {
        connector: tokio_rustls::TlsConnector,
        name: ServerName<'static>,
    }

    impl std::fmt::Debug for TlsConnector {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TlsConnector")
                .field("name", &self.name)
                .finish_non_exhaustive()
        }
    }

    impl TlsConnector {
        pub(super) fn new(config: &MemcachedConfig) -> Result<Self, StorageError> {
            let client = session_net::tls::client_config(
                "memcached",
                config.ssl_verify != Some(false),
                config.ssl_trusted_certificate.as_deref(),
            )?;
            let name = match &config.server_name {
                Some(name) => session_net::tls::server_name("memcached", "server_name", name)?,
                None => session_net::tls::server_name("memcached", "host", &config.tcp_host())?,
            };
            Ok(Self {
                connector: tokio_rustls::TlsConnector::from(Arc::new(client)),
                name,
            })
        }

        /// Runs the client handshake over `tcp`.
        pub(crate) async fn connect(&self, tcp: TcpStream) -> io::Result<TlsStream> {
            self.connector.connect(self.name.clone(), tcp).await
        }
    }

    /// Classifies a failed handshake: a certificate the verifier rejected is `Config` (the
    /// TLS options do not match the server's certificate; retrying will not help), another
    /// TLS failure (a server that does not speak TLS, an alert) is `Backend`, a connection
    /// reset or closed during the handshake is `Unavailable`.
    pub(crate) fn handshake_error(target: &crate::config::Target, e: io::Error) -> StorageError {
        let tls = session_net::tls::rustls_error(&e).cloned();
        match tls {
            Some(rustls::Error::InvalidCertificate(cert)) => StorageError::new(
                ErrorKind::Config,
                format!(
                    "memcached at {target}: TLS certificate verification failed ({cert}); check \
                     `ssl_trusted_certificate` and `server_name`, or set `ssl_verify = false`"
                ),
            )
            .with_source(e),
            Some(
                err @ (rustls::Error::InvalidMessage(_)
                | rustls::Error::InappropriateHandshakeMessage { .. }
                | rustls::Error::InappropriateMessage { .. }),
            ) => StorageError::backend(format!(
                "memcached at {target}: TLS handshake failed ({err}); does the server speak TLS?"
            ))
            .with_source(e),
            Some(err) => StorageError::backend(format!(
                "memcached at {target}: TLS handshake failed ({err})"
            ))
            .with_source(e),
            None => StorageError::unavailable(format!(
                "memcached at {target}: TLS handshake failed ({e})"
            ))
            .with_source(e),
        }
    }
}
