//! What a model may spend and reach: the budgets of each call ([`CallLimits`], [`Budget`])
//! and the capabilities granted beyond the default sandbox ([`Grants`]). A leaf module: the
//! manifest produces these and the runtime enforces them, without either importing the other.

use std::path::PathBuf;
use std::time::Duration;

/// Per-call resource budgets.
#[derive(Debug, Clone, PartialEq)]
pub struct CallLimits {
    /// Total linear memory across the component's memories, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock budget for `predict` and `info`.
    pub predict_timeout: Duration,
    /// Wall-clock budget for `fit`: training is allowed to take longer.
    pub fit_timeout: Duration,
    /// Captured stdout/stderr kept per stream per call, in bytes; also the budget of the
    /// `log` import per call.
    pub output_bytes: usize,
    /// Calls of one model running at once; more wait up to [`INSTANCE_WAIT`], then fail
    /// with `CallError::Busy` (see `runtime`).
    pub max_instances: usize,
    /// Fuel per `predict` (and `info`): a deterministic compute budget, about one unit per
    /// WebAssembly instruction, independent of the machine's load. `None`: unmetered.
    pub predict_fuel: Option<u64>,
    /// Fuel per `fit`. `None`: unmetered.
    pub fit_fuel: Option<u64>,
    /// Bytes of task data one call may fetch in all.
    pub fetch_bytes: u64,
    /// Time one fetch may take (always within the call's own budget).
    pub fetch_timeout: Duration,
    /// Whether and for how long a warm instance serves further calls.
    pub reuse: InstanceReuse,
    /// Predictions that do not fit the label config fail the request (else they are
    /// logged, counted and answered).
    pub strict_predictions: bool,
}

/// Instance reuse: after a call that ended cleanly, its instance may serve the next call of
/// the same model in the same project instead of a fresh one (see `runtime::warm` and
/// SECURITY.md for the isolation this keeps and the one it gives up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstanceReuse {
    /// False: every call gets a fresh instance (the manifest's opt-out).
    pub enabled: bool,
    /// Calls one instance serves before it is dropped.
    pub max_calls: u32,
    /// How long an unused warm instance is kept.
    pub idle: Duration,
    /// An instance whose linear memory grew past this during a call is dropped rather
    /// than kept, so one large request does not stay resident.
    pub max_memory_bytes: usize,
}

impl Default for InstanceReuse {
    fn default() -> Self {
        Self {
            enabled: true,
            max_calls: 10_000,
            idle: Duration::from_secs(30),
            max_memory_bytes: 64 << 20,
        }
    }
}

impl CallLimits {
    /// True when the model has a fuel budget and so runs on the metered engine.
    pub fn metered(&self) -> bool {
        self.predict_fuel.is_some() || self.fit_fuel.is_some()
    }
}

/// What one call may spend.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// Wall-clock time.
    pub(crate) time: Duration,
    /// Fuel, when the model is metered.
    pub(crate) fuel: Option<u64>,
}

/// How long a call waits for a free instance slot before the model is reported busy.
pub const INSTANCE_WAIT: Duration = Duration::from_secs(2);

impl Default for CallLimits {
    fn default() -> Self {
        Self {
            // Interpreted guests need 9-12 MiB to start; real models need room for data.
            memory_bytes: 512 << 20,
            // Label Studio waits 100 s for /predict; answer with a clear timeout before that.
            predict_timeout: Duration::from_secs(60),
            fit_timeout: Duration::from_secs(600),
            output_bytes: 64 * 1024,
            // Each instance may use `memory_bytes`: 16 x 512 MiB bounds one model's worst case.
            max_instances: 16,
            predict_fuel: None,
            fit_fuel: None,
            // A few large images or a long recording per call; far below the memory limit.
            fetch_bytes: 256 << 20,
            fetch_timeout: Duration::from_secs(30),
            reuse: InstanceReuse::default(),
            strict_predictions: false,
        }
    }
}

/// What a model is granted at run time, resolved against the file system.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grants {
    /// (host folder, guest path) mounted read-only.
    pub read_only_dir: Option<(PathBuf, String)>,
    /// The origins it may fetch task data from, besides its project's Label Studio.
    pub egress: std::sync::Arc<crate::taskdata::EgressPolicy>,
    /// The graphs it may run (`wasi:nn`) and their settings.
    pub nn: crate::nn::NnPlan,
}

/// Raised inside a call (from the epoch callback, or a host import that waited until the
/// call's deadline) when its time budget is spent; the runtime reports it as a timeout.
#[derive(Debug)]
pub struct BudgetSpent;

impl std::fmt::Display for BudgetSpent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("time budget spent")
    }
}

impl std::error::Error for BudgetSpent {}
