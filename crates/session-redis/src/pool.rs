//! Connection pooling: one deadpool `Manager` for the three deployments.
//!
//! deadpool-redis's own managers cannot take what docs/storage.md §6.5–§6.7 asks for (a trusted CA
//! file, an SNI name that differs from the address, Sentinel timeouts, the cluster's
//! redirection limit and timeouts), so this is a manager on `deadpool::managed` — the crate
//! deadpool-redis itself is built on — over the `redis` crate's clients.
//!
//! Recycling does not ping: the reference reuses keepalive connections without a round trip,
//! and a multiplexed connection whose socket died fails its next request at once. The store
//! drops such a connection (and every idle one, which shares its fate) and retries once on a
//! fresh one.

use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Client, Cmd, ConnectionAddr, IntoConnectionInfo, Pipeline,
    RedisConnectionInfo, RedisError, RedisFuture, Value,
};
use session_storage::StorageError;

use crate::config::{Limits, Mode, RedisConfig, Role};
use crate::error::{config_error, redis_error};

/// A pooled connection: multiplexed (single, Sentinel) or cluster-aware.
pub(crate) enum Conn {
    Multiplexed(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Multiplexed(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Multiplexed(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Multiplexed(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

enum Source {
    Single(Client),
    Sentinel(tokio::sync::Mutex<SentinelClient>),
    Cluster(redis::cluster::ClusterClient),
}

/// Opens connections for one store.
pub(crate) struct Manager {
    source: Source,
    conn_config: AsyncConnectionConfig,
    keepalive: Duration,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.source {
            Source::Single(_) => "single",
            Source::Sentinel(_) => "sentinel",
            Source::Cluster(_) => "cluster",
        };
        f.debug_struct("Manager")
            .field("source", &kind)
            .field("keepalive", &self.keepalive)
            .finish_non_exhaustive()
    }
}

impl Manager {
    /// Opens a multiplexed connection to a single server, or to the server the sentinels
    /// name now (a cluster has none: an error).
    pub(crate) async fn multiplexed(&self) -> Result<MultiplexedConnection, RedisError> {
        match managed::Manager::create(self).await? {
            Conn::Multiplexed(c) => Ok(c),
            Conn::Cluster(_) => Err(RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "a cluster has no single multiplexed connection",
            ))),
        }
    }
}

impl managed::Manager for Manager {
    type Type = Conn;
    type Error = RedisError;

    async fn create(&self) -> Result<Conn, RedisError> {
        match &self.source {
            Source::Single(client) => client
                .get_multiplexed_async_connection_with_config(&self.conn_config)
                .await
                .map(Conn::Multiplexed),
            Source::Sentinel(sentinel) => {
                // Ask the sentinels where the master (or a replica) is now, every time a
                // connection is opened: that is how a failover is followed.
                let client = sentinel.lock().await.async_get_client().await?;
                client
                    .get_multiplexed_async_connection_with_config(&self.conn_config)
                    .await
                    .map(Conn::Multiplexed)
            }
            Source::Cluster(client) => client.get_async_connection().await.map(Conn::Cluster),
        }
    }

    async fn recycle(&self, _conn: &mut Conn, metrics: &Metrics) -> RecycleResult<RedisError> {
        if metrics.last_used() > self.keepalive {
            return Err(RecycleError::message("idle longer than keepalive_timeout"));
        }
        Ok(())
    }
}

pub(crate) type Pool = managed::Pool<Manager>;

#[cfg(feature = "tls")]
fn certificates(config: &RedisConfig) -> Result<Option<redis::TlsCertificates>, StorageError> {
    let Some(path) = &config.ssl_trusted_certificate else {
        return Ok(None);
    };
    let pem = session_net::tls::trusted_pem(crate::config::STORE, path)?;
    Ok(Some(redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(pem),
    }))
}

#[cfg(feature = "tls")]
fn tls_mode(config: &RedisConfig) -> Option<redis::TlsMode> {
    match (config.ssl, config.ssl_verify) {
        (Some(true), Some(false)) => Some(redis::TlsMode::Insecure),
        (Some(true), _) => Some(redis::TlsMode::Secure),
        _ => None,
    }
}

/// Resolves every name to the configured host, so the TLS name (`server_name`) and the
/// address connected to can differ, as with OpenResty's `sslhandshake(nil, server_name)`.
#[cfg(feature = "tls")]
struct FixedHost(String);

#[cfg(feature = "tls")]
impl redis::io::AsyncDNSResolver for FixedHost {
    fn resolve<'a, 'b: 'a>(
        &'a self,
        _host: &'b str,
        port: u16,
    ) -> RedisFuture<'a, Box<dyn Iterator<Item = std::net::SocketAddr> + Send + 'a>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((self.0.as_str(), port)).await?;
            Ok(Box::new(addrs) as Box<dyn Iterator<Item = _> + Send>)
        })
    }
}

fn redis_info(config: &RedisConfig) -> RedisConnectionInfo {
    let mut info = RedisConnectionInfo::default().set_db(config.database.unwrap_or(0));
    if let Some(user) = &config.username {
        info = info.set_username(user);
    }
    if let Some(password) = &config.password {
        info = info.set_password(password);
    }
    info
}

fn single(
    config: &RedisConfig,
    conn_config: AsyncConnectionConfig,
) -> Result<(Source, AsyncConnectionConfig), StorageError> {
    let host = config
        .host
        .clone()
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let port = config.port.unwrap_or(6379);
    let addr = if let Some(socket) = &config.socket {
        let path = socket.strip_prefix("unix:").unwrap_or(socket);
        ConnectionAddr::Unix(path.into())
    } else if config.ssl == Some(true) {
        #[cfg(feature = "tls")]
        {
            ConnectionAddr::TcpTls {
                host: config.server_name.clone().unwrap_or_else(|| host.clone()),
                port,
                insecure: config.ssl_verify == Some(false),
                tls_params: None,
            }
        }
        #[cfg(not(feature = "tls"))]
        return Err(StorageError::config(
            "redis ssl needs session-redis's `tls` feature",
        ));
    } else {
        ConnectionAddr::Tcp(host.clone(), port)
    };
    let info = addr
        .into_connection_info()
        .map_err(config_error)?
        .set_redis_settings(redis_info(config));
    #[cfg(feature = "tls")]
    let (client, conn_config) = {
        let client = match certificates(config)? {
            Some(certs) if config.ssl == Some(true) => Client::build_with_tls(info, certs),
            _ => Client::open(info),
        }
        .map_err(config_error)?;
        let conn_config = match (&config.server_name, config.ssl) {
            (Some(_), Some(true)) if config.socket.is_none() => {
                conn_config.set_dns_resolver(FixedHost(host))
            }
            _ => conn_config,
        };
        (client, conn_config)
    };
    #[cfg(not(feature = "tls"))]
    let client = Client::open(info).map_err(config_error)?;
    Ok((Source::Single(client), conn_config))
}

fn sentinel(config: &RedisConfig) -> Result<Source, StorageError> {
    let sentinels = config
        .sentinels
        .iter()
        .flatten()
        .map(|n| {
            let (host, port) = n.resolve(26379);
            ConnectionAddr::Tcp(host, port)
        })
        .collect::<Vec<_>>();
    let server_type = match config.role.unwrap_or_default() {
        Role::Master => SentinelServerType::Master,
        Role::Replica => SentinelServerType::Replica,
    };
    let master = config.master.as_deref().unwrap_or("mymaster");
    let mut b = SentinelClientBuilder::new(sentinels, master, server_type)
        .map_err(config_error)?
        .set_client_to_redis_db(config.database.unwrap_or(0));
    if let Some(user) = &config.username {
        b = b.set_client_to_redis_username(user);
    }
    if let Some(password) = &config.password {
        b = b.set_client_to_redis_password(password);
    }
    if let Some(user) = &config.sentinel_username {
        b = b.set_client_to_sentinel_username(user);
    }
    if let Some(password) = &config.sentinel_password {
        b = b.set_client_to_sentinel_password(password);
    }
    #[cfg(feature = "tls")]
    if let Some(mode) = tls_mode(config) {
        b = b
            .set_client_to_redis_tls_mode(mode)
            .set_client_to_sentinel_tls_mode(mode);
        if let Some(certs) = certificates(config)? {
            b = b
                .set_client_to_redis_certificates(certs.clone())
                .set_client_to_sentinel_certificates(certs);
        }
    }
    let client = b.build().map_err(config_error)?;
    Ok(Source::Sentinel(tokio::sync::Mutex::new(client)))
}

fn cluster(config: &RedisConfig, limits: &Limits) -> Result<Source, StorageError> {
    let nodes = config
        .nodes
        .iter()
        .flatten()
        .map(|n| {
            let (host, port) = n.resolve(6379);
            ConnectionAddr::Tcp(host, port)
        })
        .collect::<Vec<_>>();
    let mut b = redis::cluster::ClusterClientBuilder::new(nodes)
        .retries(config.max_redirections.unwrap_or(5))
        .min_retry_wait(10)
        .max_retry_wait(200)
        .connection_timeout(limits.connect)
        .response_timeout(limits.response);
    if let Some(attempts) = std::num::NonZeroUsize::new(config.max_connection_attempts.unwrap_or(3))
    {
        b = b.max_connection_attempts(attempts);
    }
    if let Some(user) = &config.username {
        b = b.username(user);
    }
    if let Some(password) = &config.password {
        b = b.password(password);
    }
    #[cfg(feature = "tls")]
    if let Some(mode) = tls_mode(config) {
        b = b.tls(mode);
        if let Some(certs) = certificates(config)? {
            b = b.certs(certs);
        }
    }
    Ok(Source::Cluster(b.build().map_err(config_error)?))
}

/// Builds the pool for `config` (validated). No connection is opened yet.
pub(crate) fn build(config: &RedisConfig, limits: &Limits) -> Result<Pool, StorageError> {
    // Every operation runs under its deadline (`operation_timeout`); a per-response timeout
    // that is not shorter can never fire first, and would only cost each command a second
    // timer (the reference's single-mode send + read timeouts are 120 s, the deadline 5 s).
    let response = (limits.response < limits.operation).then_some(limits.response);
    let conn_config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(limits.connect))
        .set_response_timeout(response);
    let (source, conn_config) = match config.mode() {
        Mode::Single => single(config, conn_config)?,
        Mode::Sentinel => (sentinel(config)?, conn_config),
        Mode::Cluster => (cluster(config, limits)?, conn_config),
    };
    let manager = Manager {
        source,
        conn_config,
        keepalive: limits.keepalive,
    };
    let create = create_timeout(limits);
    Pool::builder(manager)
        .max_size(limits.pool_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(limits.connect))
        .create_timeout(Some(create))
        .recycle_timeout(Some(limits.response))
        .build()
        .map_err(|e| StorageError::config("cannot build the redis pool").with_source(e))
}

/// The bound on opening one connection: creating may ask a sentinel and then connect, two
/// connects and a round trip.
pub(crate) fn create_timeout(limits: &Limits) -> Duration {
    limits
        .connect
        .saturating_mul(2)
        .saturating_add(limits.response)
}

/// Whether an error means the connection (or the server behind it) is gone or no longer the
/// right one, so pooled connections should be dropped and the call retried once.
pub(crate) fn is_connection_error(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || matches!(
            e.kind(),
            redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
                | redis::ErrorKind::Server(redis::ServerErrorKind::MasterDown)
        )
}

/// Checks out a connection, mapping pool errors onto storage errors.
pub(crate) async fn get(pool: &Pool) -> Result<managed::Object<Manager>, StorageError> {
    pool.get().await.map_err(|e| match e {
        managed::PoolError::Backend(e) => redis_error(e, "cannot connect to redis"),
        managed::PoolError::Timeout(t) => {
            StorageError::timeout(format!("redis pool timed out ({t:?})"))
        }
        other => StorageError::backend("redis pool failed").with_source(other),
    })
}
