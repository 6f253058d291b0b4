//! URL form of [`MysqlConfig`] (see [`MysqlConfig::from_url`]).

use session_storage::StorageError;

use crate::config::MysqlConfig;

fn bad(msg: impl Into<String>) -> StorageError {
    StorageError::config(format!("invalid mysql URL: {}", msg.into()))
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
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex);
            let lo = bytes.get(i + 2).copied().and_then(hex);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                _ => return Err(bad("bad percent-encoding")),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
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

fn apply_option(c: &mut MysqlConfig, name: &str, v: String) -> Result<(), StorageError> {
    match name {
        "host" => c.host = Some(v),
        "port" => c.port = Some(number(name, &v)?),
        "socket" => c.socket = Some(v),
        "username" => c.username = Some(v),
        "password" => c.password = Some(v),
        "charset" => c.charset = Some(v),
        "database" => c.database = Some(v),
        "table" | "table_name" => c.table = Some(v),
        "table_meta" | "table_name_meta" => c.table_meta = Some(v),
        "max_packet_size" => c.max_packet_size = Some(number(name, &v)?),
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
        _ => return Err(bad(format!("unknown option `{name}`"))),
    }
    Ok(())
}

pub(crate) fn parse(url: &str) -> Result<MysqlConfig, StorageError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("missing scheme (mysql://, mariadb://, mysql+unix://)"))?;
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    if rest.contains('#') || query.is_some_and(|q| q.contains('#')) {
        return Err(bad("fragments are not supported"));
    }
    let mut c = MysqlConfig::default();
    match scheme {
        "unix" | "mysql+unix" | "mariadb+unix" => {
            if rest.is_empty() {
                return Err(bad("missing socket path"));
            }
            c.socket = Some(decode(rest)?);
        }
        "mysql" | "mariadb" => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let hostport = match authority.rsplit_once('@') {
                Some((userinfo, hostport)) => {
                    let (user, pass) = match userinfo.split_once(':') {
                        Some((u, p)) => (u, Some(p)),
                        None => (userinfo, None),
                    };
                    if !user.is_empty() {
                        c.username = Some(decode(user)?);
                    }
                    if let Some(p) = pass {
                        c.password = Some(decode(p)?);
                    }
                    hostport
                }
                None => authority,
            };
            let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
                let (host, after) = inner
                    .split_once(']')
                    .ok_or_else(|| bad("unclosed '[' in host"))?;
                let port = match after {
                    "" => None,
                    p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
                };
                (host, port)
            } else {
                match hostport.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (hostport, None),
                }
            };
            if !host.is_empty() {
                c.host = Some(decode(host)?);
            }
            if let Some(p) = port {
                c.port = Some(number("port", p)?);
            }
            let path = path.trim_end_matches('/');
            if !path.is_empty() {
                if path.contains('/') {
                    return Err(bad("the path must be a single database name"));
                }
                c.database = Some(decode(path)?);
            }
        }
        other => {
            return Err(bad(format!(
                "unsupported scheme `{other}` (mysql://, mariadb://, mysql+unix://)"
            )));
        }
    }
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        apply_option(&mut c, &decode(name)?, decode(value)?)?;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn full_url() {
        let c = parse("mysql://root@127.0.0.1:3306/test").unwrap();
        assert_eq!(c.username.as_deref(), Some("root"));
        assert_eq!(c.password, None);
        assert_eq!((c.host.as_deref(), c.port), (Some("127.0.0.1"), Some(3306)));
        assert_eq!(c.database.as_deref(), Some("test"));

        let c =
            parse("mariadb://u:p%3Aw@[::1]:3307/db?table_name=t&pool_size=4&ssl=false").unwrap();
        assert_eq!(c.password.as_deref(), Some("p:w"));
        assert_eq!((c.host.as_deref(), c.port), (Some("::1"), Some(3307)));
        assert_eq!(c.table.as_deref(), Some("t"));
        assert_eq!(c.pool_size, Some(4));
        assert_eq!(c.ssl, Some(false));

        let c = parse("mysql://localhost").unwrap();
        assert_eq!(
            (c.host.as_deref(), c.port, c.database),
            (Some("localhost"), None, None)
        );
    }

    #[test]
    fn errors() {
        for url in [
            "localhost:3306",
            "postgres://x",
            "mysql://h:notaport",
            "mysql://h/a/b",
            "mysql://h?nope=1",
            "mysql://h?ssl=maybe",
            "mysql://h#frag",
            "mysql://u:%zz@h",
            "unix://",
        ] {
            let err = parse(url).unwrap_err();
            assert_eq!(err.kind(), session_storage::ErrorKind::Config, "{url}");
        }
    }
}
