//! Helpers for native unit tests of a model (off wasm only).
//!
//! Natively, [`crate::store`] works on an in-memory store with the host's limits, one per
//! thread: each `#[test]` runs on its own thread, so it starts empty and parallel tests do
//! not interfere. Build the call with [`crate::Call::from_xml`], tasks with
//! [`crate::Task::from_json`], events with [`crate::Event::new`], then call the model's
//! `predict` and `fit` directly. A test that runs several scenarios on one thread (or a
//! harness that reuses threads) empties the store with [`reset_store`].
//!
//! Unlike the host, the in-memory store has no call transaction: a `fit` that fails halfway
//! keeps the writes it made before failing.

use std::collections::BTreeMap;

/// Empties this thread's in-memory store.
pub fn reset_store() {
    crate::memory::reset();
}

/// Everything in this thread's in-memory store, keys in byte order.
pub fn store_snapshot() -> BTreeMap<String, Vec<u8>> {
    crate::memory::snapshot()
}
