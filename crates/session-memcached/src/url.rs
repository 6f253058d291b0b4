//! URL form of [`MemcachedConfig`] (see [`MemcachedConfig::from_url`]).

use session_storage::StorageError;

use crate::config::MemcachedConfig;

fn bad(msg: impl Into<String>) -> StorageError {
    StorageError::config(format!("invalid memcached URL: {}", msg.into()))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s` (`+` stays `+`); the result must be UTF-8.
fn decode(s: &str) -> Result<String, StorageError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex);
            let lo = bytes.get(i + 2).copied().and_then(hex);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                _ => return Err(bad("bad percent-encoding")),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad("percent-encoding is not UTF-8"))
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, StorageError> {
    v.parse()
        .map_err(|_| bad(format!("`{name}` must be a number, got {v:?}")))
}

fn boolean(name: &str, v: &str) -> Result<bool, StorageError> {
    match v {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(bad(format!("`{name}` must be true or false, got {v:?}"))),
    }
}

fn apply_option(c: &mut MemcachedConfig, name: &str, v: String) -> Result<(), StorageError> {
    match name {
        "prefix" => c.prefix = Some(v),
        "suffix" => c.suffix = Some(v),
        "host" => c.host = Some(v),
        "port" => c.port = Some(number(name, &v)?),
        "socket" => c.socket = Some(v),
        "connect_timeout" => c.connect_timeout = Some(number(name, &v)?),
        "send_timeout" => c.send_timeout = Some(number(name, &v)?),
        "read_timeout" => c.read_timeout = Some(number(name, &v)?),
        "keepalive_timeout" => c.keepalive_timeout = Some(number(name, &v)?),
        "pool" => c.pool = Some(v),
        "pool_size" => c.pool_size = Some(number(name, &v)?),
        "backlog" => c.backlog = Some(number(name, &v)?),
        "ssl" => c.ssl = Some(boolean(name, &v)?),
        "ssl_verify" => c.ssl_verify = Some(boolean(name, &v)?),
        "server_name" => c.server_name = Some(v),
        "ssl_trusted_certificate" => c.ssl_trusted_certificate = Some(v.into()),
        "compaction_probability" => c.compaction_probability = Some(number(name, &v)?),
        _ => return Err(bad(format!("unknown option `{name}`"))),
    }
    Ok(())
}

/// `host[:port]`, an IPv6 literal in brackets.
fn host_port(s: &str) -> Result<(String, Option<u16>), StorageError> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("unclosed '[' in host"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
        };
        (host, port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    Ok((decode(host)?, port.map(|p| number("port", p)).transpose()?))
}

pub(crate) fn parse(url: &str) -> Result<MemcachedConfig, StorageError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("missing `scheme://`"))?;
    let (location, query) = match rest.split_once('?') {
        Some((l, q)) => (l, Some(q)),
        None => (rest, None),
    };
    let mut c = MemcachedConfig::default();
    match scheme {
        "memcache" | "memcached" => {
            let authority = location.strip_suffix('/').unwrap_or(location);
            if authority.contains('/') || authority.contains('@') {
                return Err(bad("expected memcache://host[:port][?options]"));
            }
            let (host, port) = host_port(authority)?;
            c.host = Some(host);
            c.port = port;
        }
        "memcache+unix" | "memcached+unix" | "unix" => {
            if !location.starts_with('/') {
                return Err(bad("expected memcache+unix:///absolute/path.sock"));
            }
            c.socket = Some(decode(location)?);
        }
        other => return Err(bad(format!("unknown scheme `{other}`"))),
    }
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        apply_option(&mut c, &decode(name)?, decode(value)?)?;
    }
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
