//! URL form of [`RedisConfig`] (see [`RedisConfig::from_url`]).

use session_net::url::UrlSyntax;
use session_storage::StorageError;

use crate::config::{NodeAddr, RedisConfig, Role};

const URL: UrlSyntax = UrlSyntax::new("redis");

/// `host[:port]` with an IPv6 literal in brackets allowed.
fn host_port(s: &str) -> Result<NodeAddr, StorageError> {
    let (host, port) = URL.host_port(s)?;
    Ok(NodeAddr {
        host: Some(host),
        port,
    })
}

fn apply_option(c: &mut RedisConfig, name: &str, v: String) -> Result<(), StorageError> {
    if c.socket_options_mut().set(&URL, name, &v)? {
        return Ok(());
    }
    match name {
        "prefix" => c.prefix = Some(v),
        "suffix" => c.suffix = Some(v),
        "username" => c.username = Some(v),
        "password" => c.password = Some(v),
        "database" | "db" => c.database = Some(URL.number(name, &v)?),
        "force_auth" => c.force_auth = Some(URL.boolean(name, &v)?),
        "master" => c.master = Some(v),
        "role" => {
            c.role = Some(match v.as_str() {
                "master" => Role::Master,
                "slave" | "replica" => Role::Replica,
                _ => return Err(URL.invalid(format!("`role` must be master or slave, got {v:?}"))),
            });
        }
        "sentinel_username" => c.sentinel_username = Some(v),
        "sentinel_password" => c.sentinel_password = Some(v),
        "name" => c.name = Some(v),
        "lock_zone" => c.lock_zone = Some(v),
        "lock_prefix" => c.lock_prefix = Some(v),
        "max_redirections" => c.max_redirections = Some(URL.number(name, &v)?),
        "max_connection_attempts" => c.max_connection_attempts = Some(URL.number(name, &v)?),
        "max_connection_timeout" => c.max_connection_timeout = Some(URL.number(name, &v)?),
        _ => return Err(URL.invalid(format!("unknown option `{name}`"))),
    }
    Ok(())
}

/// Parses `url`; no error shows a piece of its credentials (see
/// `UrlSyntax::redact_credentials`).
pub(crate) fn parse(url: &str) -> Result<RedisConfig, StorageError> {
    URL.redact_credentials(url, parse_unredacted(url))
}

fn parse_unredacted(url: &str) -> Result<RedisConfig, StorageError> {
    let parts = URL.split(
        url,
        "missing scheme (redis://, rediss://, redis+unix://, redis+sentinel://, redis+cluster://)",
    )?;
    if parts.has_fragment() {
        return Err(URL.invalid("fragments are not supported; use ?ssl_verify=false"));
    }
    let mut c = RedisConfig::default();
    match parts.scheme {
        "unix" | "redis+unix" => {
            if parts.location.is_empty() {
                return Err(URL.invalid("missing socket path"));
            }
            c.socket = Some(URL.decode(parts.location)?);
        }
        scheme @ ("redis" | "rediss" | "redis+sentinel" | "redis+cluster") => {
            let authority = URL.authority(parts.location)?;
            c.username = authority.username;
            c.password = authority.password;
            let nodes = authority
                .hosts
                .split(',')
                .filter(|h| !h.is_empty())
                .map(host_port)
                .collect::<Result<Vec<_>, _>>()?;
            let mut segments = authority.path.split('/').filter(|s| !s.is_empty());
            match scheme {
                "redis+sentinel" if nodes.is_empty() => {
                    return Err(URL.invalid("no sentinel given"));
                }
                "redis+sentinel" => {
                    c.sentinels = Some(nodes);
                    c.master = segments.next().map(|s| URL.decode(s)).transpose()?;
                }
                "redis+cluster" if nodes.is_empty() => {
                    return Err(URL.invalid("no cluster node given"));
                }
                "redis+cluster" => c.nodes = Some(nodes),
                _ => single_server(&mut c, scheme, nodes)?,
            }
            if let Some(db) = segments.next() {
                c.database = Some(URL.number("database", db)?);
            }
            if segments.next().is_some() {
                return Err(URL.invalid("unexpected path segments"));
            }
        }
        other => return Err(URL.invalid(format!("unknown scheme `{other}`"))),
    }
    URL.apply_query(parts.query, |name, value| apply_option(&mut c, name, value))?;
    c.validate()?;
    Ok(c)
}

/// The host of a `redis://` or `rediss://` URL (at most one), and TLS for `rediss`.
fn single_server(
    c: &mut RedisConfig,
    scheme: &str,
    nodes: Vec<NodeAddr>,
) -> Result<(), StorageError> {
    let mut nodes = nodes.into_iter();
    if let Some(node) = nodes.next() {
        c.host = node.host;
        c.port = node.port;
    }
    if nodes.next().is_some() {
        return Err(URL.invalid("a single-server URL names one host"));
    }
    if scheme == "rediss" {
        c.ssl = Some(true);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mode;

    #[test]
    fn single_urls() {
        let c = parse("redis://127.0.0.1").unwrap();
        assert_eq!((c.host.as_deref(), c.port), (Some("127.0.0.1"), None));
        let c = parse("redis://user:p%3Ass@[::1]:6390/3?suffix=s&pool_size=4").unwrap();
        assert_eq!(c.username.as_deref(), Some("user"));
        assert_eq!(c.password.as_deref(), Some("p:ss"));
        assert_eq!((c.host.as_deref(), c.port), (Some("::1"), Some(6390)));
        assert_eq!((c.database, c.pool_size), (Some(3), Some(4)));
        assert_eq!(c.suffix.as_deref(), Some("s"));
        let c = parse("rediss://h:1?server_name=redis.example&ssl_verify=false").unwrap();
        assert_eq!((c.ssl, c.ssl_verify), (Some(true), Some(false)));
        let c = parse("redis+unix:///run/redis.sock?database=1").unwrap();
        assert_eq!(c.socket.as_deref(), Some("/run/redis.sock"));
        assert_eq!(c.mode(), Mode::Single);
    }

    #[test]
    fn sentinel_and_cluster_urls() {
        let c = parse("redis+sentinel://:pw@a:1,b:2/mymaster/4?role=slave&sentinel_password=x")
            .unwrap();
        assert_eq!(c.mode(), Mode::Sentinel);
        assert_eq!(c.master.as_deref(), Some("mymaster"));
        assert_eq!(c.database, Some(4));
        assert_eq!(c.role, Some(Role::Replica));
        assert_eq!(c.sentinel_password.as_deref(), Some("x"));
        let c = parse("redis+cluster://u:p@a:7000,b:7001?max_redirections=2").unwrap();
        assert_eq!(c.mode(), Mode::Cluster);
        assert_eq!(c.nodes.as_ref().map(Vec::len), Some(2));
        assert_eq!(c.max_redirections, Some(2));
    }

    #[test]
    fn malformed_urls_are_config_errors() {
        for url in [
            "127.0.0.1:6379",
            "http://x",
            "redis://a:b:c:notaport",
            "redis://h/notadb",
            "redis://h/1/2",
            "redis://h?unknown=1",
            "redis://h?ssl=maybe",
            "redis://%zz@h",
            "redis://a,b",
            "redis+sentinel:///m",
            "redis+cluster://",
            "redis://h#insecure",
            "redis://[::1",
            "redis+cluster://a:1/5",
        ] {
            let err = parse(url).unwrap_err();
            assert_eq!(err.kind(), session_storage::ErrorKind::Config, "{url}");
        }
    }
}
