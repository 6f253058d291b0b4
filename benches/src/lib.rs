//! Criterion benchmarks for the session workspace; see `benches/benches/`.
//!
//! The library holds what the networked-store benchmarks share: running batches of
//! concurrent tasks, and the paired engine-vs-raw comparison that survives the load drift of
//! a small machine running its own servers.
#![allow(clippy::print_stderr)]

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

/// Runs `iters` batches of `tasks` concurrent `op(i)` calls on `rt` and returns the total
/// time. With one task the operation runs inline, without a spawn.
///
/// # Panics
///
/// When an operation panics (a benchmark's assertion failed).
pub fn batches<F, Fut>(rt: &Runtime, iters: u64, tasks: usize, op: F) -> Duration
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            if tasks == 1 {
                op(0).await;
            } else {
                let mut set = tokio::task::JoinSet::new();
                for i in 0..tasks {
                    set.spawn(op(i));
                }
                while let Some(done) = set.join_next().await {
                    if let Err(e) = done {
                        std::panic::resume_unwind(e.into_panic());
                    }
                }
            }
        }
        start.elapsed()
    })
}

/// What [`paired`] measured: percentiles of the per-round ratios engine ÷ raw, and the
/// median batch times.
#[derive(Debug, Clone, Copy)]
pub struct Paired {
    /// 25th percentile of the ratios.
    pub p25: f64,
    /// Median ratio.
    pub p50: f64,
    /// 75th percentile of the ratios.
    pub p75: f64,
    /// Median time of one raw batch, µs.
    pub raw_us: f64,
    /// Median time of one engine batch, µs.
    pub engine_us: f64,
}

impl Paired {
    /// Prints one line: `label`, the median ratio with its middle half, the target, and the
    /// median batch times.
    pub fn report(&self, label: &str, target: f64) {
        eprintln!(
            "{label}: median {:.3} (middle half {:.3}–{:.3}; target ≤ {target}); median batch \
             raw {:.1} µs, engine {:.1} µs",
            self.p50, self.p25, self.p75, self.raw_us, self.engine_us
        );
    }
}

/// Engine ÷ raw ratios from paired rounds: each round times 16 raw batches and 16 engine
/// batches back to back (which goes first alternates), so the machine's drift hits both
/// sides of a round alike; 150 rounds, after a warm-up of both.
///
/// # Panics
///
/// When an operation panics.
pub fn paired<R, RF, E, EF>(rt: &Runtime, tasks: usize, raw: R, engine: E) -> Paired
where
    R: Fn(usize) -> RF,
    RF: Future<Output = ()> + Send + 'static,
    E: Fn(usize) -> EF,
    EF: Future<Output = ()> + Send + 'static,
{
    const ROUNDS: usize = 150;
    const BATCHES: u32 = 16;
    batches(rt, u64::from(BATCHES) * 4, tasks, &raw);
    batches(rt, u64::from(BATCHES) * 4, tasks, &engine);
    let mut ratios = Vec::with_capacity(ROUNDS);
    let (mut raws, mut engines) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (r, e) = if round % 2 == 0 {
            let r = batches(rt, BATCHES.into(), tasks, &raw);
            (r, batches(rt, BATCHES.into(), tasks, &engine))
        } else {
            let e = batches(rt, BATCHES.into(), tasks, &engine);
            (batches(rt, BATCHES.into(), tasks, &raw), e)
        };
        ratios.push(e.as_secs_f64() / r.as_secs_f64());
        raws.push(r.as_secs_f64() / f64::from(BATCHES));
        engines.push(e.as_secs_f64() / f64::from(BATCHES));
    }
    let pick = |v: &mut Vec<f64>, q: usize| {
        v.sort_by(f64::total_cmp);
        v[(v.len() - 1) * q / 100]
    };
    Paired {
        p25: pick(&mut ratios, 25),
        p50: pick(&mut ratios, 50),
        p75: pick(&mut ratios, 75),
        raw_us: pick(&mut raws, 50) * 1e6,
        engine_us: pick(&mut engines, 50) * 1e6,
    }
}

/// Whether the command line asks for the paired comparisons: no filter at all, or a filter
/// naming `paired` (option values such as `--measurement-time 5` are not filters).
#[must_use]
pub fn paired_wanted() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list" || a == "--test") {
        return false;
    }
    let filters: Vec<&String> = args
        .iter()
        .filter(|a| !a.starts_with('-') && a.parse::<f64>().is_err())
        .collect();
    filters.is_empty() || filters.iter().any(|f| f.contains("paired"))
}
