//! Criterion benchmarks for the session workspace; see `benches/benches/`.
