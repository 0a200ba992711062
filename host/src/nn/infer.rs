//! One inference: checked inputs, a slot on the host-wide pool and a free session of the
//! graph (waiting without a thread), ONNX Runtime on the blocking pool, and the call's
//! deadline enforced inside it through ONNX Runtime's run options.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use ort::session::RunOptions;
use tokio::time::timeout_at;

use super::graphs::LoadedGraph;
use super::tensor::{Tensor, from_value};

/// Why an inference gave no outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InferFailure {
    /// The inputs do not fit the graph (names, types, shapes, lengths).
    InvalidInput(String),
    /// An output `wasi:nn` cannot carry.
    Unsupported(String),
    /// ONNX Runtime failed.
    Runtime(String),
    /// The call's deadline passed (waiting, or inside ONNX Runtime, which was told to stop).
    Deadline,
}

/// Runs `graph` on `inputs`, ending by `deadline`.
pub async fn run(
    graph: &Arc<LoadedGraph>,
    pool: &tokio::sync::Semaphore,
    inputs: Vec<(String, Tensor)>,
    deadline: Instant,
) -> Result<Vec<(String, Tensor)>, InferFailure> {
    let specs = check_inputs(graph, &inputs).map_err(InferFailure::InvalidInput)?;
    let deadline = tokio::time::Instant::from_std(deadline);
    let _slot = timeout_at(deadline, pool.acquire())
        .await
        .map_err(|_| InferFailure::Deadline)?
        .map_err(|_| InferFailure::Runtime("the inference pool is closed".into()))?;
    let _session = timeout_at(deadline, graph.free.acquire())
        .await
        .map_err(|_| InferFailure::Deadline)?
        .map_err(|_| InferFailure::Runtime("the graph is closed".into()))?;
    let options = Arc::new(
        RunOptions::new().map_err(|e| InferFailure::Runtime(format!("run options: {e}")))?,
    );
    // Dropped with this future (the call was cancelled, e.g. the client went away): ONNX
    // Runtime is told to stop rather than finish an inference nobody waits for.
    let mut stop = StopOnDrop(Some(options.clone()));
    let worker = {
        let graph = graph.clone();
        let options = options.clone();
        tokio::task::spawn_blocking(move || infer_blocking(&graph, &specs, &inputs, &options))
    };
    tokio::pin!(worker);
    let outcome = tokio::select! {
        joined = &mut worker => joined,
        () = tokio::time::sleep_until(deadline) => {
            let _ = options.terminate();
            // ONNX Runtime checks the flag between kernels: the worker ends promptly.
            let _ = (&mut worker).await;
            graph.stats.failed.fetch_add(1, Ordering::Relaxed);
            return Err(InferFailure::Deadline);
        }
    };
    stop.0 = None;
    let outcome = outcome.map_err(|e| InferFailure::Runtime(format!("inference task: {e}")))?;
    let counter = if outcome.is_ok() {
        &graph.stats.completed
    } else {
        &graph.stats.failed
    };
    counter.fetch_add(1, Ordering::Relaxed);
    outcome
}

/// Tells ONNX Runtime to stop when dropped (see [`run`]).
struct StopOnDrop(Option<Arc<RunOptions>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(options) = &self.0 {
            let _ = options.terminate();
        }
    }
}

/// Every input named once, each a graph input and fitting it, and every graph input given;
/// for each input, the index of its spec in `graph.inputs`.
fn check_inputs(graph: &LoadedGraph, inputs: &[(String, Tensor)]) -> Result<Vec<usize>, String> {
    let graph_name = &graph.name;
    let mut specs = Vec::with_capacity(inputs.len());
    for (index, (name, tensor)) in inputs.iter().enumerate() {
        let Some(at) = graph.inputs.iter().position(|s| &s.name == name) else {
            let known: Vec<&str> = graph.inputs.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "graph `{graph_name}` has no input `{name}`; its inputs are {known:?}"
            ));
        };
        if inputs[..index].iter().any(|(earlier, _)| earlier == name) {
            return Err(format!("input `{name}` is given twice"));
        }
        graph.inputs[at].check(tensor)?;
        specs.push(at);
    }
    let missing: Vec<&str> = graph
        .inputs
        .iter()
        .filter(|spec| !inputs.iter().any(|(name, _)| name == &spec.name))
        .map(|spec| spec.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "graph `{graph_name}` needs inputs {missing:?} as well"
        ));
    }
    Ok(specs)
}

/// The inference itself, on a blocking thread: values in, ONNX Runtime, tensors out.
fn infer_blocking(
    graph: &LoadedGraph,
    specs: &[usize],
    inputs: &[(String, Tensor)],
    options: &RunOptions,
) -> Result<Vec<(String, Tensor)>, InferFailure> {
    let mut values = Vec::with_capacity(inputs.len());
    for (&at, (name, tensor)) in specs.iter().zip(inputs) {
        let value = graph.inputs[at]
            .to_value(tensor)
            .map_err(InferFailure::InvalidInput)?;
        values.push((name.clone(), value));
    }
    // The caller holds one of `free`'s permits, so one session is unlocked; a poisoned one
    // (a panic inside ort) is still a valid session.
    let mut session = graph
        .sessions
        .iter()
        .find_map(|s| match s.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        })
        .ok_or_else(|| InferFailure::Runtime("no free session".into()))?;
    let started = Instant::now();
    let ran = session.run_with_options(values, options);
    let busy = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    graph.stats.busy_us.fetch_add(busy, Ordering::Relaxed);
    let outputs = ran.map_err(|e| InferFailure::Runtime(e.to_string()))?;
    let mut tensors = Vec::with_capacity(outputs.len());
    for (name, value) in &outputs {
        let tensor = from_value(name, &value).map_err(InferFailure::Unsupported)?;
        tensors.push((name.to_owned(), tensor));
    }
    Ok(tensors)
}
