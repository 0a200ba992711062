//! A model's graphs: the plan its manifest makes ([`NnPlan`], compared on reload), the graphs
//! loaded from it when the model loads ([`ModelGraphs`], shared by every call of that model
//! version), and one loaded graph with its ONNX Runtime sessions ([`LoadedGraph`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use ort::execution_providers::{CPUExecutionProvider, CUDAExecutionProvider};
use ort::session::Session;

use super::tensor::TensorSpec;

/// Where a graph's inferences run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// ONNX Runtime's CPU provider.
    #[default]
    Cpu,
    /// ONNX Runtime's CUDA provider: needs the GPU build of ONNX Runtime and a GPU; loading
    /// fails (rather than silently running on the CPU) when either is missing.
    Cuda,
}

/// One graph file named by the manifest, with what identifies its content cheaply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphFile {
    /// The name the guest loads it by.
    pub name: String,
    /// The file, resolved.
    pub path: PathBuf,
    /// Its size and modification time: a rebuilt graph reloads the model.
    pub fingerprint: (u64, Option<SystemTime>),
}

/// A model's `[nn]` settings, resolved against the models folder (`Manifest::grants`). Equal
/// plans mean equal graphs, so a reload that changes neither the component nor the plan is a
/// no-op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NnPlan {
    /// The graphs, by name.
    pub graphs: Vec<GraphFile>,
    /// Intra-op threads per inference.
    pub threads: usize,
    /// Where inferences run.
    pub device: Device,
    /// ONNX Runtime sessions per graph: inferences of one graph that run at once.
    pub sessions: usize,
    /// Bytes of tensors one call may hold (its inputs and the outputs it received).
    pub tensor_bytes: u64,
    /// Whether the guest may load graph bytes itself (`graph.load`); off by default.
    pub allow_graph_bytes: bool,
}

/// Tensors one call may hold unless the manifest says otherwise: two large images' worth.
pub const DEFAULT_TENSOR_BYTES: u64 = 512 << 20;
/// Intra-op threads per inference unless the manifest says otherwise: one, so concurrent
/// calls share the cores instead of each claiming all of them.
pub const DEFAULT_THREADS: usize = 1;

impl Default for NnPlan {
    fn default() -> Self {
        Self {
            graphs: Vec::new(),
            threads: DEFAULT_THREADS,
            device: Device::Cpu,
            sessions: 1,
            tensor_bytes: DEFAULT_TENSOR_BYTES,
            allow_graph_bytes: false,
        }
    }
}

/// Counts of one graph's inferences, for `GET /models` and the metrics.
#[derive(Debug, Default)]
pub struct InferenceStats {
    /// Inferences that returned outputs.
    pub completed: AtomicU64,
    /// Inferences that failed (ONNX Runtime errors, deadlines).
    pub failed: AtomicU64,
    /// Time spent inside ONNX Runtime, in microseconds, over all inferences.
    pub busy_us: AtomicU64,
}

/// A graph loaded into ONNX Runtime, with its sessions.
pub struct LoadedGraph {
    /// The name the guest loads it by.
    pub name: String,
    /// Where it came from (`None`: bytes the guest passed).
    pub file: Option<PathBuf>,
    /// Its inputs, in the graph's order.
    pub inputs: Vec<TensorSpec>,
    /// Its outputs, in the graph's order.
    pub outputs: Vec<TensorSpec>,
    /// How long loading took, in milliseconds.
    pub load_ms: u64,
    /// Where it runs.
    pub device: Device,
    /// Intra-op threads per inference.
    pub threads: usize,
    /// Its inferences so far.
    pub stats: InferenceStats,
    /// The sessions; each runs one inference at a time (ort's `run` takes `&mut`).
    pub(super) sessions: Vec<std::sync::Mutex<Session>>,
    /// One permit per session: an inference waits here for a free one, without a thread.
    pub(super) free: tokio::sync::Semaphore,
}

impl LoadedGraph {
    /// Loads `source` into `sessions` ONNX Runtime sessions. Blocking (ONNX Runtime parses
    /// and optimises the graph): call it off the async workers.
    pub fn load(
        name: &str,
        source: GraphSource<'_>,
        threads: usize,
        device: Device,
        sessions: usize,
    ) -> Result<Self, String> {
        let started = Instant::now();
        let mut loaded = Vec::with_capacity(sessions);
        for _ in 0..sessions.max(1) {
            loaded.push(open_session(&source, threads, device)?);
        }
        let first = &loaded[0];
        let inputs = first
            .inputs
            .iter()
            .map(|i| TensorSpec::from_ort(&i.name, &i.input_type))
            .collect::<Result<Vec<_>, _>>()?;
        let outputs = first
            .outputs
            .iter()
            .map(|o| TensorSpec::from_ort(&o.name, &o.output_type))
            .collect::<Result<Vec<_>, _>>()?;
        let count = loaded.len();
        Ok(Self {
            name: name.to_owned(),
            file: match source {
                GraphSource::File(path) => Some(path.to_path_buf()),
                GraphSource::Bytes(_) => None,
            },
            inputs,
            outputs,
            load_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            device,
            threads,
            stats: InferenceStats::default(),
            sessions: loaded.into_iter().map(std::sync::Mutex::new).collect(),
            free: tokio::sync::Semaphore::new(count),
        })
    }

    /// What `GET /models` shows of it.
    pub fn report(&self) -> GraphReport {
        let stats = &self.stats;
        GraphReport {
            name: self.name.clone(),
            file: self.file.clone(),
            device: self.device,
            threads: self.threads,
            sessions: self.sessions.len(),
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            load_ms: self.load_ms,
            inferences: stats.completed.load(Ordering::Relaxed),
            failed_inferences: stats.failed.load(Ordering::Relaxed),
            inference_ms: stats.busy_us.load(Ordering::Relaxed) as f64 / 1000.0,
        }
    }
}

/// What a graph is loaded from.
pub enum GraphSource<'a> {
    /// A file named by the manifest.
    File(&'a std::path::Path),
    /// Bytes the guest passed (`graph.load`, when the manifest allows it).
    Bytes(&'a [u8]),
}

fn open_session(
    source: &GraphSource<'_>,
    threads: usize,
    device: Device,
) -> Result<Session, String> {
    let what = match source {
        GraphSource::File(path) => path.display().to_string(),
        GraphSource::Bytes(bytes) => format!("the {} bytes passed", bytes.len()),
    };
    let fail = |e: ort::Error| format!("cannot load {what} into ONNX Runtime: {e}");
    let provider = match device {
        // Without an arena ONNX Runtime gives an inference's working memory back when it
        // ends, instead of keeping each session's peak for ever.
        Device::Cpu => CPUExecutionProvider::default()
            .with_arena_allocator(false)
            .build()
            .error_on_failure(),
        Device::Cuda => CUDAExecutionProvider::default().build().error_on_failure(),
    };
    let builder = Session::builder()
        .and_then(|b| b.with_intra_threads(threads.max(1)))
        .and_then(|b| b.with_inter_threads(1))
        .and_then(|b| b.with_intra_op_spinning(false))
        .and_then(|b| b.with_execution_providers([provider]))
        .map_err(|e| match device {
            Device::Cuda => format!(
                "device = \"cuda\" needs ONNX Runtime's CUDA provider (the onnxruntime-gpu \
                 build) and a GPU: {e}"
            ),
            Device::Cpu => fail(e),
        })?;
    match source {
        GraphSource::File(path) => builder.commit_from_file(path).map_err(fail),
        GraphSource::Bytes(bytes) => builder.commit_from_memory(bytes).map_err(fail),
    }
}

/// The graphs of one model version, loaded, by name; shared by all its calls.
pub struct ModelGraphs {
    /// The loaded graphs.
    pub graphs: BTreeMap<String, Arc<LoadedGraph>>,
    /// The plan they were loaded from (threads, device, budgets for guest-loaded graphs).
    pub plan: NnPlan,
    /// The host-wide bound on inferences running at once.
    pub(super) pool: Arc<tokio::sync::Semaphore>,
}

impl ModelGraphs {
    /// No graphs: the model's manifest names none.
    pub fn none(pool: Arc<tokio::sync::Semaphore>) -> Self {
        Self {
            graphs: BTreeMap::new(),
            plan: NnPlan::default(),
            pool,
        }
    }

    /// What `GET /models` shows of each graph.
    pub fn reports(&self) -> Vec<GraphReport> {
        self.graphs.values().map(|g| g.report()).collect()
    }
}

/// One graph as `GET /models` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GraphReport {
    /// The name the guest loads it by.
    pub name: String,
    /// The file it was loaded from.
    pub file: Option<PathBuf>,
    /// Where it runs.
    pub device: Device,
    /// Intra-op threads per inference.
    pub threads: usize,
    /// Inferences of it that can run at once.
    pub sessions: usize,
    /// Its inputs.
    pub inputs: Vec<TensorSpec>,
    /// Its outputs.
    pub outputs: Vec<TensorSpec>,
    /// How long loading it took.
    pub load_ms: u64,
    /// Inferences completed.
    pub inferences: u64,
    /// Inferences failed.
    pub failed_inferences: u64,
    /// Time spent in ONNX Runtime over all its inferences, in milliseconds.
    pub inference_ms: f64,
}
