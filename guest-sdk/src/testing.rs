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

thread_local! {
    static SERVED: std::cell::RefCell<BTreeMap<String, crate::data::Fetched>> =
        const { std::cell::RefCell::new(BTreeMap::new()) };
}

/// Makes [`crate::data::fetch`] (and [`crate::Task::fetch`]) answer `reference` with `bytes`
/// on this thread, as the host would after fetching it.
pub fn serve(reference: &str, bytes: &[u8], content_type: Option<&str>) {
    SERVED.with(|served| {
        served.borrow_mut().insert(
            reference.to_owned(),
            crate::data::Fetched {
                bytes: bytes.to_vec(),
                content_type: content_type.map(str::to_owned),
            },
        );
    });
}

/// What [`serve`] registered for `reference`.
pub(crate) fn served(reference: &str) -> Option<crate::data::Fetched> {
    SERVED.with(|served| served.borrow().get(reference).cloned())
}

/// Empties this thread's in-memory store.
pub fn reset_store() {
    crate::memory::reset();
}

/// Everything in this thread's in-memory store, keys in byte order.
pub fn store_snapshot() -> BTreeMap<String, Vec<u8>> {
    crate::memory::snapshot()
}

/// A graph stand-in for native tests: named inputs in, named outputs or a message out.
pub type GraphFn = std::rc::Rc<
    dyn Fn(&[(String, crate::nn::Tensor)]) -> Result<Vec<(String, crate::nn::Tensor)>, String>,
>;

thread_local! {
    static GRAPHS: std::cell::RefCell<BTreeMap<String, GraphFn>> =
        const { std::cell::RefCell::new(BTreeMap::new()) };
}

/// Makes [`crate::nn::Graph::named`]`(name)` open `run` on this thread, standing in for a
/// graph the host would load from the manifest (a test computes the outputs it expects).
pub fn graph(
    name: &str,
    run: impl Fn(&[(String, crate::nn::Tensor)]) -> Result<Vec<(String, crate::nn::Tensor)>, String>
    + 'static,
) {
    GRAPHS.with(|graphs| {
        graphs
            .borrow_mut()
            .insert(name.to_owned(), std::rc::Rc::new(run));
    });
}

/// True when [`graph`] registered `name`.
pub(crate) fn has_graph(name: &str) -> bool {
    GRAPHS.with(|graphs| graphs.borrow().contains_key(name))
}

/// Runs the stand-in registered as `name`.
pub(crate) fn run_graph(
    name: &str,
    inputs: &[(&str, crate::nn::Tensor)],
) -> Result<crate::nn::Outputs, crate::nn::NnError> {
    let run = GRAPHS
        .with(|graphs| graphs.borrow().get(name).cloned())
        .ok_or_else(|| {
            crate::nn::NnError::new(crate::nn::ErrorCode::NotFound, format!("no graph `{name}`"))
        })?;
    let owned: Vec<(String, crate::nn::Tensor)> = inputs
        .iter()
        .map(|(n, t)| ((*n).to_owned(), t.clone()))
        .collect();
    run(&owned)
        .map(crate::nn::Outputs)
        .map_err(|m| crate::nn::NnError::new(crate::nn::ErrorCode::RuntimeError, m))
}
