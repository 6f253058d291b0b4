//! URL form of [`DshmConfig`] (see [`DshmConfig::from_url`]).

use session_net::options::SocketOptionsMut;
use session_net::url::UrlSyntax;
use session_storage::StorageError;

use crate::config::DshmConfig;

const URL: UrlSyntax = UrlSyntax::new("dshm");

/// DSHM's socket options (it has no `ssl_trusted_certificate`).
fn socket_options(c: &mut DshmConfig) -> SocketOptionsMut<'_> {
    SocketOptionsMut {
        connect_timeout: &mut c.connect_timeout,
        send_timeout: &mut c.send_timeout,
        read_timeout: &mut c.read_timeout,
        keepalive_timeout: &mut c.keepalive_timeout,
        pool: &mut c.pool,
        pool_size: &mut c.pool_size,
        backlog: &mut c.backlog,
        ssl: &mut c.ssl,
        ssl_verify: &mut c.ssl_verify,
        server_name: &mut c.server_name,
        ssl_trusted_certificate: None,
        operation_timeout: &mut c.operation_timeout,
    }
}

fn apply_option(c: &mut DshmConfig, name: &str, v: String) -> Result<(), StorageError> {
    if socket_options(c).set(&URL, name, &v)? {
        return Ok(());
    }
    match name {
        "prefix" => c.prefix = Some(v),
        "suffix" => c.suffix = Some(v),
        "host" => c.host = Some(v),
        "port" => c.port = Some(URL.number(name, &v)?),
        _ => return Err(URL.invalid(format!("unknown option `{name}`"))),
    }
    Ok(())
}

/// Parses `url`; no error shows a piece of its credentials (see
/// `UrlSyntax::redact_credentials`).
pub(crate) fn parse(url: &str) -> Result<DshmConfig, StorageError> {
    URL.redact_credentials(url, parse_unredacted(url))
}

fn parse_unredacted(url: &str) -> Result<DshmConfig, StorageError> {
    let parts = URL.split(url, "missing `scheme://`")?;
    if parts.scheme != "dshm" {
        return Err(URL.invalid(format!(
            "unknown scheme `{}` (expected dshm://)",
            parts.scheme
        )));
    }
    let authority = parts.location.strip_suffix('/').unwrap_or(parts.location);
    if authority.contains('/') || authority.contains('@') {
        return Err(URL.invalid("expected dshm://host[:port][?options]"));
    }
    let mut c = DshmConfig::default();
    (c.host, c.port) = URL
        .host_port(authority)
        .map(|(host, port)| (Some(host), port))?;
    URL.apply_query(parts.query, |name, value| apply_option(&mut c, name, value))?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let c = parse("dshm://[::1]:4322?suffix=s&ssl=false&pool=p&backlog=3").unwrap();
        assert_eq!((c.host.as_deref(), c.port), (Some("::1"), Some(4322)));
        assert_eq!(c.suffix.as_deref(), Some("s"));
        assert_eq!(c.ssl, Some(false));
        let c = parse("dshm://localhost/").unwrap();
        assert_eq!((c.host.as_deref(), c.port), (Some("localhost"), None));
        let c = parse("dshm://h?prefix=a%3Ab&prefix=").unwrap();
        assert_eq!(c.prefix.as_deref(), Some(""));
        let c = parse(
            "dshm://h?read_timeout=7&keepalive_timeout=8&pool_size=2&server_name=x&ssl_verify=1",
        )
        .unwrap();
        assert_eq!(
            (c.read_timeout, c.keepalive_timeout, c.pool_size),
            (Some(7), Some(8), Some(2))
        );
    }

    #[test]
    fn errors_are_config_errors_naming_the_problem() {
        for (url, needle) in [
            ("127.0.0.1:4321", "scheme"),
            ("redis://h", "scheme"),
            ("dshm://h:x", "port"),
            ("dshm://h?read_timeout=soon", "read_timeout"),
            ("dshm://h?ssl=maybe", "ssl"),
            ("dshm://h?bogus=1", "bogus"),
            ("dshm://h?socket=/x", "socket"),
            ("dshm://h/path", "host"),
            ("dshm://u@h", "host"),
            ("dshm://:1", "empty host"),
            ("dshm://h?prefix=%zz", "percent"),
        ] {
            let err = parse(url).unwrap_err();
            assert_eq!(err.kind(), session_storage::ErrorKind::Config);
            assert!(err.message().contains(needle), "{url}: {err}");
        }
    }
}
