//! Neural inference for guests: the standard `wasi:nn` interfaces, on ONNX Runtime.
//!
//! A model names its graphs in its manifest (`[nn.graphs]`); they are loaded when the model
//! loads ([`Nn::load`], off the request path), shared by all its calls, and reloaded with it.
//! The guest opens them with `graph.load-by-name`; loading graph bytes from the guest is off
//! unless the manifest allows it (ONNX Runtime's parser is a large attack surface). Each
//! inference checks its tensors against the graph, waits for a slot on a host-wide pool and a
//! free session of the graph, runs on the blocking pool, and is stopped when its call's
//! budget ends.
//!
//! `library` finds and loads ONNX Runtime, `graphs` holds what a model loaded, `tensor`
//! converts and checks tensors, `infer` runs one inference, `view` is a call's state and the
//! host side of the WIT.

pub(crate) mod bindings;
mod graphs;
mod infer;
pub mod library;
mod tensor;
mod view;

use std::path::PathBuf;
use std::sync::Arc;

pub use graphs::{DEFAULT_TENSOR_BYTES, DEFAULT_THREADS};
pub use graphs::{Device, GraphFile, GraphReport, LoadedGraph, ModelGraphs, NnPlan};
pub use tensor::TensorSpec;
pub use view::{NnCall, NnView, TensorBudgetSpent, add_to_linker};

use graphs::GraphSource;

/// The host's `wasi:nn` settings (command line).
#[derive(Debug, Clone, Default)]
pub struct NnSettings {
    /// `--onnxruntime`: the ONNX Runtime shared library (else [`library::default_path`]).
    pub library: Option<PathBuf>,
    /// Inferences running at once across the host (0: one per core).
    pub max_concurrent: usize,
}

/// The host-wide part of `wasi:nn`: where ONNX Runtime is, and the bound on inferences
/// running at once.
pub struct Nn {
    library: Option<PathBuf>,
    pool: Arc<tokio::sync::Semaphore>,
    /// The bound on inferences running at once.
    pub max_concurrent: usize,
}

impl Nn {
    /// The host's `wasi:nn`. ONNX Runtime is loaded when the first model with graphs loads.
    pub fn new(settings: &NnSettings) -> Self {
        let max_concurrent = match settings.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Self {
            library: settings.library.clone(),
            pool: Arc::new(tokio::sync::Semaphore::new(max_concurrent)),
            max_concurrent,
        }
    }

    /// What `GET /models` says of ONNX Runtime: loaded (path, version), unavailable (why),
    /// or not needed yet.
    pub fn status(&self) -> NnStatus {
        match library::loaded() {
            Some(Ok(ort)) => NnStatus::Loaded(ort.clone()),
            Some(Err(why)) => NnStatus::Unavailable {
                reason: why.clone(),
            },
            None => NnStatus::NotLoaded,
        }
    }

    /// The `nn` section of `GET /models`.
    pub fn describe(&self) -> NnSummary {
        NnSummary {
            onnxruntime: self.status(),
            max_concurrent_inferences: self.max_concurrent,
            tested_onnxruntime: library::TESTED_VERSION,
        }
    }

    /// No graphs, for a model whose manifest names none.
    pub fn no_graphs(&self) -> ModelGraphs {
        ModelGraphs::none(self.pool.clone())
    }

    /// Loads the graphs `plan` names, on the blocking pool; a model with none needs no ONNX
    /// Runtime. Any graph that fails fails the whole model, with a message naming it.
    pub async fn load(&self, plan: &NnPlan) -> anyhow::Result<ModelGraphs> {
        if plan.graphs.is_empty() {
            let mut none = self.no_graphs();
            none.plan = plan.clone();
            return Ok(none);
        }
        let library = self.library.clone();
        let plan_owned = plan.clone();
        let graphs = tokio::task::spawn_blocking(move || {
            if let Err(why) = library::load(library.as_deref()) {
                anyhow::bail!("its manifest names graphs, but {why}");
            }
            let mut graphs = std::collections::BTreeMap::new();
            for file in &plan_owned.graphs {
                let graph = LoadedGraph::load(
                    &file.name,
                    GraphSource::File(&file.path),
                    plan_owned.threads,
                    plan_owned.device,
                    plan_owned.sessions,
                )
                .map_err(|why| anyhow::anyhow!("graph `{}`: {why}", file.name))?;
                graphs.insert(file.name.clone(), Arc::new(graph));
            }
            Ok(graphs)
        })
        .await
        .map_err(|e| anyhow::anyhow!("loading graphs: {e}"))??;
        Ok(ModelGraphs {
            graphs,
            plan: plan.clone(),
            pool: self.pool.clone(),
        })
    }
}

/// The host's `wasi:nn` as `GET /models` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NnSummary {
    /// ONNX Runtime's state.
    pub onnxruntime: NnStatus,
    /// The bound on inferences running at once.
    pub max_concurrent_inferences: usize,
    /// The ONNX Runtime release the host is tested with.
    pub tested_onnxruntime: &'static str,
}

/// ONNX Runtime as `GET /models` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum NnStatus {
    /// Loaded.
    Loaded(library::OnnxRuntime),
    /// Looked for and not usable.
    Unavailable {
        /// Why, and how to install it.
        reason: String,
    },
    /// No model has needed it yet.
    NotLoaded,
}
