//! The checker of lua-resty-session vectors files (format
//! `lua-resty-session-vectors/1`, see `shared/vectors/README.md`): every case
//! is replayed at byte level through `session-codec` and at behaviour level
//! through `session-core`.
//!
//! `cargo xtask vectors` prints a [`Report`] of a whole file; session-core's
//! `tests/vectors.rs` runs [`engine::check`] on every case. Development only:
//! this crate is not published.
//!
//! ```no_run
//! let report = session_vectors::check_file("lua-resty-session-4.1.5.json".as_ref())?;
//! print!("{report}");
//! assert_eq!(report.failed(), 0);
//! # Ok::<(), String>(())
//! ```
#![forbid(unsafe_code)]

use std::fmt;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

mod codec;
pub mod engine;

pub use codec::{Outcome, check_case};

/// The format name a vectors file must declare.
pub const FORMAT: &str = "lua-resty-session-vectors/1";

/// The verdict on every case of a vectors file, in file order.
///
/// `Display` gives one line per case (`pass  NAME (how)`, `FAIL  NAME: why`,
/// `skip  NAME: why`) and the closing count.
///
/// ```
/// let doc = serde_json::json!({"format": "lua-resty-session-vectors/1", "cases": []});
/// let report = session_vectors::check_document(&doc)?;
/// assert_eq!(report.to_string(), "0 passed, 0 failed, 0 skipped\n");
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Report {
    results: Vec<(String, Outcome)>,
}

impl Report {
    /// Each case's name and outcome.
    ///
    /// ```
    /// let doc = serde_json::json!({"format": "lua-resty-session-vectors/1", "cases": []});
    /// assert!(session_vectors::check_document(&doc)?.results().is_empty());
    /// # Ok::<(), String>(())
    /// ```
    #[must_use]
    pub fn results(&self) -> &[(String, Outcome)] {
        &self.results
    }

    fn count(&self, which: fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|(_, o)| which(o)).count()
    }

    /// How many cases passed.
    ///
    /// ```
    /// assert_eq!(session_vectors::Report::default().passed(), 0);
    /// ```
    #[must_use]
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Pass(_)))
    }

    /// How many cases failed.
    ///
    /// ```
    /// assert_eq!(session_vectors::Report::default().failed(), 0);
    /// ```
    #[must_use]
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Fail(_)))
    }

    /// How many cases no check applied to.
    ///
    /// ```
    /// assert_eq!(session_vectors::Report::default().skipped(), 0);
    /// ```
    #[must_use]
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skip(_)))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, outcome) in &self.results {
            match outcome {
                Outcome::Pass(how) => writeln!(f, "pass  {name} ({how})")?,
                Outcome::Fail(why) => writeln!(f, "FAIL  {name}: {why}")?,
                Outcome::Skip(why) => writeln!(f, "skip  {name}: {why}")?,
            }
        }
        writeln!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }
}

/// Checks every case of a parsed vectors document.
///
/// # Errors
///
/// The document does not declare [`FORMAT`] or has no `cases` array.
///
/// ```
/// let doc = serde_json::json!({"format": "something else", "cases": []});
/// assert!(session_vectors::check_document(&doc).is_err());
/// ```
pub fn check_document(doc: &Value) -> Result<Report, String> {
    if doc["format"] != FORMAT {
        return Err(format!(
            "format is {}, expected \"{FORMAT}\"",
            doc["format"]
        ));
    }
    let cases = doc["cases"].as_array().ok_or("no \"cases\" array")?;
    let results = cases
        .iter()
        .map(|case| {
            let name = case["name"].as_str().unwrap_or("<unnamed>").to_owned();
            (name, check_case(case))
        })
        .collect();
    Ok(Report { results })
}

/// Reads and checks a vectors file.
///
/// # Errors
///
/// The file cannot be read, is not JSON, or is not a vectors document.
///
/// ```
/// assert!(session_vectors::check_file("/nonexistent.json".as_ref()).is_err());
/// ```
pub fn check_file(path: &Path) -> Result<Report, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{shown}: not JSON: {e}"))?;
    check_document(&doc).map_err(|e| format!("{shown}: {e}"))
}

/// The first 8 bytes of the SHA-256 of a file, in hex, for a run banner.
///
/// ```
/// assert_eq!(session_vectors::digest("/nonexistent.json".as_ref()), None);
/// ```
#[must_use]
pub fn digest(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(hex::encode(&Sha256::digest(&bytes)[..8]))
}
