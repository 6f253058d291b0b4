//! URL form of [`PostgresConfig`] (see [`PostgresConfig::from_url`]).

use session_net::url::UrlSyntax;
use session_storage::StorageError;

use crate::config::PostgresConfig;

const URL: UrlSyntax = UrlSyntax::new("postgres");

fn apply_option(c: &mut PostgresConfig, name: &str, v: String) -> Result<(), StorageError> {
    if c.socket_options_mut().set(&URL, name, &v)? {
        return Ok(());
    }
    match name {
        "host" => c.host = Some(v),
        "port" => c.port = Some(URL.number(name, &v)?),
        "application" | "application_name" => c.application = Some(v),
        "username" | "user" => c.username = Some(v),
        "password" => c.password = Some(v),
        "database" | "dbname" => c.database = Some(v),
        "table" | "table_name" => c.table = Some(v),
        "table_meta" | "table_name_meta" => c.table_meta = Some(v),
        "ssl_required" => c.ssl_required = Some(URL.boolean(name, &v)?),
        "sslrootcert" => c.ssl_trusted_certificate = Some(v.into()),
        "sslmode" => match v.as_str() {
            "disable" | "allow" => {
                c.ssl = Some(false);
                c.ssl_required = Some(false);
            }
            // Without TLS support, "prefer" is satisfied by plain text (as in a libpq built
            // without SSL).
            "prefer" => {
                c.ssl = Some(cfg!(feature = "tls"));
                c.ssl_required = Some(false);
                c.ssl_verify = Some(false);
            }
            "require" | "verify-ca" | "verify-full" => {
                c.ssl = Some(true);
                c.ssl_required = Some(true);
                c.ssl_verify = Some(v != "require");
            }
            _ => return Err(URL.invalid(format!("unknown `sslmode` {v:?}"))),
        },
        _ => return Err(URL.invalid(format!("unknown option `{name}`"))),
    }
    Ok(())
}

/// Parses `url`; no error shows a piece of its credentials (see
/// `UrlSyntax::redact_credentials`).
pub(crate) fn parse(url: &str) -> Result<PostgresConfig, StorageError> {
    URL.redact_credentials(url, parse_unredacted(url))
}

fn parse_unredacted(url: &str) -> Result<PostgresConfig, StorageError> {
    let parts = URL.split(url, "missing scheme (postgres:// or postgresql://)")?;
    if parts.scheme != "postgres" && parts.scheme != "postgresql" {
        return Err(URL.invalid(format!("unknown scheme `{}`", parts.scheme)));
    }
    if parts.has_fragment() {
        return Err(URL.invalid("fragments are not supported"));
    }
    let mut c = PostgresConfig::default();
    let authority = URL.authority(parts.location)?;
    c.username = authority.username;
    c.password = authority.password;
    if authority.hosts.contains(',') {
        return Err(URL.invalid("only one host is supported"));
    }
    (c.host, c.port) = URL.optional_host_port(authority.hosts)?;
    let path = authority.path;
    if !path.is_empty() {
        if path.contains('/') {
            return Err(URL.invalid("unexpected path segments"));
        }
        c.database = Some(URL.decode(path)?);
    }
    URL.apply_query(parts.query, |name, value| apply_option(&mut c, name, value))?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = parse("postgres://127.0.0.1").unwrap();
        assert_eq!((c.host.as_deref(), c.port), (Some("127.0.0.1"), None));
        assert_eq!((c.username.as_deref(), c.database.as_deref()), (None, None));
        let c = parse("postgresql://u:p%3Ass@[::1]:6390/db?table_meta=m&pool_size=4").unwrap();
        assert_eq!(c.username.as_deref(), Some("u"));
        assert_eq!(c.password.as_deref(), Some("p:ss"));
        assert_eq!((c.host.as_deref(), c.port), (Some("::1"), Some(6390)));
        assert_eq!((c.database.as_deref(), c.pool_size), (Some("db"), Some(4)));
        assert_eq!(c.table_meta_name(), "m");
        let c = parse("postgres://postgres@/test?host=/run/postgresql&sslmode=disable").unwrap();
        assert_eq!(c.host.as_deref(), Some("/run/postgresql"));
        assert_eq!(c.ssl, Some(false));
        let c = parse("postgres://h?sslmode=require").unwrap();
        assert_eq!(
            (c.ssl, c.ssl_required, c.ssl_verify),
            (Some(true), Some(true), Some(false))
        );
        assert_eq!(c.validate().is_ok(), cfg!(feature = "tls"));
        let c = parse("postgres://h?sslmode=prefer").unwrap();
        assert_eq!(
            (c.ssl, c.ssl_required, c.ssl_verify),
            (Some(cfg!(feature = "tls")), Some(false), Some(false))
        );
        assert!(c.validate().is_ok());
        for mode in ["verify-ca", "verify-full"] {
            let c = parse(&format!(
                "postgres://10.0.0.2?sslmode={mode}&server_name=db.local&sslrootcert=/ca.pem"
            ))
            .unwrap();
            assert_eq!(
                (c.ssl, c.ssl_required, c.ssl_verify),
                (Some(true), Some(true), Some(true))
            );
            assert_eq!(c.server_name.as_deref(), Some("db.local"));
            assert_eq!(
                c.ssl_trusted_certificate.as_deref(),
                Some(std::path::Path::new("/ca.pem"))
            );
        }
        let c = parse("postgres://h?ssl=true&sslmode=disable").unwrap();
        assert_eq!((c.ssl, c.ssl_required), (Some(false), Some(false)));
    }

    #[test]
    fn malformed_urls_are_config_errors() {
        for url in [
            "127.0.0.1:5432",
            "mysql://x",
            "postgres://a:b:c:notaport",
            "postgres://h/db/extra",
            "postgres://h?unknown=1",
            "postgres://h?ssl=maybe",
            "postgres://%zz@h",
            "postgres://a,b",
            "postgres://h#x",
            "postgres://[::1",
            "postgres://h?sslmode=sometimes",
        ] {
            let err = parse(url).unwrap_err();
            assert_eq!(err.kind(), session_storage::ErrorKind::Config, "{url}");
        }
    }
}
