//! Building a [`SessionConfig`] from a [`Config`], with the storage the configuration names
//! (lua-resty-session's `storage = "..."` and its options block, spec 05 §4.7).

use std::sync::Arc;

use session_core::config::StorageOption;
use session_core::{Config, ConfigError, SessionConfig};
use session_storage::{DynStorage, StorageError};

/// Why a configuration could not be turned into a working [`SessionConfig`].
///
/// Every message says what to change.
///
/// ```
/// let config = session::Config::from_text(r#"storage = "cassandra""#).unwrap();
/// let err = session::build(&config).unwrap_err();
/// assert!(err.to_string().starts_with("unknown storage \"cassandra\""));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The configuration names a backend this build of the `session` crate does not include.
    #[error(
        "storage \"{backend}\" is not compiled in: enable the cargo feature `{feature}` of the \
         `session` crate (session = {{ version = \"0.1\", features = [\"{feature}\"] }})"
    )]
    FeatureDisabled {
        /// The backend name as configured.
        backend: String,
        /// The cargo feature that brings it in.
        feature: &'static str,
    },
    /// `storage` names a module that is not a built-in backend (a Lua custom storage module).
    #[error(
        "unknown storage \"{0}\": the built-in backends are cookie, shm, file, redis, postgres, \
         mysql, memcached and dshm; for your own store build the configuration with \
         `Config::builder().dyn_storage(..)` (or `.storage(..)`)"
    )]
    UnknownStorage(String),
    /// The backend's options block does not parse.
    #[error("invalid `{backend}` options: {source}")]
    BackendOptions {
        /// The options block's name (`shm`, `file`, ...).
        backend: &'static str,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The backend refused its options (a missing directory, an undeclared zone, ...).
    #[error("unable to create the {backend} storage: {source}")]
    Storage {
        /// The backend name.
        backend: &'static str,
        /// The store's error.
        #[source]
        source: StorageError,
    },
    /// A session option is invalid (the message names it).
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The backends lua-resty-session knows, with the options blocks read for each (spec 05
/// §4.7) and the cargo feature that brings each in.
const BACKENDS: &[(&str, &[&str], &str)] = &[
    ("shm", &["shm"], "shm"),
    ("file", &["file"], "file"),
    ("redis", &["redis"], "redis"),
    ("dshm", &["dshm"], "dshm"),
    ("memcached", &["memcached", "memcache"], "memcached"),
    ("memcache", &["memcached", "memcache"], "memcached"),
    ("mysql", &["mysql", "mariadb"], "mysql"),
    ("mariadb", &["mysql", "mariadb"], "mysql"),
    ("postgres", &["postgres", "postgresql"], "postgres"),
    ("postgresql", &["postgres", "postgresql"], "postgres"),
];

/// The storage a configuration asks for: `None` for cookie storage (`storage` absent,
/// `false` or `"cookie"`), otherwise the backend named by `storage`, built from its options
/// block (`shm = { zone = "sessions" }`, `file = { path = "/var/lib/sessions" }`, ...).
///
/// # Errors
///
/// [`SetupError::FeatureDisabled`] when the backend's cargo feature is off,
/// [`SetupError::BackendOptions`] / [`SetupError::Storage`] when its options are wrong,
/// [`SetupError::UnknownStorage`] for a name that is not a built-in backend.
///
/// ```
/// let cookie = session::Config::from_text("secret = \"s\"").unwrap();
/// assert!(session::storage_from_config(&cookie)?.is_none());
/// # #[cfg(feature = "shm")] {
/// let shm = session::Config::from_text("storage = \"shm\"\n[shm]\nzone = \"doc\"").unwrap();
/// assert!(session::storage_from_config(&shm)?.is_some());
/// # }
/// # Ok::<_, session::SetupError>(())
/// ```
pub fn storage_from_config(config: &Config) -> Result<Option<Arc<dyn DynStorage>>, SetupError> {
    // A configuration that names no storage uses the one given to `init`,
    // as in Lua.
    let defaults;
    let config = if config.storage.is_none() {
        defaults = session_core::config::init_config();
        &defaults
    } else {
        config
    };
    let name = match &config.storage {
        None | Some(StorageOption::Flag(false)) => return Ok(None),
        Some(StorageOption::Name(name)) if name.is_empty() || name == "cookie" => return Ok(None),
        Some(StorageOption::Name(name)) => name.as_str(),
        // `true` and other shapes: let the engine's validation name the problem.
        Some(_) => return Ok(None),
    };
    let Some(&(_, blocks, feature)) = BACKENDS.iter().find(|(n, _, _)| *n == name) else {
        return Err(SetupError::UnknownStorage(name.to_owned()));
    };
    let options = blocks.iter().find_map(|b| config.backends.get(*b));
    build_backend(name, feature, options)
}

#[allow(clippy::unnecessary_wraps, unused_variables)] // the arms vary with the features
fn build_backend(
    name: &str,
    feature: &'static str,
    options: Option<&serde_json::Value>,
) -> Result<Option<Arc<dyn DynStorage>>, SetupError> {
    match feature {
        #[cfg(feature = "shm")]
        "shm" => {
            let options: session_shm::ShmConfig = parse_options("shm", options)?;
            let store = session_shm::ShmStorage::from_config(options).map_err(|source| {
                SetupError::Storage {
                    backend: "shm",
                    source,
                }
            })?;
            Ok(Some(Arc::new(store)))
        }
        #[cfg(feature = "file")]
        "file" => {
            let options: session_file::FileConfig = parse_options("file", options)?;
            let store = session_file::FileStorage::from_config(options).map_err(|source| {
                SetupError::Storage {
                    backend: "file",
                    source,
                }
            })?;
            Ok(Some(Arc::new(store)))
        }
        #[cfg(feature = "redis")]
        "redis" => {
            let options: session_redis::RedisConfig = parse_options("redis", options)?;
            let store = session_redis::RedisStorage::from_config(options).map_err(|source| {
                SetupError::Storage {
                    backend: "redis",
                    source,
                }
            })?;
            Ok(Some(Arc::new(store)))
        }
        #[cfg(feature = "postgres")]
        "postgres" => {
            let options: session_pg::PostgresConfig = parse_options("postgres", options)?;
            let store = session_pg::PostgresStorage::from_config(options).map_err(|source| {
                SetupError::Storage {
                    backend: "postgres",
                    source,
                }
            })?;
            Ok(Some(Arc::new(store)))
        }
        #[cfg(feature = "mysql")]
        "mysql" => {
            let options: session_mysql::MysqlConfig = parse_options("mysql", options)?;
            let store = session_mysql::MysqlStorage::from_config(options).map_err(|source| {
                SetupError::Storage {
                    backend: "mysql",
                    source,
                }
            })?;
            Ok(Some(Arc::new(store)))
        }
        #[cfg(feature = "dshm")]
        "dshm" => {
            let options: session_dshm::DshmConfig = parse_options("dshm", options)?;
            let store = session_dshm::DshmStorage::from_config(options).map_err(|source| {
                SetupError::Storage {
                    backend: "dshm",
                    source,
                }
            })?;
            Ok(Some(Arc::new(store)))
        }
        #[cfg(feature = "memcached")]
        "memcached" => {
            let options: session_memcached::MemcachedConfig = parse_options("memcached", options)?;
            let store =
                session_memcached::MemcachedStorage::from_config(options).map_err(|source| {
                    SetupError::Storage {
                        backend: "memcached",
                        source,
                    }
                })?;
            Ok(Some(Arc::new(store)))
        }
        // The backend's feature is off in this build.
        _ => Err(SetupError::FeatureDisabled {
            backend: name.to_owned(),
            feature,
        }),
    }
}

#[cfg(any(
    feature = "shm",
    feature = "file",
    feature = "redis",
    feature = "postgres",
    feature = "mysql",
    feature = "memcached",
    feature = "dshm"
))]
fn parse_options<T: serde::de::DeserializeOwned + Default>(
    backend: &'static str,
    options: Option<&serde_json::Value>,
) -> Result<T, SetupError> {
    match options {
        None | Some(serde_json::Value::Null) => Ok(T::default()),
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|source| SetupError::BackendOptions { backend, source }),
    }
}

/// Validate `config` and build the shared [`SessionConfig`], with the storage its `storage`
/// option names (see [`storage_from_config`]). Call it once, at start-up.
///
/// # Errors
///
/// A [`SetupError`] saying what to change.
///
/// ```
/// let config = session::Config::from_text(r#"
///     secret = "RaJKp8UQW1"
///     audience = "shop"
///     idling_timeout = 600
/// "#).unwrap();
/// let built = session::build(&config)?;
/// assert_eq!(built.audience(), "shop");
/// # Ok::<_, session::SetupError>(())
/// ```
pub fn build(config: &Config) -> Result<SessionConfig, SetupError> {
    let storage = storage_from_config(config)?;
    let builder = config.clone().builder();
    let builder = match storage {
        Some(storage) => builder.dyn_storage(storage),
        None => builder,
    };
    Ok(builder.build()?)
}
