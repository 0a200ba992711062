//! The data of one guest call's `Store`: one field per capability the guest is given.

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::{
    FetchError, LogHost, LogLevel, StoreError, StoreHost, TaskDataHost, TypesHost, WitFetched,
};
use super::output::{CapturedOutput, LogBudget};
use crate::store::{CallStore, StoreFailure};
use crate::taskdata::{FetchFailure, TaskDataCall};

/// Everything a guest can reach during one call.
pub struct HostState {
    /// The model's name, for log lines.
    pub(crate) model: String,
    /// WASI p2 context: grants nothing but captured stdout/stderr, clocks and randomness.
    pub(crate) wasi: WasiCtx,
    /// Resources handed to the guest (streams, pollables).
    pub(crate) table: ResourceTable,
    /// Memory and table growth limits.
    pub(crate) limiter: CallLimiter,
    /// The (model, project) slice of the key/value store, with this call's pending writes.
    pub(crate) store: CallStore,
    /// The guest's stdout and stderr, logged when the call ends.
    pub(crate) stdout: CapturedOutput,
    /// See `stdout`.
    pub(crate) stderr: CapturedOutput,
    /// What the guest may still send through the `log` import in this call.
    pub(crate) log: LogBudget,
    /// The call's view of task data (the `task-data` import); `None` outside requests.
    pub(crate) task_data: Option<TaskDataCall>,
    /// The call's `wasi:nn` state: its model's graphs, its deadline, the tensors it holds.
    pub(crate) nn: crate::nn::NnCall,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps the linear memory of a whole component (the sum over its memories) and its tables,
/// and remembers whether the cap was hit so a failed call can be reported as `memory limit`.
pub struct CallLimiter {
    /// Cap on the sum of all linear memories, in bytes.
    pub(crate) max_memory_bytes: usize,
    /// Bytes currently allocated across the component's memories.
    pub(crate) memory_bytes: usize,
    /// Set when a growth request was refused.
    pub(crate) memory_limit_hit: bool,
}

/// Largest table a guest may grow: far above what real components use (CPython's is
/// ~30k entries), far below what could exhaust host memory.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;

impl CallLimiter {
    /// A limiter allowing `max_memory_bytes` in total.
    pub fn new(max_memory_bytes: usize) -> Self {
        Self {
            max_memory_bytes,
            memory_bytes: 0,
            memory_limit_hit: false,
        }
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.memory_bytes - current.min(self.memory_bytes) + desired;
        if total > self.max_memory_bytes {
            self.memory_limit_hit = true;
            return Ok(false);
        }
        self.memory_bytes = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

impl From<StoreFailure> for StoreError {
    fn from(failure: StoreFailure) -> Self {
        match failure {
            StoreFailure::TooLarge { limit, .. } => StoreError::TooLarge(limit as u64),
            StoreFailure::InvalidKey(why) => StoreError::InvalidKey(why),
            StoreFailure::Unavailable(why) => StoreError::Unavailable(why),
            // Guests never commit under a lock; reported as what it means for them.
            failure @ StoreFailure::LockLost(_) => StoreError::Unavailable(failure.to_string()),
        }
    }
}

/// The `types` interface has no functions; the linker still wants it implemented.
impl TypesHost for HostState {}

impl StoreHost for HostState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.store.get(&key).await?)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), StoreError> {
        Ok(self.store.set(&key, value)?)
    }

    async fn delete(&mut self, key: String) -> Result<bool, StoreError> {
        Ok(self.store.delete(&key).await?)
    }

    async fn list_keys(&mut self, prefix: String) -> Result<Vec<String>, StoreError> {
        Ok(self.store.list_keys(&prefix).await?)
    }
}

impl From<FetchFailure> for FetchError {
    fn from(failure: FetchFailure) -> Self {
        match failure {
            FetchFailure::NotAllowed(m) => Self::NotAllowed(m),
            FetchFailure::NotFound(m) => Self::NotFound(m),
            FetchFailure::Unauthorized(m) => Self::Unauthorized(m),
            FetchFailure::TooLarge(m) => Self::TooLarge(m),
            FetchFailure::Timeout(m) => Self::Timeout(m),
            FetchFailure::Unavailable(m) => Self::Unavailable(m),
            FetchFailure::InvalidUrl(m) => Self::InvalidUrl(m),
        }
    }
}

impl TaskDataHost for HostState {
    async fn fetch(&mut self, url: String, task_id: Option<u64>) -> Result<WitFetched, FetchError> {
        let Some(task_data) = &mut self.task_data else {
            return Err(FetchError::Unavailable(
                "task data is not available in this call".into(),
            ));
        };
        match task_data.fetch(&url, task_id).await {
            Ok(fetched) => Ok(WitFetched {
                size: fetched.bytes.len() as u64,
                bytes: fetched.bytes,
                content_type: fetched.content_type,
            }),
            Err(failure) => {
                tracing::info!(model = %self.model, task = ?task_id, "task data fetch failed: {failure}");
                Err(failure.into())
            }
        }
    }
}

/// Longest log message kept from a guest; the rest is cut so a guest cannot flood the log.
const MAX_LOG_MESSAGE_BYTES: usize = 8 * 1024;

impl LogHost for HostState {
    async fn log(&mut self, level: LogLevel, message: String) {
        let message = truncate(&message, MAX_LOG_MESSAGE_BYTES);
        if !self.log.admit(message.len()) {
            return;
        }
        let model = self.model.as_str();
        match level {
            LogLevel::Trace => tracing::trace!(target: "wasml::guest", model, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "wasml::guest", model, "{message}"),
            LogLevel::Info => tracing::info!(target: "wasml::guest", model, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "wasml::guest", model, "{message}"),
            LogLevel::Error => tracing::error!(target: "wasml::guest", model, "{message}"),
        }
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
