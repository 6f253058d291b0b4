//! [`Backend`]: how a store describes itself so configuration can select it by name.

use crate::{Storage, StorageError};

/// A store that configuration can select by name (`storage = "redis"`), with its options block.
///
/// The `session` facade builds its table of stores from this description (name, aliases,
/// options type, constructor), so a store written outside this repository is selected by
/// name the same way as the bundled ones.
///
/// ```
/// use session_storage::{
///     Backend, Capability, ExpiryClock, Metadata, SessionIndex, SetRequest, Storage, StorageError,
/// };
///
/// /// The options block `blackhole = { ... }`.
/// #[derive(Debug, Default)]
/// struct BlackholeConfig {
///     prefix: Option<String>,
/// }
///
/// /// A store that keeps nothing.
/// struct BlackholeStorage;
///
/// impl Storage for BlackholeStorage {
///     async fn set(&self, _req: &SetRequest<'_>) -> Result<(), StorageError> { Ok(()) }
///     async fn get(&self, _name: &str, _key: &str, _now: i64) -> Result<Option<String>, StorageError> {
///         Ok(None)
///     }
///     async fn delete(
///         &self, _name: &str, _key: &str, _now: i64, _metadata: Option<&Metadata>,
///     ) -> Result<(), StorageError> {
///         Ok(())
///     }
///     async fn read_metadata(
///         &self, _name: &str, _audience: &str, _subject: &str, _now: i64,
///     ) -> Result<SessionIndex, StorageError> {
///         Ok(SessionIndex::new())
///     }
///     fn capability(&self) -> Capability { Capability::new(ExpiryClock::Argument) }
/// }
///
/// impl Backend for BlackholeStorage {
///     const NAME: &'static str = "blackhole";
///     const ALIASES: &'static [&'static str] = &["null"];
///     type Config = BlackholeConfig;
///
///     fn from_config(config: BlackholeConfig) -> Result<Self, StorageError> {
///         if config.prefix.as_deref() == Some("") {
///             return Err(StorageError::config("blackhole option `prefix` must not be empty"));
///         }
///         Ok(Self)
///     }
/// }
///
/// assert!(BlackholeStorage::is_named("null"));
/// assert!(!BlackholeStorage::is_named("redis"));
/// let store = BlackholeStorage::from_config(BlackholeConfig::default())?;
/// # let _ = store;
/// # Ok::<_, StorageError>(())
/// ```
pub trait Backend: Storage + Sized + 'static {
    /// The name `storage = "..."` selects it by; also the name of its options block.
    const NAME: &'static str;
    /// Other names selecting it and naming its options block (e.g. `["postgresql"]`).
    const ALIASES: &'static [&'static str] = &[];
    /// Its options block (`Default` when the block is absent); the facade deserializes it
    /// with serde.
    type Config: Default;

    /// Builds the store from its options (as `XStorage::from_config`).
    ///
    /// # Errors
    ///
    /// What the store's constructor refuses, typically a
    /// [`Config`](crate::ErrorKind::Config) error naming the option.
    fn from_config(config: Self::Config) -> Result<Self, StorageError>;

    /// Whether `name` selects this store: its [`NAME`](Self::NAME) or one of its
    /// [`ALIASES`](Self::ALIASES).
    ///
    /// See the [trait example](Backend).
    #[must_use]
    fn is_named(name: &str) -> bool {
        Self::NAME == name || Self::ALIASES.contains(&name)
    }
}
