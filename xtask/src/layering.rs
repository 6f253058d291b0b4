//! `cargo xtask layering`: the dependency arrows of docs/architecture.md, checked.
//!
//! Reads `cargo metadata --no-deps` and fails when a workspace crate has a normal (or build)
//! dependency on a workspace crate its layer may not see, or when `session-storage`, the crate
//! third-party stores depend on, grows a dependency beyond `thiserror` (and `tokio` for its
//! testkit). Dev-dependencies are free: end-to-end tests may reach across layers.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

/// Which workspace crates each workspace crate may depend on (normal and build dependencies).
/// A crate missing from this table is an error: a new crate says where it stands.
const ALLOWED: &[(&str, &[&str])] = &[
    ("session-codec", &[]),
    ("session-storage", &[]),
    ("session-core", &["session-codec", "session-storage"]),
    ("session-net", &["session-storage"]),
    ("session-shm", &["session-storage"]),
    ("session-file", &["session-storage"]),
    ("session-redis", &["session-storage", "session-net"]),
    ("session-pg", &["session-storage", "session-net"]),
    ("session-mysql", &["session-storage", "session-net"]),
    ("session-memcached", &["session-storage", "session-net"]),
    ("session-dshm", &["session-storage", "session-net"]),
    (
        "resty-session",
        &[
            "session-core",
            "session-codec",
            "session-storage",
            "session-shm",
            "session-file",
            "session-redis",
            "session-pg",
            "session-mysql",
            "session-memcached",
            "session-dshm",
        ],
    ),
    (
        "session-cli",
        &[
            "resty-session",
            "session-core",
            "session-codec",
            "session-storage",
        ],
    ),
    ("session-vectors", &["session-codec", "session-core"]),
    ("session-testsupport", &["session-core", "session-storage"]),
    ("session-http-tests", &[]),
    ("session-example-store", &["session-storage"]),
    ("xtask", &[]),
    ("session-benches", &[]),
    ("session-chaos", &["resty-session"]),
    ("session-bench-http", &["resty-session"]),
];

/// What `session-storage` may depend on, of any origin: its promise to third-party store authors.
const STORAGE_DEPENDENCIES: &[&str] = &["thiserror", "tokio"];

/// Runs the check; `Err` lists every forbidden arrow.
pub(crate) fn check() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(crate::workspace_root())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    let problems = violations(&metadata);
    if problems.is_empty() {
        eprintln!("layering: every dependency arrow is allowed (docs/architecture.md)");
        Ok(())
    } else {
        Err(format!(
            "forbidden dependencies (see docs/architecture.md):\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// Every forbidden arrow in `metadata` (the JSON of `cargo metadata --no-deps`).
fn violations(metadata: &Value) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let packages = metadata["packages"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let members: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut problems = Vec::new();
    for package in packages {
        let Some(name) = package["name"].as_str() else {
            continue;
        };
        let Some(may) = allowed.get(name) else {
            problems.push(format!(
                "{name}: not in xtask's layering table; add it where it belongs"
            ));
            continue;
        };
        let deps = package["dependencies"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        for dep in deps {
            if dep["kind"].as_str() == Some("dev") {
                continue;
            }
            let Some(dep_name) = dep["name"].as_str() else {
                continue;
            };
            if members.contains(&dep_name) && !may.contains(&dep_name) {
                problems.push(format!("{name} -> {dep_name}"));
            }
            if name == "session-storage" && !STORAGE_DEPENDENCIES.contains(&dep_name) {
                problems.push(format!(
                    "session-storage -> {dep_name} (it may depend on {} only)",
                    STORAGE_DEPENDENCIES.join(" and ")
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(packages: Value) -> Value {
        serde_json::json!({ "packages": packages })
    }

    fn package(name: &str, deps: &[(&str, Option<&str>)]) -> Value {
        let deps: Vec<Value> = deps
            .iter()
            .map(|(n, kind)| serde_json::json!({ "name": n, "kind": kind }))
            .collect();
        serde_json::json!({ "name": name, "dependencies": deps })
    }

    #[test]
    fn the_workspace_as_it_is_passes() {
        check().unwrap();
    }

    #[test]
    fn a_store_reaching_into_the_engine_is_caught() {
        let m = metadata(serde_json::json!([
            package("session-core", &[]),
            package("session-storage", &[("thiserror", None)]),
            package(
                "session-redis",
                &[("session-storage", None), ("session-core", None)]
            ),
        ]));
        assert_eq!(violations(&m), ["session-redis -> session-core"]);
    }

    #[test]
    fn dev_dependencies_may_cross_layers() {
        let m = metadata(serde_json::json!([
            package("session-core", &[]),
            package("session-redis", &[("session-core", Some("dev"))]),
        ]));
        assert!(violations(&m).is_empty());
    }

    #[test]
    fn the_trait_crate_keeps_its_promise() {
        let m = metadata(serde_json::json!([package(
            "session-storage",
            &[("thiserror", None), ("rustls", None)]
        )]));
        assert_eq!(
            violations(&m),
            ["session-storage -> rustls (it may depend on thiserror and tokio only)"]
        );
    }

    #[test]
    fn an_unknown_crate_must_say_where_it_stands() {
        let m = metadata(serde_json::json!([package("session-new", &[])]));
        assert_eq!(violations(&m).len(), 1);
    }
}
