//! A tiny executor for storage-less use: [`block_on`].

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Run a future to completion on the current thread, without a runtime.
///
/// Meant for cookie storage (whose futures are ready at once) and stores
/// that need no reactor, such as the in-memory store; a future that waits
/// for I/O driven by a runtime would spin. Use your runtime's `.await`
/// otherwise.
///
/// ```
/// assert_eq!(session_core::block_on(async { 1 + 1 }), 2);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}
