//! The thread pool of the threaded browser build (`--features threads` on
//! wasm32): the browser tests await `pool()` first, so that the same tests
//! run on one thread in the other builds and on the pool in this one.

/// Starts the pool once, with more workers than this machine's cores so
/// that products split into uneven blocks; does nothing in other builds.
pub async fn pool() {
    #[cfg(all(target_arch = "wasm32", feature = "threads"))]
    {
        use std::sync::atomic::{AtomicBool, Ordering};
        static STARTED: AtomicBool = AtomicBool::new(false);
        if !STARTED.swap(true, Ordering::SeqCst) {
            wasm_bindgen_futures::JsFuture::from(wasm_bindgen_rayon::init_thread_pool(3)).await.expect("the pool's workers start");
        }
        assert_eq!(rayon::current_num_threads(), 3, "products split across the pool");
    }
}
