//! MySQL driver errors as storage errors.

use mysql_async::{DriverError, Error, IoError};
use session_storage::{ErrorKind, StorageError};

/// MySQL / MariaDB server error codes that get a specific kind.
mod code {
    pub(super) const CON_COUNT: u16 = 1040; // too many connections
    pub(super) const ACCESS_DENIED_DB: u16 = 1044;
    pub(super) const ACCESS_DENIED: u16 = 1045;
    pub(super) const NO_DB: u16 = 1046;
    pub(super) const BAD_DB: u16 = 1049;
    pub(super) const SERVER_SHUTDOWN: u16 = 1053;
    pub(super) const BAD_FIELD: u16 = 1054;
    pub(super) const PARSE: u16 = 1064;
    pub(super) const NET_PACKET_TOO_LARGE: u16 = 1153;
    pub(super) const NO_SUCH_TABLE: u16 = 1146;
    pub(super) const TABLE_ACCESS_DENIED: u16 = 1142;
    pub(super) const LOCK_WAIT_TIMEOUT: u16 = 1205;
    pub(super) const LOCK_DEADLOCK: u16 = 1213;
    pub(super) const TRUNCATED_WRONG_VALUE_FOR_FIELD: u16 = 1366;
    pub(super) const DATA_TOO_LONG: u16 = 1406;
    pub(super) const QUERY_INTERRUPTED: u16 = 1317;
    pub(super) const READ_ONLY: u16 = 1290;
    pub(super) const STATEMENT_TIMEOUT: u16 = 1969; // MariaDB max_statement_time
    pub(super) const QUERY_TIMEOUT: u16 = 3024; // MySQL max_execution_time
}

/// Whether `e` is a deadlock the server rolled back (the statement can be retried).
pub(crate) fn is_deadlock(e: &Error) -> bool {
    matches!(e, Error::Server(s) if s.code == code::LOCK_DEADLOCK)
}

/// The kind of a driver error.
fn kind_of(e: &Error) -> ErrorKind {
    #[cfg(feature = "tls")]
    if crate::tls::certificate_error(e).is_some() {
        // A refused certificate: retrying will not help.
        return ErrorKind::Config;
    }
    match e {
        // A bad server name, an unreadable CA file...: the TLS configuration.
        #[cfg(feature = "tls")]
        Error::Io(IoError::Tls(
            mysql_async::TlsError::InvalidDnsName(_)
            | mysql_async::TlsError::Pem(_)
            | mysql_async::TlsError::VerifierBuilderError(_),
        )) => ErrorKind::Config,
        Error::Io(IoError::Io(io)) => match io.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => ErrorKind::Timeout,
            _ => ErrorKind::Unavailable,
        },
        #[allow(unreachable_patterns)] // a TLS variant exists only with TLS features
        Error::Io(_) => ErrorKind::Unavailable,
        Error::Driver(d) => match d {
            DriverError::ConnectionClosed
            | DriverError::PoolDisconnected
            | DriverError::PacketOutOfOrder
            | DriverError::UnexpectedPacket { .. }
            | DriverError::BadCompressedPacketHeader => ErrorKind::Unavailable,
            DriverError::FromValue { .. } | DriverError::FromRow { .. } => ErrorKind::InvalidRecord,
            DriverError::PacketTooLarge => ErrorKind::InvalidInput,
            DriverError::UnknownAuthPlugin { .. }
            | DriverError::MysqlOldPasswordDisabled
            | DriverError::CleartextPluginDisabled
            | DriverError::NoClientSslFlagFromServer
            | DriverError::CantParseServerVersion { .. } => ErrorKind::Config,
            _ => ErrorKind::Backend,
        },
        Error::Server(s) => match s.code {
            code::CON_COUNT | code::SERVER_SHUTDOWN | code::READ_ONLY | code::LOCK_DEADLOCK => {
                ErrorKind::Unavailable
            }
            code::LOCK_WAIT_TIMEOUT
            | code::QUERY_INTERRUPTED
            | code::STATEMENT_TIMEOUT
            | code::QUERY_TIMEOUT => ErrorKind::Timeout,
            code::ACCESS_DENIED
            | code::ACCESS_DENIED_DB
            | code::NO_DB
            | code::BAD_DB
            | code::NO_SUCH_TABLE
            | code::TABLE_ACCESS_DENIED
            | code::BAD_FIELD
            | code::PARSE => ErrorKind::Config,
            code::TRUNCATED_WRONG_VALUE_FOR_FIELD
            | code::DATA_TOO_LONG
            | code::NET_PACKET_TOO_LARGE => ErrorKind::InvalidInput,
            _ => ErrorKind::Backend,
        },
        Error::Url(_) => ErrorKind::Config,
        Error::Other(_) => ErrorKind::Backend,
    }
}

/// Maps a driver error onto a [`StorageError`] whose kind says whether a retry can help,
/// keeping the driver error as the source. `what` says what was being done; the message
/// classifies the failure (server error code, TLS) without repeating the source's text.
pub(crate) fn mysql_error(e: Error, what: &str) -> StorageError {
    let detail = match &e {
        Error::Server(s) => format!("{what}: server error {} ({})", s.code, s.state),
        Error::Driver(DriverError::NoClientSslFlagFromServer) => format!(
            "{what}: the server does not offer TLS (ssl = true); enable TLS on the server, \
             or set ssl = false"
        ),
        _ => tls_detail(&e, what).unwrap_or_else(|| what.to_owned()),
    };
    StorageError::new(kind_of(&e), detail).with_source(e)
}

/// What went wrong in a TLS setup, for the message.
#[cfg(feature = "tls")]
fn tls_detail(e: &Error, what: &str) -> Option<String> {
    if crate::tls::certificate_error(e).is_some() {
        // The rustls error stays in the source chain, not in the message.
        return Some(format!(
            "{what}: the server certificate could not be verified (check \
             ssl_trusted_certificate and server_name, or set ssl_verify = false to accept any \
             certificate)"
        ));
    }
    match e {
        Error::Io(IoError::Tls(_)) => Some(format!("{what}: TLS error")),
        Error::Io(IoError::Io(io))
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
        {
            Some(format!("{what}: TLS handshake failed"))
        }
        _ => None,
    }
}

#[cfg(not(feature = "tls"))]
fn tls_detail(_e: &Error, _what: &str) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_async::ServerError;

    fn server(code: u16) -> Error {
        Error::Server(ServerError {
            code,
            message: "m".into(),
            state: "HY000".into(),
        })
    }

    #[test]
    fn kinds() {
        let refused = Error::Io(IoError::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused",
        )));
        assert_eq!(mysql_error(refused, "x").kind(), ErrorKind::Unavailable);
        let timed_out = Error::Io(IoError::Io(std::io::ErrorKind::TimedOut.into()));
        assert_eq!(mysql_error(timed_out, "x").kind(), ErrorKind::Timeout);
        assert_eq!(mysql_error(server(1045), "x").kind(), ErrorKind::Config);
        assert_eq!(mysql_error(server(1146), "x").kind(), ErrorKind::Config);
        assert_eq!(
            mysql_error(server(1213), "x").kind(),
            ErrorKind::Unavailable
        );
        assert_eq!(mysql_error(server(1205), "x").kind(), ErrorKind::Timeout);
        assert_eq!(
            mysql_error(server(1366), "x").kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(mysql_error(server(9999), "x").kind(), ErrorKind::Backend);
        let e = mysql_error(server(1146), "reading a session");
        assert_eq!(e.message(), "reading a session: server error 1146 (HY000)");
        assert!(std::error::Error::source(&e).is_some());
        assert!(is_deadlock(&server(1213)) && !is_deadlock(&server(1205)));
        let closed = Error::Driver(DriverError::ConnectionClosed);
        assert_eq!(mysql_error(closed, "x").kind(), ErrorKind::Unavailable);
    }
}
