//! The `session` command-line tool.
//!
//! **Not implemented yet.** It will mint and inspect session cookies
//! (`session mint`, `session inspect`, `session keygen`).
#![forbid(unsafe_code)]

fn main() {
    eprintln!("session: not implemented yet (see the README for the state of each crate)");
    std::process::exit(2);
}
