//! [`ShmConfig`]: the options of the shm store, with the reference's names.

use serde::Deserialize;

/// The default zone name, as in the reference.
pub const DEFAULT_ZONE: &str = "sessions";
/// The default zone capacity: 64 MiB.
pub const DEFAULT_CAPACITY: u64 = 64 * 1024 * 1024;

/// Options of the shm store, with the reference's names (docs/storage.md §9.1).
///
/// Unknown fields (the reference's tests pass timeouts) are ignored.
///
/// ```
/// let config: session_shm::ShmConfig =
///     serde_json::from_str(r#"{"prefix":"sessions","zone":"sessions","capacity":1048576}"#)?;
/// assert_eq!(config.prefix.as_deref(), Some("sessions"));
/// assert_eq!(config.capacity, Some(1_048_576));
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ShmConfig {
    /// Key prefix, joined with `:` (an empty string still counts, as in the reference).
    pub prefix: Option<String>,
    /// Key suffix, joined with `:`.
    pub suffix: Option<String>,
    /// Name of the zone (the `lua_shared_dict`). Default `"sessions"`.
    pub zone: String,
    /// Capacity in bytes. `Some` declares the zone with that capacity if it does not exist
    /// yet (an existing zone keeps its capacity); `None` requires the zone to have been
    /// declared (see [`ShmZone::declare`](crate::ShmZone::declare)). Default 64 MiB.
    pub capacity: Option<u64>,
}

impl Default for ShmConfig {
    fn default() -> Self {
        Self {
            prefix: None,
            suffix: None,
            zone: DEFAULT_ZONE.to_owned(),
            capacity: Some(DEFAULT_CAPACITY),
        }
    }
}

impl ShmConfig {
    /// Sets the key prefix.
    ///
    /// ```
    /// let c = session_shm::ShmConfig::default().with_prefix("sessions");
    /// assert_eq!(c.prefix.as_deref(), Some("sessions"));
    /// ```
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Sets the key suffix.
    ///
    /// ```
    /// let c = session_shm::ShmConfig::default().with_suffix("s");
    /// assert_eq!(c.suffix.as_deref(), Some("s"));
    /// ```
    #[must_use]
    pub fn with_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.suffix = Some(suffix.into());
        self
    }

    /// Sets the zone name.
    ///
    /// ```
    /// let c = session_shm::ShmConfig::default().with_zone("other");
    /// assert_eq!(c.zone, "other");
    /// ```
    #[must_use]
    pub fn with_zone(mut self, zone: impl Into<String>) -> Self {
        self.zone = zone.into();
        self
    }

    /// Sets the capacity in bytes (`None`: the zone must already be declared).
    ///
    /// ```
    /// let c = session_shm::ShmConfig::default().with_capacity(None);
    /// assert_eq!(c.capacity, None);
    /// ```
    #[must_use]
    pub const fn with_capacity(mut self, capacity: Option<u64>) -> Self {
        self.capacity = capacity;
        self
    }
}
