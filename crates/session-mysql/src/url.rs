//! URL form of [`MysqlConfig`] (see [`MysqlConfig::from_url`]).

use session_net::url::UrlSyntax;
use session_storage::StorageError;

use crate::config::MysqlConfig;

const URL: UrlSyntax = UrlSyntax::new("mysql");

fn apply_option(c: &mut MysqlConfig, name: &str, v: String) -> Result<(), StorageError> {
    if c.socket_options_mut().set(&URL, name, &v)? {
        return Ok(());
    }
    match name {
        "host" => c.host = Some(v),
        "port" => c.port = Some(URL.number(name, &v)?),
        "socket" => c.socket = Some(v),
        "username" => c.username = Some(v),
        "password" => c.password = Some(v),
        "charset" => c.charset = Some(v),
        "database" => c.database = Some(v),
        "table" | "table_name" => c.table = Some(v),
        "table_meta" | "table_name_meta" => c.table_meta = Some(v),
        "max_packet_size" => c.max_packet_size = Some(URL.number(name, &v)?),
        _ => return Err(URL.invalid(format!("unknown option `{name}`"))),
    }
    Ok(())
}

/// Parses `url`; no error shows a piece of its credentials (see
/// `UrlSyntax::redact_credentials`).
pub(crate) fn parse(url: &str) -> Result<MysqlConfig, StorageError> {
    URL.redact_credentials(url, parse_unredacted(url))
}

fn parse_unredacted(url: &str) -> Result<MysqlConfig, StorageError> {
    let parts = URL.split(url, "missing scheme (mysql://, mariadb://, mysql+unix://)")?;
    if parts.has_fragment() {
        return Err(URL.invalid("fragments are not supported"));
    }
    let mut c = MysqlConfig::default();
    match parts.scheme {
        "unix" | "mysql+unix" | "mariadb+unix" => {
            if parts.location.is_empty() {
                return Err(URL.invalid("missing socket path"));
            }
            c.socket = Some(URL.decode(parts.location)?);
        }
        "mysql" | "mariadb" => {
            let authority = URL.authority(parts.location)?;
            c.username = authority.username;
            c.password = authority.password;
            (c.host, c.port) = URL.optional_host_port(authority.hosts)?;
            let path = authority.path.trim_end_matches('/');
            if !path.is_empty() {
                if path.contains('/') {
                    return Err(URL.invalid("the path must be a single database name"));
                }
                c.database = Some(URL.decode(path)?);
            }
        }
        other => {
            return Err(URL.invalid(format!(
                "unsupported scheme `{other}` (mysql://, mariadb://, mysql+unix://)"
            )));
        }
    }
    URL.apply_query(parts.query, |name, value| apply_option(&mut c, name, value))?;
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
