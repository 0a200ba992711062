//! The `wasi:nn` imports as one guest call sees them: [`NnCall`] is the call's slice of the
//! store data (its model's graphs, its deadline, the tensor bytes it holds), [`NnView`] pairs
//! it with the resource table for the generated host traits.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use super::bindings::wasi::nn::{errors, graph, inference, tensor as wit_tensor};
use super::bindings::{ErrorCode, ExecutionTarget, GraphEncoding, TensorType};
use super::graphs::{GraphSource, LoadedGraph, ModelGraphs};
use super::infer::{self, InferFailure};
use super::tensor::Tensor;
use crate::limits::BudgetSpent;

/// The `graph` resource: a loaded graph.
pub struct GraphHandle(Arc<LoadedGraph>);

/// The `graph-execution-context` resource: a graph ready to compute.
pub struct ExecutionContext(Arc<LoadedGraph>);

/// The `error` resource.
#[derive(Debug, Clone)]
pub struct NnError {
    code: ErrorCode,
    message: String,
}

/// Largest graph a guest may pass as bytes (when its manifest allows it at all).
const MAX_GRAPH_BYTES: usize = 1 << 30;

/// One call's `wasi:nn` state.
pub struct NnCall {
    graphs: Arc<ModelGraphs>,
    /// When the call's budget ends; inferences are stopped then.
    deadline: Instant,
    /// Bytes of tensors the call holds now.
    held: u64,
}

impl NnCall {
    /// A call's view of `graphs`, ending at `deadline`.
    pub fn new(graphs: Arc<ModelGraphs>, deadline: Instant) -> Self {
        Self {
            graphs,
            deadline,
            held: 0,
        }
    }

    /// Moves the deadline: a warm instance's next call has its own.
    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
    }

    /// Counts `bytes` more held, or says why the call may not hold them.
    fn hold(&mut self, bytes: usize) -> Result<(), String> {
        let limit = self.graphs.plan.tensor_bytes;
        let total = self.held.saturating_add(bytes as u64);
        if total > limit {
            return Err(format!(
                "the call's tensors would take {total} bytes, over its limit of {limit} \
                 ([nn] memory_mib in the manifest)"
            ));
        }
        self.held = total;
        Ok(())
    }

    fn release(&mut self, bytes: usize) {
        self.held = self.held.saturating_sub(bytes as u64);
    }
}

/// The generated host traits' receiver: a call's `wasi:nn` state and the resource table.
pub struct NnView<'a> {
    call: &'a mut NnCall,
    table: &'a mut ResourceTable,
}

impl<'a> NnView<'a> {
    /// Pairs a call's state with its store's resource table.
    pub fn new(call: &'a mut NnCall, table: &'a mut ResourceTable) -> Self {
        Self { call, table }
    }

    /// A `wasi:nn` error for the guest.
    fn fail<T>(
        &mut self,
        code: ErrorCode,
        message: String,
    ) -> wasmtime::Result<Result<T, Resource<NnError>>> {
        tracing::debug!(target: "wasml::nn", ?code, "{message}");
        Ok(Err(self.table.push(NnError { code, message })?))
    }
}

/// A tensor over the call's budget traps: a constructor has no error to return.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TensorBudgetSpent(String);

struct HasNnView;

impl HasData for HasNnView {
    type Data<'a> = NnView<'a>;
}

/// Links the `wasi:nn` imports, each call's state reached through `view`.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> NnView<'_>,
) -> wasmtime::Result<()> {
    graph::add_to_linker::<_, HasNnView>(linker, view)?;
    wit_tensor::add_to_linker::<_, HasNnView>(linker, view)?;
    inference::add_to_linker::<_, HasNnView>(linker, view)?;
    errors::add_to_linker::<_, HasNnView>(linker, view)?;
    Ok(())
}

impl graph::Host for NnView<'_> {
    async fn load(
        &mut self,
        builders: Vec<Vec<u8>>,
        encoding: GraphEncoding,
        target: ExecutionTarget,
    ) -> wasmtime::Result<Result<Resource<GraphHandle>, Resource<NnError>>> {
        let plan = &self.call.graphs.plan;
        if !plan.allow_graph_bytes {
            return self.fail(
                ErrorCode::Security,
                "loading graph bytes from the guest is disabled: name the graph in the \
                 model's manifest ([nn.graphs]) and use load-by-name"
                    .into(),
            );
        }
        if !matches!(encoding, GraphEncoding::Onnx | GraphEncoding::Autodetect) {
            return self.fail(
                ErrorCode::InvalidEncoding,
                "this host runs ONNX graphs only".into(),
            );
        }
        if target == ExecutionTarget::Tpu {
            return self.fail(ErrorCode::UnsupportedOperation, "no TPU here".into());
        }
        let [bytes] = <[Vec<u8>; 1]>::try_from(builders).unwrap_or_else(|_| [Vec::new()]);
        if bytes.is_empty() || bytes.len() > MAX_GRAPH_BYTES {
            return self.fail(
                ErrorCode::InvalidArgument,
                format!("pass one ONNX graph of 1 to {MAX_GRAPH_BYTES} bytes"),
            );
        }
        let (threads, device) = (plan.threads, plan.device);
        let loading = tokio::task::spawn_blocking(move || {
            LoadedGraph::load("(guest)", GraphSource::Bytes(&bytes), threads, device, 1)
        });
        let deadline = tokio::time::Instant::from_std(self.call.deadline);
        match tokio::time::timeout_at(deadline, loading).await {
            Err(_) => Err(BudgetSpent.into()),
            Ok(Err(join)) => self.fail(ErrorCode::RuntimeError, format!("loading: {join}")),
            Ok(Ok(Err(why))) => self.fail(ErrorCode::InvalidEncoding, why),
            Ok(Ok(Ok(graph))) => Ok(Ok(self.table.push(GraphHandle(Arc::new(graph)))?)),
        }
    }

    fn load_by_name(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Resource<GraphHandle>, Resource<NnError>>> {
        match self.call.graphs.graphs.get(&name) {
            Some(graph) => {
                let graph = GraphHandle(graph.clone());
                Ok(Ok(self.table.push(graph)?))
            }
            None => {
                let known: Vec<&String> = self.call.graphs.graphs.keys().collect();
                let message = if known.is_empty() {
                    format!(
                        "no graph named `{name}`: this model's manifest names no graphs \
                         (add them under [nn.graphs])"
                    )
                } else {
                    format!("no graph named `{name}`; this model's graphs are {known:?}")
                };
                self.fail(ErrorCode::NotFound, message)
            }
        }
    }
}

impl graph::HostGraph for NnView<'_> {
    fn init_execution_context(
        &mut self,
        graph: Resource<GraphHandle>,
    ) -> wasmtime::Result<Result<Resource<ExecutionContext>, Resource<NnError>>> {
        let graph = self.table.get(&graph)?.0.clone();
        Ok(Ok(self.table.push(ExecutionContext(graph))?))
    }

    fn drop(&mut self, graph: Resource<GraphHandle>) -> wasmtime::Result<()> {
        self.table.delete(graph)?;
        Ok(())
    }
}

impl inference::Host for NnView<'_> {}

impl inference::HostGraphExecutionContext for NnView<'_> {
    async fn compute(
        &mut self,
        context: Resource<ExecutionContext>,
        inputs: Vec<(String, Resource<Tensor>)>,
    ) -> wasmtime::Result<Result<Vec<(String, Resource<Tensor>)>, Resource<NnError>>> {
        let graph = self.table.get(&context)?.0.clone();
        // The input tensors are passed owned: they leave the guest's table (and its budget).
        let mut named = Vec::with_capacity(inputs.len());
        for (name, tensor) in inputs {
            let tensor = self.table.delete(tensor)?;
            self.call.release(tensor.data.len());
            named.push((name, tensor));
        }
        let pool = self.call.graphs.pool.clone();
        let outputs = match infer::run(&graph, &pool, named, self.call.deadline).await {
            Ok(outputs) => outputs,
            // The call's budget is spent: it ends as a timeout, like a guest that loops.
            Err(InferFailure::Deadline) => return Err(BudgetSpent.into()),
            Err(InferFailure::InvalidInput(why)) => {
                return self.fail(ErrorCode::InvalidArgument, why);
            }
            Err(InferFailure::Unsupported(why)) => {
                return self.fail(ErrorCode::UnsupportedOperation, why);
            }
            Err(InferFailure::Runtime(why)) => return self.fail(ErrorCode::RuntimeError, why),
        };
        let total: usize = outputs.iter().map(|(_, t)| t.data.len()).sum();
        if let Err(why) = self.call.hold(total) {
            return self.fail(ErrorCode::TooLarge, format!("the outputs: {why}"));
        }
        let mut handles = Vec::with_capacity(outputs.len());
        for (name, tensor) in outputs {
            handles.push((name, self.table.push(tensor)?));
        }
        Ok(Ok(handles))
    }

    fn drop(&mut self, context: Resource<ExecutionContext>) -> wasmtime::Result<()> {
        self.table.delete(context)?;
        Ok(())
    }
}

impl wit_tensor::Host for NnView<'_> {}

impl wit_tensor::HostTensor for NnView<'_> {
    fn new(
        &mut self,
        dims: Vec<u32>,
        ty: TensorType,
        data: Vec<u8>,
    ) -> wasmtime::Result<Resource<Tensor>> {
        // Shapes and lengths are checked against the graph at `compute`; here only the
        // budget, and over it the call traps, since a constructor cannot return an error.
        self.call.hold(data.len()).map_err(TensorBudgetSpent)?;
        Ok(self.table.push(Tensor { dims, ty, data })?)
    }

    fn dimensions(&mut self, tensor: Resource<Tensor>) -> wasmtime::Result<Vec<u32>> {
        Ok(self.table.get(&tensor)?.dims.clone())
    }

    fn ty(&mut self, tensor: Resource<Tensor>) -> wasmtime::Result<TensorType> {
        Ok(self.table.get(&tensor)?.ty)
    }

    fn data(&mut self, tensor: Resource<Tensor>) -> wasmtime::Result<Vec<u8>> {
        Ok(self.table.get(&tensor)?.data.clone())
    }

    fn drop(&mut self, tensor: Resource<Tensor>) -> wasmtime::Result<()> {
        let tensor = self.table.delete(tensor)?;
        self.call.release(tensor.data.len());
        Ok(())
    }
}

impl errors::Host for NnView<'_> {}

impl errors::HostError for NnView<'_> {
    fn code(&mut self, error: Resource<NnError>) -> wasmtime::Result<ErrorCode> {
        Ok(self.table.get(&error)?.code)
    }

    fn data(&mut self, error: Resource<NnError>) -> wasmtime::Result<String> {
        Ok(self.table.get(&error)?.message.clone())
    }

    fn drop(&mut self, error: Resource<NnError>) -> wasmtime::Result<()> {
        self.table.delete(error)?;
        Ok(())
    }
}
