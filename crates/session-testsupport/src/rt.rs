//! Async clean-up from a `Drop`.

use std::future::Future;

/// Runs the future `job` makes to completion on a current-thread runtime of its own, on a
/// thread of its own, so that a guard's `Drop` can clean up (drop test tables, say) whether it
/// runs inside an async runtime or not. Returns the future's output, or `Err` with the panic
/// when the job panicked.
///
/// ```
/// let answer = session_testsupport::rt::block_on_own_thread(|| async { 6 * 7 });
/// assert_eq!(answer.unwrap(), 42);
/// ```
pub fn block_on_own_thread<F, Fut>(job: F) -> std::thread::Result<Fut::Output>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future,
    Fut::Output: Send + 'static,
{
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot build a runtime: {e}"));
        runtime.block_on(job())
    })
    .join()
}
