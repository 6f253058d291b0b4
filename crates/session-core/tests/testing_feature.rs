//! The deterministic time and session-id sources (`env::FixedClock`, `env::SequentialSid`)
//! are test-only: they exist behind session-core's `testing` feature, which is off by
//! default and which no published crate of the workspace turns on outside its
//! dev-dependencies. Sequential ids repeat every 8 draws (two sessions would then share an
//! AES key and IV), so a production build must not be able to name them.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

fn manifest(path: &Path) -> toml::Table {
    std::fs::read_to_string(path).unwrap().parse().unwrap()
}

#[test]
fn the_testing_feature_exists_and_is_off_by_default() {
    let core = manifest(&workspace_root().join("crates/session-core/Cargo.toml"));
    let features = core["features"].as_table().unwrap();
    assert!(features.contains_key("testing"), "no `testing` feature");
    let default = features["default"].as_array().unwrap();
    assert!(
        !default.iter().any(|f| f.as_str() == Some("testing")),
        "`testing` is a default feature"
    );
    let env =
        std::fs::read_to_string(workspace_root().join("crates/session-core/src/env.rs")).unwrap();
    for item in ["pub struct FixedClock", "pub struct SequentialSid"] {
        let at = env.find(item).unwrap();
        let before = &env[..at];
        let attrs = &before[before.rfind("\n\n").unwrap_or(0)..];
        assert!(
            attrs.contains("#[cfg(feature = \"testing\")]"),
            "{item} is not behind the `testing` feature"
        );
    }
}

#[test]
fn no_published_crate_enables_testing_in_its_dependencies() {
    let root = workspace_root();
    let workspace = manifest(&root.join("Cargo.toml"));
    let members = workspace["workspace"]["members"].as_array().unwrap();
    let mut checked = 0;
    for member in members {
        let dir = root.join(member.as_str().unwrap());
        let m = manifest(&dir.join("Cargo.toml"));
        let package = m["package"].as_table().unwrap();
        if package.get("publish").and_then(toml::Value::as_bool) == Some(false) {
            continue;
        }
        checked += 1;
        let Some(deps) = m.get("dependencies").and_then(toml::Value::as_table) else {
            continue;
        };
        if let Some(core) = deps.get("session-core").and_then(toml::Value::as_table)
            && let Some(features) = core.get("features").and_then(toml::Value::as_array)
        {
            assert!(
                !features.iter().any(|f| f.as_str() == Some("testing")),
                "{} turns on session-core/testing outside its dev-dependencies",
                package["name"]
            );
        }
    }
    assert!(checked >= 10, "only {checked} published crates found");
}
