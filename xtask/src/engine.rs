//! Engine-level checks of a vectors case (opening through `session-core`).
//!
//! Not implemented yet: the session engine (Foundation II) fills this in.
//! Until then every case is left to the codec-level checks, and a case the
//! codec cannot decide is reported as skipped, naming why.

use serde_json::Value;

/// The outcome of the engine-level check of one case.
#[derive(Debug)]
#[allow(dead_code)] // Pass and Fail come with the engine (Foundation II)
pub(crate) enum Verdict {
    /// The engine reproduced what the case expects.
    Pass,
    /// The engine disagreed; the text says how.
    Fail(String),
    /// The engine did not check the case; the text says why.
    Skip(String),
}

/// Checks one case through the session engine.
pub(crate) fn check(case: &Value) -> Verdict {
    let kind = case["kind"].as_str().unwrap_or("?");
    Verdict::Skip(format!(
        "engine-level ({kind}): needs the session engine (session-core), not built yet"
    ))
}
