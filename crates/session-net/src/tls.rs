//! The TLS policy of the stores that speak TLS themselves (feature `tls`): rustls with the
//! ring provider, TLS 1.2 and 1.3.
//!
//! - `ssl_verify` unset or true: the server's chain is checked against the CAs of the PEM file
//!   `ssl_trusted_certificate` (only those, like nginx's `lua_ssl_trusted_certificate`), else
//!   the web PKI roots, and its name against `server_name` (else the host);
//! - `ssl_verify = false` (OpenResty's default): any certificate is accepted
//!   ([`AcceptAnyCertificate`]); the traffic is encrypted, the server is not authenticated.
//!
//! Every error is a [`Config`](session_storage::ErrorKind::Config) error naming the store and
//! the option (`memcached option `ssl_trusted_certificate`: ...`).

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use session_storage::StorageError;

mod accept_any;

pub use accept_any::AcceptAnyCertificate;
/// The rustls the policy is built with (the stores name its types through this re-export).
pub use rustls;
/// The tokio-rustls the stores open their TLS streams with.
pub use tokio_rustls;

/// A `Config` error: `<store> option `<option>`: <what>`.
fn option_error(store: &str, option: &str, what: impl std::fmt::Display) -> StorageError {
    StorageError::config(format!("{store} option `{option}`: {what}"))
}

/// The PEM file `ssl_trusted_certificate` of store `store`, read and checked to hold at least
/// one certificate (for drivers that take the PEM bytes themselves).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("ca.pem");
/// std::fs::write(&path, "not a certificate").unwrap();
/// let err = session_net::tls::trusted_pem("mysql", &path).unwrap_err();
/// assert!(err.message().starts_with("mysql option `ssl_trusted_certificate`"), "{err}");
/// assert!(err.message().contains("no PEM certificate"), "{err}");
/// ```
///
/// # Errors
///
/// `Config` when the file cannot be read, holds a malformed PEM certificate or none.
pub fn trusted_pem(store: &str, path: &Path) -> Result<Vec<u8>, StorageError> {
    trusted_certificates(store, path).map(|(pem, _)| pem)
}

fn trusted_certificates(
    store: &str,
    path: &Path,
) -> Result<(Vec<u8>, Vec<CertificateDer<'static>>), StorageError> {
    let cannot = |why: &dyn std::fmt::Display| {
        option_error(
            store,
            "ssl_trusted_certificate",
            format_args!("cannot use {}: {why}", path.display()),
        )
    };
    let pem = std::fs::read(path).map_err(|e| cannot(&e).with_source(e))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cannot(&e))?;
    if certs.is_empty() {
        return Err(cannot(&"no PEM certificate in the file"));
    }
    Ok((pem, certs))
}

/// The roots a verifying client trusts: the CAs of `trusted` (only those), else the web PKI
/// roots.
///
/// ```
/// let roots = session_net::tls::trusted_roots("memcached", None)?;
/// assert!(!roots.is_empty());
/// let err = session_net::tls::trusted_roots("memcached", Some("/nonexistent/ca.pem".as_ref()))
///     .unwrap_err();
/// assert_eq!(err.kind(), session_storage::ErrorKind::Config);
/// assert!(err.message().contains("`ssl_trusted_certificate`"), "{err}");
/// # Ok::<_, session_storage::StorageError>(())
/// ```
///
/// # Errors
///
/// As [`trusted_pem`], or a certificate rustls refuses as a root.
pub fn trusted_roots(store: &str, trusted: Option<&Path>) -> Result<RootCertStore, StorageError> {
    let Some(path) = trusted else {
        return Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    };
    let mut roots = RootCertStore::empty();
    for cert in trusted_certificates(store, path)?.1 {
        roots.add(cert).map_err(|e| {
            option_error(
                store,
                "ssl_trusted_certificate",
                format_args!("cannot use {}: {e}", path.display()),
            )
            .with_source(e)
        })?;
    }
    Ok(roots)
}

/// The rustls client configuration of a store: verified against [`trusted_roots`] unless
/// `verify` is false, then [`AcceptAnyCertificate`]. The CA file is not read when `verify`
/// is false.
///
/// ```
/// let config = session_net::tls::client_config("memcached", true, None)?;
/// assert!(config.alpn_protocols.is_empty());
/// // Without verification the CA file is not read.
/// session_net::tls::client_config("memcached", false, Some("/nonexistent.pem".as_ref()))?;
/// # Ok::<_, session_storage::StorageError>(())
/// ```
///
/// # Errors
///
/// `Config` as [`trusted_roots`], or when the provider has no usable protocol version.
pub fn client_config(
    store: &str,
    verify: bool,
    trusted: Option<&Path>,
) -> Result<ClientConfig, StorageError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            StorageError::config(format!("{store} TLS: no usable protocol version")).with_source(e)
        })?;
    Ok(if verify {
        builder
            .with_root_certificates(trusted_roots(store, trusted)?)
            .with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(AcceptAnyCertificate::shared(&provider))
            .with_no_client_auth()
    })
}

/// `name`, the value of option `option` (`server_name`, or the host), as the name sent in
/// SNI and verified.
///
/// ```
/// let name = session_net::tls::server_name("memcached", "host", "10.0.0.5")?;
/// assert_eq!(name.to_str(), "10.0.0.5");
/// let err = session_net::tls::server_name("memcached", "server_name", "bad name!").unwrap_err();
/// assert_eq!(
///     err.message(),
///     "memcached option `server_name`: \"bad name!\" is not a valid TLS server name"
/// );
/// # Ok::<_, session_storage::StorageError>(())
/// ```
///
/// # Errors
///
/// `Config` when `name` is neither a DNS name nor an IP address.
pub fn server_name(
    store: &str,
    option: &str,
    name: &str,
) -> Result<ServerName<'static>, StorageError> {
    ServerName::try_from(name.to_owned()).map_err(|e| {
        option_error(
            store,
            option,
            format_args!("{name:?} is not a valid TLS server name"),
        )
        .with_source(e)
    })
}

/// The rustls error inside a failed handshake's I/O error, if there is one.
///
/// ```
/// use std::io;
/// let refused = io::Error::new(
///     io::ErrorKind::InvalidData,
///     rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
/// );
/// assert!(session_net::tls::is_certificate_error(&refused));
/// assert!(session_net::tls::rustls_error(&refused).is_some());
/// assert!(session_net::tls::rustls_error(&io::Error::other("reset")).is_none());
/// ```
#[must_use]
pub fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// Whether a failed handshake is a refused server certificate (the TLS options do not match
/// the server: a `Config` error, retrying will not help).
///
/// ```
/// assert!(!session_net::tls::is_certificate_error(&std::io::Error::other("reset")));
/// ```
#[must_use]
pub fn is_certificate_error(e: &io::Error) -> bool {
    matches!(
        rustls_error(e),
        Some(rustls::Error::InvalidCertificate(_) | rustls::Error::InvalidCertRevocationList(_))
    )
}

/// A TLS client stream over TCP.
pub type TlsStream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// What opens TLS sessions for one store: the rustls configuration of [`client_config`] and
/// the name sent (SNI) and verified.
///
/// ```
/// use session_net::tls::TlsConnector;
/// let tls = TlsConnector::new("memcached", true, None, Some("cache.internal"), "10.0.0.5")?;
/// assert!(format!("{tls:?}").contains("cache.internal"));
/// let err = TlsConnector::new("memcached", true, None, None, "bad host!").unwrap_err();
/// assert!(err.message().starts_with("memcached option `host`"), "{err}");
/// # Ok::<_, session_storage::StorageError>(())
/// ```
#[derive(Clone)]
pub struct TlsConnector {
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
    /// The connector of store `store`: [`client_config`]`(store, verify, trusted)`, and as
    /// name `server_name`, else `host` (each checked by [`server_name`], naming its option).
    ///
    /// See the [type example](TlsConnector).
    ///
    /// # Errors
    ///
    /// `Config`, as [`client_config`] and [`server_name`].
    pub fn new(
        store: &str,
        verify: bool,
        trusted: Option<&Path>,
        server_name: Option<&str>,
        host: &str,
    ) -> Result<Self, StorageError> {
        let config = client_config(store, verify, trusted)?;
        let name = match server_name {
            Some(name) => self::server_name(store, "server_name", name)?,
            None => self::server_name(store, "host", host)?,
        };
        Ok(Self {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            name,
        })
    }

    /// Runs the client handshake over `tcp`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = session_net::tls::TlsConnector::new("memcached", true, None, None, "cache.example")?;
    /// let tcp = tokio::net::TcpStream::connect(("cache.example", 11211)).await?;
    /// let _stream = tls.connect(tcp).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The handshake's I/O error (see [`handshake_error`]).
    pub async fn connect(&self, tcp: tokio::net::TcpStream) -> io::Result<TlsStream> {
        self.connector.connect(self.name.clone(), tcp).await
    }
}

/// Classifies a failed handshake with `server` (displayed as `<store> at <target>`): a
/// certificate the verifier rejected is `Config` (the TLS options do not match the server's
/// certificate; retrying will not help), another TLS failure (a server that does not speak
/// TLS, an alert) is `Backend`, a connection reset or closed during the handshake is
/// `Unavailable`.
///
/// ```
/// use std::io;
/// use session_storage::ErrorKind;
/// let refused = io::Error::new(
///     io::ErrorKind::InvalidData,
///     rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
/// );
/// let err = session_net::tls::handshake_error(&"memcached at h:1", refused);
/// assert_eq!(err.kind(), ErrorKind::Config);
/// assert!(err.message().contains("certificate verification failed"), "{err}");
/// let reset = io::Error::from(io::ErrorKind::ConnectionReset);
/// let err = session_net::tls::handshake_error(&"memcached at h:1", reset);
/// assert_eq!(err.kind(), ErrorKind::Unavailable);
/// ```
#[must_use]
pub fn handshake_error(server: &dyn std::fmt::Display, e: io::Error) -> StorageError {
    match rustls_error(&e).cloned() {
        Some(rustls::Error::InvalidCertificate(cert)) => StorageError::config(format!(
            "{server}: TLS certificate verification failed ({cert}); check \
             `ssl_trusted_certificate` and `server_name`, or set `ssl_verify = false`"
        ))
        .with_source(e),
        Some(
            err @ (rustls::Error::InvalidMessage(_)
            | rustls::Error::InappropriateHandshakeMessage { .. }
            | rustls::Error::InappropriateMessage { .. }),
        ) => StorageError::backend(format!(
            "{server}: TLS handshake failed ({err}); does the server speak TLS?"
        ))
        .with_source(e),
        Some(err) => {
            StorageError::backend(format!("{server}: TLS handshake failed ({err})")).with_source(e)
        }
        None => StorageError::unavailable(format!("{server}: TLS handshake failed")).with_source(e),
    }
}

/// The TLS form of a pooled connection's reusability probe: one non-blocking read through
/// the TLS session, which consumes what a server may send unasked without it being data
/// (TLS 1.3 session tickets, key updates) and sees a `close_notify` or a closed socket.
pub(crate) fn is_idle(s: &mut TlsStream) -> bool {
    use std::task::{Context, Waker};
    use tokio::io::{AsyncRead, ReadBuf};

    let mut probe = [0_u8; 1];
    let mut buf = ReadBuf::new(&mut probe);
    let mut cx = Context::from_waker(Waker::noop());
    // Pending: idle and open. EOF, unsolicited bytes or an error: drop it.
    std::pin::Pin::new(s)
        .poll_read(&mut cx, &mut buf)
        .is_pending()
}
