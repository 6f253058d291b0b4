//! TLS for tokio-postgres with rustls (ring provider): a [`MakeTlsConnect`] over tokio-rustls.
//!
//! By default (and with `ssl_verify = true`) the certificate chain is checked against the web
//! PKI roots (or only the CAs of `ssl_trusted_certificate`) and the host name (`server_name`,
//! else `host`). `ssl_verify = false` (pgmoon's default) accepts any certificate: the
//! connection is encrypted but the server is not authenticated. Handshake signatures are
//! checked either way.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use session_storage::StorageError;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_rustls::TlsConnector;

use crate::config::{PostgresConfig, STORE};

/// Why a TLS connection could not be set up. It is the source of the driver's error, which
/// [`crate::error::pg_error`] classifies.
#[derive(Debug)]
pub(crate) enum TlsError {
    /// The certificate was refused (unknown issuer, expired, wrong name...).
    Certificate(rustls::Error),
    /// Any other handshake failure (I/O, protocol).
    Handshake(io::Error),
    /// The host name is not a valid TLS server name.
    ServerName(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The rustls / I/O error is the source, not part of the message.
            Self::Certificate(_) => f.write_str(
                "the server certificate could not be verified (check ssl_trusted_certificate \
                 and server_name, or set ssl_verify = false to accept any certificate)",
            ),
            Self::Handshake(_) => f.write_str("TLS handshake failed"),
            Self::ServerName(name) => write!(f, "{name:?} is not a valid TLS server name"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Certificate(e) => Some(e),
            Self::Handshake(e) => Some(e),
            Self::ServerName(_) => None,
        }
    }
}

impl TlsError {
    fn from_io(e: io::Error) -> Self {
        if session_net::tls::is_certificate_error(&e) {
            if let Some(Ok(rustls_error)) = e.into_inner().map(|b| b.downcast::<rustls::Error>()) {
                return Self::Certificate(*rustls_error);
            }
            return Self::Handshake(io::Error::other("invalid certificate"));
        }
        Self::Handshake(e)
    }

    /// Whether the certificate was refused (as opposed to a failed connection).
    pub(crate) fn is_certificate(&self) -> bool {
        matches!(self, Self::Certificate(_) | Self::ServerName(_))
    }
}

/// The connector for `config` (which asks for TLS): the TLS policy of every store
/// ([`session_net::tls::client_config`]: verified unless `ssl_verify = false`, against the CAs
/// of `ssl_trusted_certificate` or the web PKI roots).
pub(crate) fn connector(config: &PostgresConfig) -> Result<MakeRustlsConnect, StorageError> {
    let tls = session_net::tls::client_config(
        STORE,
        config.ssl_verify != Some(false),
        config.ssl_trusted_certificate.as_deref(),
    )?;
    let server_name = match &config.server_name {
        Some(name) => Some(session_net::tls::server_name(STORE, "server_name", name)?),
        None => None,
    };
    Ok(MakeRustlsConnect {
        connector: TlsConnector::from(Arc::new(tls)),
        server_name,
    })
}

/// tokio-postgres's TLS factory: one [`RustlsConnect`] per connection, for `server_name` or
/// else the configured host.
#[derive(Clone)]
pub(crate) struct MakeRustlsConnect {
    connector: TlsConnector,
    server_name: Option<ServerName<'static>>,
}

impl<S> MakeTlsConnect<S> for MakeRustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = TlsError;

    /// An invalid `domain` (empty for a unix socket) fails only if a handshake is attempted:
    /// over a unix socket the server declines TLS before that.
    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, TlsError> {
        let name = match &self.server_name {
            Some(name) => Ok(name.clone()),
            None => ServerName::try_from(domain.to_owned()).map_err(|_| domain.to_owned()),
        };
        Ok(RustlsConnect {
            connector: self.connector.clone(),
            name,
        })
    }
}

/// One TLS handshake.
pub(crate) struct RustlsConnect {
    connector: TlsConnector,
    name: Result<ServerName<'static>, String>,
}

type HandshakeFuture<S> = Pin<Box<dyn Future<Output = Result<RustlsStream<S>, TlsError>> + Send>>;

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = TlsError;
    type Future = HandshakeFuture<S>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let name = self.name.map_err(TlsError::ServerName)?;
            self.connector
                .connect(name, stream)
                .await
                .map(RustlsStream)
                .map_err(TlsError::from_io)
        })
    }
}

/// An established TLS connection.
pub(crate) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    /// No `tls-server-end-point` binding: SCRAM authenticates without channel binding.
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}
