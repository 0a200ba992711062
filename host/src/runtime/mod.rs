//! The WebAssembly runtime: one wasmtime `Engine` for the process, one pre-linked component
//! per model, and a sandboxed `Store` for every call: a warm one of the same project when
//! the model allows reuse (`warm`), else a fresh one.
//!
//! A second engine with fuel metering serves the models whose manifest sets a fuel budget:
//! metering instruments every function the engine compiles and slows it, so models that do
//! not ask for it never pay for it.

mod bindings;
mod cache;
mod compile_queue;
mod config;
mod convert;
mod model;
mod output;
mod state;
mod trim;
mod warm;

use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use bindings::ModelInfo;
pub use cache::CompileCache;
pub use compile_queue::{CompileQueue, Ticket, Turn};
pub use config::CallConfig;
pub use model::{CallEnv, CallError, CallInput, CallOutcome, FitResult, GuestError, LoadedModel};
pub use state::HostState;

/// How often the epoch advances: a runaway guest is interrupted within one tick of its
/// budget, and each tick costs one atomic increment.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Pooling allocator sizing. Slots are virtual memory reserved up front and committed on use,
/// so generous counts cost address space, not RAM.
mod pool {
    /// Component instances alive at once across all models (= concurrent calls).
    pub const TOTAL_COMPONENT_INSTANCES: u32 = 1000;
    /// Core instances across all components: interpreted-language guests have ~10 each.
    pub const TOTAL_CORE_INSTANCES: u32 = 4000;
    /// Linear memories alive at once.
    pub const TOTAL_MEMORIES: u32 = 2000;
    /// Tables alive at once.
    pub const TOTAL_TABLES: u32 = 2000;
    /// Largest table at instantiation: CPython and SpiderMonkey guests need tens of thousands.
    pub const TABLE_ELEMENTS: usize = 100_000;
    /// Per-core-instance metadata (vmctx); large interpreted guests need more than the 1 MiB default.
    pub const MAX_CORE_INSTANCE_SIZE: usize = 4 << 20;
    /// Largest linear memory a slot can hold; per-model limits are enforced below this.
    pub const MAX_MEMORY_SIZE: usize = 4 << 30;
    /// Bytes of a freed linear memory reset in place (only its dirty pages, found with
    /// `PAGEMAP_SCAN` where the kernel has it) instead of returned with `madvise`: the next
    /// instance in the slot then starts without page faults. Larger memories give the rest
    /// back to the kernel.
    pub const MEMORY_KEEP_RESIDENT: usize = 1 << 20;
    /// The same for tables (CPython's holds ~30k entries of 8 bytes).
    pub const TABLE_KEEP_RESIDENT: usize = 256 << 10;
    /// The same for the stack each call runs on.
    pub const STACK_KEEP_RESIDENT: usize = 128 << 10;
}

/// The process-wide runtime: the engines and linkers shared by every model.
#[derive(Clone)]
pub struct Runtime {
    /// The engine of models without a fuel budget.
    plain: Backend,
    /// The fuel-metering engine, for models with a fuel budget.
    metered: Backend,
    /// True when the pooling allocator is in use (reported by `GET /models`).
    pub pooling: bool,
    /// `wasi:nn`: where ONNX Runtime is and the bound on inferences; models load their
    /// graphs through it.
    pub nn: std::sync::Arc<crate::nn::Nn>,
    /// The order components compile in (one at a time, smallest first).
    pub compile_queue: std::sync::Arc<CompileQueue>,
}

/// One engine with its linker and compile cache.
#[derive(Clone)]
struct Backend {
    engine: Engine,
    linker: std::sync::Arc<Linker<HostState>>,
    cache: Option<CompileCache>,
}

impl Runtime {
    /// Builds the engines (pooling allocator when the machine allows it, on-demand otherwise;
    /// always on-demand for the metered one, which few models use), links WASI p2 and the
    /// `wasml:model` imports, and starts the epoch tickers.
    pub fn new() -> anyhow::Result<Self> {
        let (engine, pooling) = match Engine::new(&engine_config(true, false)) {
            Ok(engine) => (engine, true),
            Err(err) => {
                tracing::warn!(
                    "pooling allocator unavailable ({err:#}); using on-demand allocation"
                );
                (new_engine(false, false)?, false)
            }
        };
        Ok(Self {
            plain: Backend::new(engine)?,
            metered: Backend::new(new_engine(false, true)?)?,
            pooling,
            nn: std::sync::Arc::new(crate::nn::Nn::new(&crate::nn::NnSettings::default())),
            compile_queue: Default::default(),
        })
    }

    /// Uses `settings` for `wasi:nn` (where ONNX Runtime is, how many inferences at once).
    pub fn with_nn(mut self, settings: &crate::nn::NnSettings) -> Self {
        self.nn = std::sync::Arc::new(crate::nn::Nn::new(settings));
        self
    }

    /// Keeps compiled components in `dir` so known components load without compiling.
    pub fn with_cache(mut self, dir: &std::path::Path) -> anyhow::Result<Self> {
        for backend in [&mut self.plain, &mut self.metered] {
            let cache = CompileCache::new(dir, &backend.engine)
                .with_context(|| format!("cannot use {} as the compile cache", dir.display()))?;
            backend.cache = Some(cache);
        }
        Ok(self)
    }

    /// True when the compile cache holds the component with SHA-256 `hash` for the engine
    /// `metered` selects: loading it deserializes instead of compiling.
    pub fn is_cached(&self, hash: &str, metered: bool) -> bool {
        let backend = if metered { &self.metered } else { &self.plain };
        backend.cache.as_ref().is_some_and(|c| c.contains(hash))
    }

    /// Compiles a component (or loads it from the cache by its SHA-256, `hash`) and
    /// pre-links it, for the metered engine when `metered` (the model has a fuel budget).
    /// CPU-heavy when not cached (milliseconds for a small Rust guest, seconds for an
    /// interpreter): call it off the async workers.
    pub fn compile(
        &self,
        bytes: &[u8],
        hash: &str,
        metered: bool,
    ) -> anyhow::Result<model::Compiled> {
        let backend = if metered { &self.metered } else { &self.plain };
        backend.compile(bytes, hash)
    }
}

impl Backend {
    fn new(engine: Engine) -> anyhow::Result<Self> {
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| anyhow::anyhow!("{e:#}"))
            .context("linking WASI")?;
        link_model_imports(&mut linker)
            .map_err(|e| anyhow::anyhow!("{e:#}"))
            .context("linking the wasml:model imports")?;
        crate::nn::add_to_linker(&mut linker, |state: &mut HostState| {
            crate::nn::NnView::new(&mut state.nn, &mut state.table)
        })
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .context("linking wasi:nn")?;
        start_epoch_ticker(&engine);
        Ok(Self {
            engine,
            linker: std::sync::Arc::new(linker),
            cache: None,
        })
    }

    fn compile(&self, bytes: &[u8], hash: &str) -> anyhow::Result<model::Compiled> {
        let cached = self.cache.as_ref().and_then(|c| c.get(&self.engine, hash));
        let from_cache = cached.is_some();
        let component = match cached {
            Some(component) => component,
            None => {
                let component = Component::new(&self.engine, bytes)
                    .map_err(|e| anyhow::anyhow!("{e:#}"))
                    .context("not a valid WebAssembly component")?;
                if let Some(cache) = &self.cache {
                    cache.put(&component, hash);
                }
                trim::release_free_heap();
                component
            }
        };
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow::anyhow!("{e:#}"))
            .context("the component imports something the host does not provide")?;
        let pre = bindings::ModelBindingsPre::new(pre)
            .map_err(|e| anyhow::anyhow!("{e:#}"))
            .context("the component does not implement the wasml:model world")?;
        Ok(model::Compiled { pre, from_cache })
    }
}

/// The `wasml:model` interfaces, one by one: `wasi:nn` is linked by its own module, over
/// its own view of the call's state.
fn link_model_imports(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    bindings::store::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
    bindings::log::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
    bindings::task_data::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
    bindings::types::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
    Ok(())
}

fn new_engine(pooling: bool, fuel: bool) -> anyhow::Result<Engine> {
    Engine::new(&engine_config(pooling, fuel))
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .context("creating the wasmtime engine")
}

fn engine_config(pooling: bool, fuel: bool) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.consume_fuel(fuel);
    if pooling {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(pool::TOTAL_COMPONENT_INSTANCES)
            .total_core_instances(pool::TOTAL_CORE_INSTANCES)
            .total_memories(pool::TOTAL_MEMORIES)
            .total_tables(pool::TOTAL_TABLES)
            .total_stacks(pool::TOTAL_COMPONENT_INSTANCES)
            .table_elements(pool::TABLE_ELEMENTS)
            .max_core_instance_size(pool::MAX_CORE_INSTANCE_SIZE)
            .max_memory_size(pool::MAX_MEMORY_SIZE)
            .linear_memory_keep_resident(pool::MEMORY_KEEP_RESIDENT)
            .table_keep_resident(pool::TABLE_KEEP_RESIDENT)
            .async_stack_keep_resident(pool::STACK_KEEP_RESIDENT)
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a plain thread, until the engine is
/// dropped. Guests check the epoch at loop headers and function entries.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("wasml-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(err) = spawned {
        tracing::error!("cannot start the epoch ticker, guests will not time out: {err}");
    }
}
