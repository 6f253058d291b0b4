//! `session-vectors FILE`: checks a lua-resty-session vectors file and prints one line per
//! case and the totals; exits non-zero when a case fails or the file cannot be read.
//! `cargo xtask vectors` runs it (`cargo run -p session-vectors -- FILE`).
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout)] // a command-line tool: stdout is its output

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: session-vectors FILE");
        return ExitCode::from(2);
    };
    let shown = path.display();
    eprintln!(
        "vectors: {shown} (sha256 {}…)",
        session_vectors::digest(&path).unwrap_or_else(|| "?".into())
    );
    match session_vectors::check_file(&path) {
        Ok(report) => {
            print!("{report}");
            if report.failed() == 0 {
                ExitCode::SUCCESS
            } else {
                eprintln!("{shown}: some vector cases failed");
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
