//! [`FileConfig`]: the options of the file store, with the reference's names.

use std::path::PathBuf;

use serde::Deserialize;

/// Options of the file store, with the reference's names (docs/storage.md §10.1).
///
/// An empty `prefix` or `suffix` counts as none. `pool` is accepted and ignored.
///
/// ```
/// let config: session_file::FileConfig =
///     serde_json::from_str(r#"{"path":"/var/lib/sess","suffix":"session","pool":"default"}"#)?;
/// assert_eq!(config.suffix.as_deref(), Some("session"));
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FileConfig {
    /// File-name prefix, joined with `_`.
    pub prefix: Option<String>,
    /// File-name extension (without the dot).
    pub suffix: Option<String>,
    /// Directory holding the files. Default: the system's temporary directory.
    pub path: PathBuf,
    /// The reference's nginx thread pool name; ignored (I/O runs in `spawn_blocking`).
    pub pool: Option<String>,
}

impl Default for FileConfig {
    fn default() -> Self {
        Self {
            prefix: None,
            suffix: None,
            path: std::env::temp_dir(),
            pool: None,
        }
    }
}

impl FileConfig {
    /// Sets the directory.
    ///
    /// ```
    /// let c = session_file::FileConfig::default().with_path("/var/lib/sess");
    /// assert_eq!(c.path, std::path::Path::new("/var/lib/sess"));
    /// ```
    #[must_use]
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = path.into();
        self
    }

    /// Sets the prefix.
    ///
    /// ```
    /// let c = session_file::FileConfig::default().with_prefix("p");
    /// assert_eq!(c.prefix.as_deref(), Some("p"));
    /// ```
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Sets the suffix.
    ///
    /// ```
    /// let c = session_file::FileConfig::default().with_suffix("session");
    /// assert_eq!(c.suffix.as_deref(), Some("session"));
    /// ```
    #[must_use]
    pub fn with_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.suffix = Some(suffix.into());
        self
    }
}
