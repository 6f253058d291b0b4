//! Every case of the shared vectors file through the engine, with the same
//! checker `cargo xtask vectors` uses (the `session-vectors` crate).
//!
//! The file is `$SESSION_VECTORS`, or the shared lua-resty-session 4.1.5 set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use session_vectors::engine::{self, Verdict};

#[test]
fn every_vector_case_passes_through_the_engine() {
    let path = session_testsupport::env::vectors_path();
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("vectors file {} not found; skipping", path.display());
        return;
    };
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        match engine::check(case) {
            Verdict::Pass => passed += 1,
            Verdict::Fail(e) => {
                failed += 1;
                eprintln!("FAIL {name}: {e}");
            }
            Verdict::Skip(e) => {
                skipped += 1;
                eprintln!("SKIP {name}: {e}");
            }
        }
    }
    eprintln!("{passed} passed, {failed} failed, {skipped} skipped");
    assert_eq!(
        (failed, skipped),
        (0, 0),
        "{passed} passed, {failed} failed, {skipped} skipped"
    );
}
