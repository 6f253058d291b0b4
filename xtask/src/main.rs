//! Project automation, run as `cargo xtask <command>`.
//!
//! - `cargo xtask test`: what CI runs — `cargo fmt --check`, `cargo clippy
//!   --workspace --all-targets -- -D warnings`, `cargo test --workspace`, and
//!   `cargo xtask vectors` on the shared vectors.
//! - `cargo xtask layering`: checks the crates' dependency arrows against
//!   docs/architecture.md (also part of `test`).
//! - `cargo xtask vectors [FILE]`: checks a lua-resty-session vectors file
//!   (default: `$SESSION_VECTORS`, else
//!   `../shared/vectors/lua-resty-session-4.1.5.json` beside the repository).
//! - `cargo xtask bench-http [--seconds N] [--rounds N] [--servers a,b] [--routes /a,/b]`: resty-session and its
//!   peers behind the same routes under `wrk` (docs/benchmarks.md); not part of `test`.

#![allow(clippy::print_stdout)] // a command-line tool: stdout is its output

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench_http;
mod layering;
mod services;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test               fmt --check, layering, clippy -D warnings, features, docs,
                     cargo test --workspace, vectors, a 40 s chaos run
  services start     start the test servers (Redis sentinel, cluster, memcached, and
                     PostgreSQL / MariaDB when none answers on 5432 / 3306), leave them
                     up and print the variables to export (eval \"$(cargo xtask services start)\")
  services stop      stop them
  layering           check the crates' dependency arrows (docs/architecture.md)
  features           the facade builds with no feature; axum and actix pull nothing of each other
  docs               rustdoc -D warnings: the workspace, and the facade without features
  chaos [--seconds N]
                     a real HTTP server on Redis and file storage under mixed traffic while
                     the Redis is stopped, killed and restarted and the disk fills up; fails
                     on any lost acknowledged save or request past the deadline (default 60 s)
  vectors [FILE]     check a lua-resty-session vectors file
                     (default: $SESSION_VECTORS or ../shared/vectors/lua-resty-session-4.1.5.json)
  bench-http [--seconds N] [--rounds N] [--servers a,b,..] [--routes /open,/save,..]
                     wrk against resty-session and its peers, servers interleaved in rounds;
                     LRS_BENCH_URL adds the reference (docs/benchmarks.md)
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
        Some("layering") => layering::check(),
        Some("features") => features(),
        Some("docs") => docs(),
        Some("chaos") => match args.get(1..) {
            Some([]) | None => chaos(60),
            Some([flag, n]) if flag == "--seconds" => n
                .parse()
                .map_err(|_| format!("--seconds takes a number\n\n{USAGE}"))
                .and_then(chaos),
            _ => Err(format!("chaos takes [--seconds N]\n\n{USAGE}")),
        },
        Some("bench-http") => bench_http::run(&args[1..]),
        Some("services") => match args.get(1).map(String::as_str) {
            Some("start") => services::start_detached().map(|env| {
                // For `eval "$(cargo xtask services start)"`.
                for (name, value) in env {
                    println!("export {name}={}", shell_quote(&value));
                }
            }),
            Some("stop") => {
                services::stop();
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

/// Runs the vectors checker (`session-vectors`, a binary of its own, so xtask links no
/// workspace crate and stays packageable).
fn run_vectors(path: &Path) -> Result<(), String> {
    let path = path
        .to_str()
        .ok_or_else(|| format!("{}: not a UTF-8 path", path.display()))?;
    cargo(&["run", "--quiet", "-p", "session-vectors", "--", path])
}

/// `value` quoted for a POSIX shell.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

fn cargo(args: &[&str]) -> Result<(), String> {
    cargo_with_env(args, &[])
}

/// Runs cargo with `env` added to its environment.
fn cargo_with_env(args: &[&str], env: &[(String, String)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for (name, value) in env {
        eprintln!("$ export {name}={}", shell_quote(value));
    }
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
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
    layering::check()?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    features()?;
    docs()?;
    let services = services::start()?;
    cargo_with_env(&["test", "--workspace", "--no-fail-fast"], services.env())?;
    drop(services);
    run_vectors(&default_vectors())?;
    // The bounded form: about a minute with the build.
    chaos(40)
}

/// Runs `session-chaos` for `seconds`: as root directly, else in a user and mount namespace
/// (`unshare`), where it may mount the small tmpfs it fills.
fn chaos(seconds: u64) -> Result<(), String> {
    services::ensure_redis_installed()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let seconds = seconds.to_string();
    let run = [
        cargo.as_str(),
        "run",
        "--quiet",
        "-p",
        "session-chaos",
        "--",
        "--seconds",
        &seconds,
    ];
    let root = services::is_root();
    let mut command = if root {
        Command::new(run[0])
    } else {
        let mut c = Command::new("unshare");
        c.args(["--user", "--map-root-user", "--mount"]).arg(run[0]);
        c
    };
    eprintln!(
        "$ {}{}",
        if root {
            ""
        } else {
            "unshare --user --map-root-user --mount "
        },
        run.join(" ")
    );
    let status = command
        .args(&run[1..])
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot run the chaos test: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the chaos test failed ({status})"))
    }
}

/// The facade's front doors stay independent: each framework feature pulls no crate of the
/// other, and the framework-neutral `SessionHandle` builds with no feature at all.
/// Rustdoc with warnings as errors (broken intra-doc links included): the workspace, and the
/// facade without its features, whose README links feature-gated items.
fn docs() -> Result<(), String> {
    let deny = [("RUSTDOCFLAGS".to_owned(), "-D warnings".to_owned())];
    cargo_with_env(&["doc", "--quiet", "--workspace", "--no-deps"], &deny)?;
    cargo_with_env(
        &[
            "doc",
            "--quiet",
            "-p",
            "resty-session",
            "--no-deps",
            "--no-default-features",
        ],
        &deny,
    )
}

fn features() -> Result<(), String> {
    cargo(&[
        "check",
        "--quiet",
        "-p",
        "resty-session",
        "--no-default-features",
        "--lib",
    ])?;
    let frameworks: [(&str, &[&str]); 2] = [
        ("axum", &["actix-web", "actix-http"]),
        (
            "actix",
            &["axum", "axum-core", "tower-layer", "tower-service"],
        ),
    ];
    for (feature, forbidden) in frameworks {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = Command::new(&cargo)
            .args([
                "tree",
                "-p",
                "resty-session",
                "--no-default-features",
                "--features",
                feature,
            ])
            .args(["-e", "normal", "--prefix", "none", "--format", "{p}"])
            .current_dir(workspace_root())
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "cargo tree --features {feature} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let tree = String::from_utf8_lossy(&output.stdout);
        for krate in forbidden {
            if tree
                .lines()
                .any(|l| l.split_whitespace().next() == Some(krate))
            {
                return Err(format!(
                    "feature `{feature}` of resty-session pulls `{krate}`"
                ));
            }
        }
        eprintln!(
            "features: `{feature}` pulls none of {}",
            forbidden.join(", ")
        );
    }
    Ok(())
}
