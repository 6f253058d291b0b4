//! URL form of [`MemcachedConfig`] (see [`MemcachedConfig::from_url`]).

use session_net::url::UrlSyntax;
use session_storage::StorageError;

use crate::config::MemcachedConfig;

const URL: UrlSyntax = UrlSyntax::new("memcached");

fn apply_option(c: &mut MemcachedConfig, name: &str, v: String) -> Result<(), StorageError> {
    if c.socket_options_mut().set(&URL, name, &v)? {
        return Ok(());
    }
    match name {
        "prefix" => c.prefix = Some(v),
        "suffix" => c.suffix = Some(v),
        "host" => c.host = Some(v),
        "port" => c.port = Some(URL.number(name, &v)?),
        "socket" => c.socket = Some(v),
        "compaction_probability" => c.compaction_probability = Some(URL.number(name, &v)?),
        _ => return Err(URL.invalid(format!("unknown option `{name}`"))),
    }
    Ok(())
}

/// Parses `url`; no error shows a piece of its credentials (see
/// `UrlSyntax::redact_credentials`).
pub(crate) fn parse(url: &str) -> Result<MemcachedConfig, StorageError> {
    URL.redact_credentials(url, parse_unredacted(url))
}

fn parse_unredacted(url: &str) -> Result<MemcachedConfig, StorageError> {
    let parts = URL.split(url, "missing `scheme://`")?;
    let location = parts.location;
    let mut c = MemcachedConfig::default();
    match parts.scheme {
        "memcache" | "memcached" => {
            let authority = location.strip_suffix('/').unwrap_or(location);
            if authority.contains('/') || authority.contains('@') {
                return Err(URL.invalid("expected memcache://host[:port][?options]"));
            }
            let (host, port) = URL.host_port(authority)?;
            c.host = Some(host);
            c.port = port;
        }
        "memcache+unix" | "memcached+unix" | "unix" => {
            if !location.starts_with('/') {
                return Err(URL.invalid("expected memcache+unix:///absolute/path.sock"));
            }
            c.socket = Some(URL.decode(location)?);
        }
        other => return Err(URL.invalid(format!("unknown scheme `{other}`"))),
    }
    URL.apply_query(parts.query, |name, value| apply_option(&mut c, name, value))?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let c = parse("memcached://[::1]:11300?suffix=s&ssl=false&pool=p&backlog=3").unwrap();
        assert_eq!((c.host.as_deref(), c.port), (Some("::1"), Some(11300)));
        assert_eq!(c.suffix.as_deref(), Some("s"));
        assert_eq!(c.ssl, Some(false));
        let c = parse("memcache://localhost").unwrap();
        assert_eq!((c.host.as_deref(), c.port), (Some("localhost"), None));
        let c = parse("unix:///tmp/m%20c.sock?prefix=a%3Ab").unwrap();
        assert_eq!(c.socket.as_deref(), Some("/tmp/m c.sock"));
        assert_eq!(c.prefix.as_deref(), Some("a:b"));
        let c = parse(
            "memcache://127.0.0.1:11212?ssl=1&ssl_verify=off&server_name=m.example\
             &ssl_trusted_certificate=/tmp/ca.pem",
        )
        .unwrap();
        assert_eq!((c.ssl, c.ssl_verify), (Some(true), Some(false)));
        assert_eq!(c.server_name.as_deref(), Some("m.example"));
        assert_eq!(
            c.ssl_trusted_certificate.as_deref(),
            Some(std::path::Path::new("/tmp/ca.pem"))
        );
    }

    #[test]
    fn errors_are_config_errors_naming_the_problem() {
        for (url, needle) in [
            ("127.0.0.1:11211", "scheme"),
            ("redis://h", "scheme"),
            ("memcache://h:x", "port"),
            ("memcache://h?read_timeout=soon", "read_timeout"),
            ("memcache://h?ssl=maybe", "ssl"),
            ("memcache://h?ssl_verify=2", "ssl_verify"),
            ("memcache://h?bogus=1", "bogus"),
            ("memcache://h/path", "host"),
            ("memcache://:1", "empty host"),
            ("memcache+unix://relative", "absolute"),
            ("memcache://h?prefix=%zz", "percent"),
        ] {
            let err = parse(url).unwrap_err();
            assert_eq!(err.kind(), session_storage::ErrorKind::Config);
            assert!(err.message().contains(needle), "{url}: {err}");
        }
    }
}
