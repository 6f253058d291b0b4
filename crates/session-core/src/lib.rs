//! The session engine, wire-compatible with lua-resty-session 4.x.
//!
//! **Not implemented yet.** This crate will hold configuration (with the Lua
//! option names), timeout math, the audience / subject model, the session state
//! machine and the HTTP edge (Cookie in, Set-Cookie out). Until then it exports
//! nothing.
#![forbid(unsafe_code)]
