//! Building a [`SessionConfig`] from a [`Config`], with the storage the configuration names
//! (lua-resty-session's `storage = "..."` and its options block, docs/storage.md §4.7).
//!
//! The table of stores is built from each store's own description
//! ([`Backend`]: name, aliases, options type, constructor), one [`entry`] per store, so a
//! store is described once, in its crate. [`Backends`] holds the table: the stores compiled
//! into this build ([`Backends::builtin`]) plus any added with [`Backends::with`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use session_core::config::StorageOption;
use session_core::{Config, ConfigError, SessionConfig};
use session_storage::{Backend, DynStorage, StorageError};

/// Why a configuration could not be turned into a working [`SessionConfig`].
///
/// Every message says what to change, and never shows the value of a secret, a password or
/// a URL's credentials. `Debug` prints the same message as `Display`, so
/// `fn main() -> Result<(), Box<dyn Error>>` shows it too.
///
/// ```
/// let config = resty_session::Config::from_text(r#"storage = "cassandra""#).unwrap();
/// let err = resty_session::build(&config).unwrap_err();
/// assert!(err.to_string().starts_with("unknown storage \"cassandra\""));
/// assert_eq!(format!("{err:?}"), err.to_string());
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The configuration names a backend this build of the `resty-session` crate does not include.
    #[error(
        "storage \"{backend}\" is not compiled in: enable the cargo feature `{feature}` of the \
         `resty-session` crate (resty-session = {{ version = \"0.1\", features = [\"{feature}\"] }})"
    )]
    FeatureDisabled {
        /// The backend name as configured.
        backend: String,
        /// The cargo feature that brings it in.
        feature: &'static str,
    },
    /// `storage` names a module that is not a known backend (a Lua custom storage module).
    #[error(
        "unknown storage \"{0}\"{suggestion}: the built-in backends are cookie, shm, file, \
         redis, postgres, mysql, memcached and dshm; for your own store implement \
         `resty_session::Backend` and build with \
         `resty_session::build_with(&config, &Backends::builtin().with::<YourStore>())`, or \
         attach an instance with `config.builder().storage(..)` (or `.dyn_storage(..)`)",
        suggestion = storage_suggestion(.0)
    )]
    UnknownStorage(String),
    /// The backend's options block does not parse: an unknown option (with the nearest
    /// known name) or a value of the wrong type (the value itself is not shown).
    #[error("invalid `[{backend}]` options: {message}")]
    BackendOptions {
        /// The options block's name (`shm`, `file`, ...).
        backend: &'static str,
        /// What the parser said, without the offending value.
        message: String,
    },
    /// The backend refused its options (a missing directory, an undeclared zone, TLS asked
    /// without the `*-tls` feature, ...).
    #[error(
        "unable to create the {backend} storage: {message}{hint}",
        message = session_core::config::describe_serde_error(&source.to_string()),
        hint = tls_hint(backend, source)
    )]
    Storage {
        /// The backend name.
        backend: &'static str,
        /// The store's error (its message is shown with any URL credentials left out).
        #[source]
        source: StorageError,
    },
    /// A session option is invalid (the message names it).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The `revocation` store could not be built (the inner error says why).
    #[error("invalid `revocation`: {0}")]
    Revocation(Box<SetupError>),
}

impl fmt::Debug for SetupError {
    /// The `Display` message: what `main() -> Result<(), Box<dyn Error>>` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// ` (did you mean "redis"?)` when `name` is close to a built-in storage name.
fn storage_suggestion(name: &str) -> String {
    let names = FEATURES.iter().map(|(n, _)| *n).chain(["cookie"]);
    session_core::config::closest_name(name, names)
        .map(|n| format!(" (did you mean \"{n}\"?)"))
        .unwrap_or_default()
}

/// When a store says TLS needs its crate's `tls` feature, the feature of this crate that
/// turns it on (`redis-tls`, ...).
fn tls_hint(backend: &str, source: &StorageError) -> String {
    let message = source.to_string();
    let feature = FEATURES.iter().find(|(n, _)| *n == backend).map(|f| f.1);
    match feature {
        Some(feature) if message.contains("`tls` feature") && feature != "dshm" => format!(
            " (with resty-session: enable its cargo feature `{feature}-tls`, \
             resty-session = {{ version = \"0.1\", features = [\"{feature}-tls\"] }})"
        ),
        _ => String::new(),
    }
}

/// The built-in backends by every name configuration may use, with the cargo feature of the
/// `resty-session` crate that brings each in: the one list consulted when a name is not in the
/// table, so the error names the feature to enable.
const FEATURES: &[(&str, &str)] = &[
    ("shm", "shm"),
    ("file", "file"),
    ("redis", "redis"),
    ("dshm", "dshm"),
    ("memcached", "memcached"),
    ("memcache", "memcached"),
    ("mysql", "mysql"),
    ("mariadb", "mysql"),
    ("postgres", "postgres"),
    ("postgresql", "postgres"),
];

/// Builds a store from its options block (absent: the options type's default).
type Build = fn(Option<&serde_json::Value>) -> Result<Arc<dyn DynStorage>, SetupError>;

/// One row of the backend table: the names a store answers to and how to build it, taken
/// from its [`Backend`] description. Made by [`entry`].
///
/// ```
/// # #[cfg(feature = "postgres")] {
/// let entry = resty_session::entry::<resty_session::postgres::PostgresStorage>();
/// assert_eq!(entry.name(), "postgres");
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct BackendEntry {
    name: &'static str,
    aliases: &'static [&'static str],
    build: Build,
}

impl fmt::Debug for BackendEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendEntry")
            .field("name", &self.name)
            .field("aliases", &self.aliases)
            .finish_non_exhaustive()
    }
}

impl BackendEntry {
    /// The store's name ([`Backend::NAME`]).
    ///
    /// ```
    /// # #[cfg(feature = "shm")]
    /// assert_eq!(resty_session::entry::<resty_session::shm::ShmStorage>().name(), "shm");
    /// ```
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The store's other names ([`Backend::ALIASES`]).
    ///
    /// ```
    /// # #[cfg(feature = "mysql")]
    /// assert_eq!(resty_session::entry::<resty_session::mysql::MysqlStorage>().aliases(), ["mariadb"]);
    /// ```
    #[must_use]
    pub const fn aliases(&self) -> &'static [&'static str] {
        self.aliases
    }

    /// Whether `name` selects this store.
    ///
    /// ```
    /// # #[cfg(feature = "postgres")]
    /// assert!(resty_session::entry::<resty_session::postgres::PostgresStorage>().is_named("postgresql"));
    /// ```
    #[must_use]
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }

    /// The store's options block among `blocks` (the top level of a configuration, or its
    /// `revocation` table): the first of its names (`NAME`, then the aliases in order) that
    /// has one.
    fn options<'c>(
        &self,
        blocks: &'c BTreeMap<String, serde_json::Value>,
    ) -> Option<&'c serde_json::Value> {
        std::iter::once(&self.name)
            .chain(self.aliases)
            .find_map(|block| blocks.get(*block))
    }
}

/// The table row of store `B`: its names from [`Backend::NAME`] and [`Backend::ALIASES`],
/// its options block deserialized into [`Backend::Config`] and the store built with
/// [`Backend::from_config`].
///
/// ```
/// # #[cfg(feature = "shm")] {
/// let entry = resty_session::entry::<resty_session::shm::ShmStorage>();
/// assert_eq!(entry.name(), "shm");
/// # }
/// ```
#[must_use]
pub fn entry<B: Backend>() -> BackendEntry
where
    B::Config: DeserializeOwned,
{
    BackendEntry {
        name: B::NAME,
        aliases: B::ALIASES,
        build: build_store::<B>,
    }
}

fn build_store<B: Backend>(
    options: Option<&serde_json::Value>,
) -> Result<Arc<dyn DynStorage>, SetupError>
where
    B::Config: DeserializeOwned,
{
    let config: B::Config = match options {
        None | Some(serde_json::Value::Null) => B::Config::default(),
        Some(value) => {
            serde_json::from_value(value.clone()).map_err(|e| SetupError::BackendOptions {
                backend: B::NAME,
                message: session_core::config::describe_serde_error(&e.to_string()),
            })?
        }
    };
    let store = B::from_config(config).map_err(|source| SetupError::Storage {
        backend: B::NAME,
        source,
    })?;
    Ok(Arc::new(store))
}

/// The stores configuration can select by name (`storage = "..."`).
///
/// [`Backends::builtin`] (also [`Default`]) holds the stores compiled into this build;
/// [`with`](Self::with) adds a store of your own, so `storage = "mystore"` with a
/// `[mystore]` options block selects it through [`build_with`]:
///
/// ```
/// use resty_session::{Backend, Backends, StorageError};
/// use resty_session::memory::MemoryStorage;
///
/// /// A store of your own (here a newtype over the in-memory store).
/// struct MyStore(MemoryStorage);
///
/// /// Its options block, `[mystore]`.
/// #[derive(Default, serde::Deserialize)]
/// struct MyConfig {
///     #[allow(dead_code)]
///     label: Option<String>,
/// }
///
/// impl resty_session::Storage for MyStore {
///     async fn set(&self, req: &resty_session::SetRequest<'_>) -> Result<(), StorageError> {
///         self.0.set(req).await
///     }
///     async fn get(&self, name: &str, key: &str, now: i64) -> Result<Option<String>, StorageError> {
///         self.0.get(name, key, now).await
///     }
///     async fn delete(
///         &self, name: &str, key: &str, now: i64, metadata: Option<&resty_session::Metadata>,
///     ) -> Result<(), StorageError> {
///         self.0.delete(name, key, now, metadata).await
///     }
///     async fn read_metadata(
///         &self, name: &str, audience: &str, subject: &str, now: i64,
///     ) -> Result<resty_session::SessionIndex, StorageError> {
///         self.0.read_metadata(name, audience, subject, now).await
///     }
///     fn capability(&self) -> resty_session::Capability {
///         self.0.capability()
///     }
/// }
///
/// impl Backend for MyStore {
///     const NAME: &'static str = "mystore";
///     type Config = MyConfig;
///     fn from_config(_config: MyConfig) -> Result<Self, StorageError> {
///         Ok(Self(MemoryStorage::new()))
///     }
/// }
///
/// let backends = Backends::builtin().with::<MyStore>();
/// let config = resty_session::Config::from_text(
///     "secret = \"s\"\nstorage = \"mystore\"\n[mystore]\nlabel = \"x\"",
/// ).unwrap();
/// let built = resty_session::build_with(&config, &backends)?;
/// assert!(built.has_storage());
/// # Ok::<_, resty_session::SetupError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Backends {
    entries: Vec<BackendEntry>,
}

impl Default for Backends {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Backends {
    /// The stores compiled into this build (one per enabled cargo feature).
    ///
    /// ```
    /// let names: Vec<_> = resty_session::Backends::builtin().names().collect();
    /// # #[cfg(feature = "shm")]
    /// assert!(names.contains(&"shm"));
    /// # let _ = names;
    /// ```
    #[must_use]
    pub fn builtin() -> Self {
        let entries = vec![
            #[cfg(feature = "shm")]
            entry::<session_shm::ShmStorage>(),
            #[cfg(feature = "file")]
            entry::<session_file::FileStorage>(),
            #[cfg(feature = "redis")]
            entry::<session_redis::RedisStorage>(),
            #[cfg(feature = "dshm")]
            entry::<session_dshm::DshmStorage>(),
            #[cfg(feature = "memcached")]
            entry::<session_memcached::MemcachedStorage>(),
            #[cfg(feature = "mysql")]
            entry::<session_mysql::MysqlStorage>(),
            #[cfg(feature = "postgres")]
            entry::<session_pg::PostgresStorage>(),
        ];
        Self { entries }
    }

    /// A table with no store at all: only cookie storage, plus the stores you add with
    /// [`with`](Self::with). A built-in store's name then reports the cargo feature that
    /// would bring it in, as when the feature is off.
    ///
    /// ```
    /// let config = resty_session::Config::from_text("storage = \"redis\"").unwrap();
    /// let err = resty_session::build_with(&config, &resty_session::Backends::none()).unwrap_err();
    /// assert!(err.to_string().contains("features = [\"redis\"]"));
    /// ```
    #[must_use]
    pub fn none() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Adds store `B`, selected by its [`Backend::NAME`] or [`Backend::ALIASES`]. A store
    /// added later wins over one already in the table under the same name. The
    /// [type's example](Backends) adds a store of its own.
    ///
    /// ```
    /// # #[cfg(feature = "file")] {
    /// let backends = resty_session::Backends::builtin().with::<resty_session::file::FileStorage>();
    /// assert_eq!(backends.names().next(), Some("file"));
    /// # }
    /// ```
    #[must_use]
    pub fn with<B: Backend>(mut self) -> Self
    where
        B::Config: DeserializeOwned,
    {
        self.entries.insert(0, entry::<B>());
        self
    }

    /// The stores' names ([`Backend::NAME`], without the aliases), in lookup order.
    ///
    /// ```
    /// let names: Vec<_> = resty_session::Backends::builtin().names().collect();
    /// # #[cfg(feature = "file")]
    /// assert!(names.contains(&"file"));
    /// # let _ = names;
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.iter().map(BackendEntry::name)
    }

    /// Every name and alias of the stores in the table: the options tables a configuration
    /// may carry for them.
    ///
    /// ```
    /// let names: Vec<_> = resty_session::Backends::builtin().option_blocks().collect();
    /// # #[cfg(feature = "postgres")]
    /// assert!(names.contains(&"postgresql"));
    /// # let _ = names;
    /// ```
    pub fn option_blocks(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries
            .iter()
            .flat_map(|e| std::iter::once(e.name()).chain(e.aliases().iter().copied()))
    }

    /// The table row selected by `name`.
    ///
    /// ```
    /// let backends = resty_session::Backends::builtin();
    /// assert!(backends.get("cassandra").is_none());
    /// ```
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&BackendEntry> {
        self.entries.iter().find(|e| e.is_named(name))
    }

    /// The storage `config` asks for, as [`storage_from_config`] with this table.
    ///
    /// ```
    /// let cookie = resty_session::Config::from_text("secret = \"s\"").unwrap();
    /// assert!(resty_session::Backends::builtin().storage(&cookie)?.is_none());
    /// # Ok::<_, resty_session::SetupError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`storage_from_config`].
    pub fn storage(&self, config: &Config) -> Result<Option<Arc<dyn DynStorage>>, SetupError> {
        // A configuration that names no storage uses the one given to `init`, as in Lua.
        let defaults;
        let config = if config.storage.is_none() {
            defaults = session_core::config::init_config();
            &defaults
        } else {
            config
        };
        let name = match &config.storage {
            None | Some(StorageOption::Flag(false)) => return Ok(None),
            Some(StorageOption::Name(name)) if name.is_empty() || name == "cookie" => {
                return Ok(None);
            }
            Some(StorageOption::Name(name)) => name.as_str(),
            // `true` and other shapes: let the engine's validation name the problem.
            Some(_) => return Ok(None),
        };
        self.build_named(name, &config.backends).map(Some)
    }

    /// The store of the configuration's `revocation` option (see
    /// [`session_core::revocation`]), built from the same table as `storage`, with the
    /// options block inside the `revocation` table: `None` when the option is absent.
    ///
    /// ```
    /// # #[cfg(feature = "shm")] {
    /// let config = resty_session::Config::from_text(r#"
    ///     secret = "RaJKp8UQW1"
    ///     [revocation]
    ///     storage = "shm"
    ///     shm = { zone = "revocations" }
    /// "#).unwrap();
    /// assert!(resty_session::Backends::builtin().revocation_storage(&config)?.is_some());
    /// # }
    /// # Ok::<_, resty_session::SetupError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SetupError::Revocation`] wrapping what [`storage`](Self::storage) would report for
    /// the same block.
    pub fn revocation_storage(
        &self,
        config: &Config,
    ) -> Result<Option<Arc<dyn DynStorage>>, SetupError> {
        let Some(options) = &config.revocation else {
            return Ok(None);
        };
        match options.storage.as_deref() {
            // The engine's validation names the problem (no store kind, or cookie).
            None | Some("" | "cookie") => Ok(None),
            Some(name) => self
                .build_named(name, &options.backends)
                .map(Some)
                .map_err(|e| SetupError::Revocation(Box::new(e))),
        }
    }

    /// The store named `name`, from its options block among `blocks`.
    fn build_named(
        &self,
        name: &str,
        blocks: &BTreeMap<String, serde_json::Value>,
    ) -> Result<Arc<dyn DynStorage>, SetupError> {
        if let Some(entry) = self.get(name) {
            return (entry.build)(entry.options(blocks));
        }
        // Not in the table: a built-in store whose feature is off, or an unknown name.
        match FEATURES.iter().find(|(n, _)| *n == name) {
            Some(&(_, feature)) => Err(SetupError::FeatureDisabled {
                backend: name.to_owned(),
                feature,
            }),
            None => Err(SetupError::UnknownStorage(name.to_owned())),
        }
    }
}

/// The storage a configuration asks for: `None` for cookie storage (`storage` absent,
/// `false` or `"cookie"`), otherwise the backend named by `storage`, built from its options
/// block (`shm = { zone = "sessions" }`, `file = { path = "/var/lib/sessions" }`, ...), among
/// the stores compiled into this build ([`Backends::builtin`]).
///
/// # Errors
///
/// [`SetupError::FeatureDisabled`] when the backend's cargo feature is off,
/// [`SetupError::BackendOptions`] / [`SetupError::Storage`] when its options are wrong,
/// [`SetupError::UnknownStorage`] for a name that is not a built-in backend.
///
/// ```
/// let cookie = resty_session::Config::from_text("secret = \"s\"").unwrap();
/// assert!(resty_session::storage_from_config(&cookie)?.is_none());
/// # #[cfg(feature = "shm")] {
/// let shm = resty_session::Config::from_text("storage = \"shm\"\n[shm]\nzone = \"doc\"").unwrap();
/// assert!(resty_session::storage_from_config(&shm)?.is_some());
/// # }
/// # Ok::<_, resty_session::SetupError>(())
/// ```
pub fn storage_from_config(config: &Config) -> Result<Option<Arc<dyn DynStorage>>, SetupError> {
    Backends::builtin().storage(config)
}

/// Validate `config` and build the shared [`SessionConfig`], with the storage its `storage`
/// option names (see [`storage_from_config`]). Call it once, at start-up.
///
/// # Errors
///
/// A [`SetupError`] saying what to change.
///
/// ```
/// let config = resty_session::Config::from_text(r#"
///     secret = "RaJKp8UQW1"
///     audience = "shop"
///     idling_timeout = 600
/// "#).unwrap();
/// let built = resty_session::build(&config)?;
/// assert_eq!(built.audience(), "shop");
/// # Ok::<_, resty_session::SetupError>(())
/// ```
pub fn build(config: &Config) -> Result<SessionConfig, SetupError> {
    build_with(config, &Backends::builtin())
}

/// [`build`] with a table of stores of your own making, e.g. the built-in stores plus yours
/// ([`Backends::with`]), so `storage = "yourstore"` selects it. See [`Backends`].
///
/// # Errors
///
/// A [`SetupError`] saying what to change.
///
/// ```
/// let config = resty_session::Config::from_text(r#"secret = "s""#).unwrap();
/// let built = resty_session::build_with(&config, &resty_session::Backends::builtin())?;
/// assert!(!built.has_storage());
/// # Ok::<_, resty_session::SetupError>(())
/// ```
pub fn build_with(config: &Config, backends: &Backends) -> Result<SessionConfig, SetupError> {
    let storage = backends.storage(config)?;
    let revocation = backends.revocation_storage(config)?;
    let builder = config
        .clone()
        .builder()
        .option_blocks(backends.option_blocks());
    let builder = match storage {
        Some(storage) => builder.dyn_storage(storage),
        None => builder,
    };
    let builder = match revocation {
        Some(store) => builder.revocation_storage(store),
        None => builder,
    };
    Ok(builder.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every compiled-in store appears in the name → feature list under each of its names,
    /// with the feature that compiled it in.
    #[test]
    fn every_builtin_store_is_in_the_feature_list() {
        let feature_of = |name: &str| FEATURES.iter().find(|(n, _)| *n == name).map(|f| f.1);
        for entry in &Backends::builtin().entries {
            let feature = feature_of(entry.name());
            assert!(
                feature.is_some(),
                "{} is missing from FEATURES",
                entry.name()
            );
            for alias in entry.aliases() {
                assert_eq!(
                    feature_of(alias),
                    feature,
                    "alias {alias} of {}",
                    entry.name()
                );
            }
        }
        let mut lua: Vec<&str> = session_core::config::LUA_STORAGE_NAMES.to_vec();
        let mut ours: Vec<&str> = FEATURES.iter().map(|f| f.0).collect();
        lua.sort_unstable();
        ours.sort_unstable();
        assert_eq!(
            ours, lua,
            "FEATURES names every storage lua-resty-session knows"
        );
        let names: Vec<&str> = FEATURES.iter().map(|f| f.0).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            unique.len(),
            names.len(),
            "a name appears twice in FEATURES"
        );
    }

    /// A store's "needs the `tls` feature" names the facade's `*-tls` feature too.
    #[test]
    fn tls_without_its_feature_names_the_facade_feature() {
        let err = SetupError::Storage {
            backend: "redis",
            source: StorageError::config("redis ssl needs session-redis's `tls` feature"),
        };
        let shown = err.to_string();
        assert!(
            shown.contains("enable its cargo feature `redis-tls`"),
            "{shown}"
        );
        let other = SetupError::Storage {
            backend: "redis",
            source: StorageError::config("redis option `port` must not be 0"),
        };
        assert!(!other.to_string().contains("tls"));
    }

    /// Under the test's features every built-in store is compiled in: the feature list and
    /// the table name the same stores.
    #[test]
    #[cfg(all(
        feature = "shm",
        feature = "file",
        feature = "redis",
        feature = "postgres",
        feature = "mysql",
        feature = "memcached",
        feature = "dshm"
    ))]
    fn with_every_feature_the_table_holds_every_listed_name() {
        let backends = Backends::builtin();
        for (name, feature) in FEATURES {
            let entry = backends.get(name);
            assert!(
                entry.is_some(),
                "{name} (feature {feature}) is not in the table"
            );
        }
    }
}
