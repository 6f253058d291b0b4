//! Project automation, run as `cargo xtask <command>`.
//!
//! - `cargo xtask test`: what CI runs — `cargo fmt --check`, `cargo clippy
//!   --workspace --all-targets -- -D warnings`, `cargo test --workspace`, and
//!   `cargo xtask vectors` on the shared vectors.
//! - `cargo xtask vectors [FILE]`: checks a lua-resty-session vectors file
//!   (default: `$SESSION_VECTORS`, else
//!   `../shared/vectors/lua-resty-session-4.1.5.json` beside the repository).

#![allow(clippy::print_stdout)] // a command-line tool: stdout is its output

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod services;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test               fmt --check, clippy -D warnings, cargo test --workspace, vectors
  services start     start the test servers (Redis sentinel, cluster, ...) and leave them up
  services stop      stop them
  vectors [FILE]     check a lua-resty-session vectors file
                     (default: $SESSION_VECTORS or ../shared/vectors/lua-resty-session-4.1.5.json)
";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn default_vectors() -> PathBuf {
    std::env::var_os("SESSION_VECTORS").map_or_else(
        || workspace_root().join("../shared/vectors/lua-resty-session-4.1.5.json"),
        PathBuf::from,
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("vectors") => {
            let path = args.get(1).map_or_else(default_vectors, PathBuf::from);
            run_vectors(&path)
        }
        Some("test") => test(),
        Some("services") => match args.get(1).map(String::as_str) {
            Some("start") => services::start_detached(),
            Some("stop") => {
                services::stop_redis();
                Ok(())
            }
            _ => Err(format!("services takes start or stop\n\n{USAGE}")),
        },
        Some("-h" | "--help" | "help") => {
            eprint!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown or missing command\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_vectors(path: &Path) -> Result<(), String> {
    let shown = path.display();
    eprintln!(
        "vectors: {shown} (sha256 {}…)",
        session_vectors::digest(path).unwrap_or_else(|| "?".into())
    );
    let report = session_vectors::check_file(path)?;
    print!("{report}");
    if report.failed() == 0 {
        Ok(())
    } else {
        Err(format!("{shown}: some vector cases failed"))
    }
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn test() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    let services = services::start()?;
    cargo(&["test", "--workspace"])?;
    drop(services);
    run_vectors(&default_vectors())
}
