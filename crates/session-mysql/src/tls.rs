//! TLS options for `mysql_async` (rustls, ring provider), built from the `ssl` options.
//!
//! By default (and with `ssl_verify = true`) the certificate chain is checked against the web
//! PKI roots (or only the CAs of `ssl_trusted_certificate`) and the host name (`server_name`,
//! else `host`). `ssl_verify = false` (OpenResty's default) accepts any certificate: the
//! connection is encrypted but the server is not authenticated. Handshake signatures are
//! checked either way. The driver uses rustls's process-wide default `CryptoProvider`;
//! [`ssl_opts`] installs ring as that default when the application has not chosen one.

use mysql_async::SslOpts;
use session_storage::StorageError;

use crate::config::{MysqlConfig, STORE};

/// The driver's TLS options for `config`: `None` without `ssl = true`.
pub(crate) fn ssl_opts(config: &MysqlConfig) -> Result<Option<SslOpts>, StorageError> {
    if config.ssl != Some(true) {
        return Ok(None);
    }
    // mysql_async builds its rustls configuration with the process-wide default provider:
    // make it ring unless the application installed one, so a build that also compiles
    // another provider cannot panic on connect.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let mut opts = SslOpts::default();
    if config.ssl_verify == Some(false) {
        // Any certificate (handshake signatures are still checked by rustls).
        opts = opts.with_danger_accept_invalid_certs(true);
    } else if let Some(path) = &config.ssl_trusted_certificate {
        // Only these CAs, instead of the web PKI roots.
        opts = opts
            .with_root_certs(vec![session_net::tls::trusted_pem(STORE, path)?.into()])
            .with_disable_built_in_roots(true);
    }
    if let Some(name) = &config.server_name {
        session_net::tls::server_name(STORE, "server_name", name)?;
        opts = opts.with_danger_tls_hostname_override(Some(name.clone()));
    } else {
        let host = config.host.as_deref().unwrap_or("127.0.0.1");
        session_net::tls::server_name(STORE, "host", host)?;
    }
    Ok(Some(opts))
}

/// If `e` is (or wraps) a refused server certificate, the rustls error saying why.
pub(crate) fn certificate_error(e: &mysql_async::Error) -> Option<&rustls::Error> {
    let rustls_error = match e {
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        mysql_async::Error::Io(mysql_async::IoError::Tls(mysql_async::TlsError::Tls(e))) => Some(e),
        _ => None,
    }?;
    matches!(
        rustls_error,
        rustls::Error::InvalidCertificate(_) | rustls::Error::InvalidCertRevocationList(_)
    )
    .then_some(rustls_error)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use session_storage::ErrorKind;

    #[test]
    fn options() {
        assert!(ssl_opts(&MysqlConfig::default()).unwrap().is_none());
        let verified = ssl_opts(&MysqlConfig::default().with_ssl(true))
            .unwrap()
            .unwrap();
        assert!(!verified.accept_invalid_certs() && !verified.disable_built_in_roots());
        assert_eq!(verified.tls_hostname_override(), None);
        let any = ssl_opts(
            &MysqlConfig::default()
                .with_ssl(false)
                .with_server_name("db.internal"),
        )
        .unwrap()
        .unwrap();
        assert!(any.accept_invalid_certs());
        assert_eq!(any.tls_hostname_override(), Some("db.internal"));
    }

    #[test]
    fn bad_trusted_certificate_files_are_config_errors() {
        let missing = MysqlConfig::default()
            .with_ssl(true)
            .with_trusted_certificate("/nonexistent/ca.pem");
        let err = ssl_opts(&missing).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("ssl_trusted_certificate"), "{err}");

        let path =
            std::env::temp_dir().join(format!("session-mysql-empty-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = ssl_opts(
            &MysqlConfig::default()
                .with_ssl(true)
                .with_trusted_certificate(&path),
        )
        .unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(err.message().contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn bad_names_are_config_errors() {
        let err = ssl_opts(
            &MysqlConfig::default()
                .with_ssl(true)
                .with_server_name("a b"),
        )
        .unwrap_err();
        assert!(err.message().contains("server_name"), "{err}");
    }
}
