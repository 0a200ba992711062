//! A loaded model and the lifecycle of one call: fresh store, instantiate, call, classify.

use std::time::{Duration, Instant};

use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::WasiCtx;

use super::bindings::{self as wit, ModelBindingsPre, ModelError, ModelInfo};
use super::config::CallConfig;
use super::output::{CapturedOutput, LogBudget};
use super::state::{CallLimiter, HostState, truncate};
use super::warm::{ReuseKey, WarmInstance, WarmPool};
use crate::limits::{Budget, BudgetSpent, CallLimits, Grants, INSTANCE_WAIT};
use crate::nn::{ModelGraphs, NnCall, TensorBudgetSpent};
use crate::store::CallStore;
use crate::taskdata::TaskDataCall;

/// A compiled, pre-linked component that has not been validated yet.
pub struct Compiled {
    pub(super) pre: ModelBindingsPre<HostState>,
    /// True when the artifact came from the compile cache.
    pub from_cache: bool,
}

/// Why a guest call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The model returned its own error.
    #[error("{0}")]
    Guest(GuestError),
    /// The guest trapped (panic, `unreachable`, out-of-bounds access...).
    #[error("the model trapped: {0}")]
    Trap(String),
    /// The guest ran past its time budget.
    #[error("the model ran longer than its {0:?} budget")]
    Timeout(Duration),
    /// The guest spent its fuel budget.
    #[error("the model ran out of its fuel budget of {0} units")]
    FuelExhausted(u64),
    /// The guest tried to grow its memory past the limit.
    #[error("the model exceeded its memory limit of {0} bytes")]
    MemoryLimit(usize),
    /// The guest went over another of its memory budgets (e.g. the tensors it holds).
    #[error("the model exceeded a memory limit: {0}")]
    MemoryLimitOf(String),
    /// The guest returned something that is not a valid answer.
    #[error("the model returned an invalid answer: {0}")]
    InvalidOutput(String),
    /// Every instance slot stayed taken for [`INSTANCE_WAIT`].
    #[error("the model is busy: {0} calls are already running; retry shortly")]
    Busy(usize),
    /// The sandbox could not be set up (e.g. a granted folder disappeared).
    #[error("the model's sandbox could not be prepared: {0}")]
    Sandbox(String),
}

/// A model's own error, from the WIT `model-error` variant.
#[derive(Debug, Clone)]
pub enum GuestError {
    /// The input cannot be used by this model.
    InvalidInput(String),
    /// The label config lacks what the model needs.
    UnsupportedConfig(String),
    /// Anything else.
    Internal(String),
}

impl std::fmt::Display for GuestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Self::UnsupportedConfig(m) => write!(f, "unsupported label config: {m}"),
            Self::Internal(m) => write!(f, "{m}"),
        }
    }
}

impl From<ModelError> for CallError {
    fn from(err: ModelError) -> Self {
        CallError::Guest(match err {
            ModelError::InvalidInput(m) => GuestError::InvalidInput(m),
            ModelError::UnsupportedConfig(m) => GuestError::UnsupportedConfig(m),
            ModelError::Internal(m) => GuestError::Internal(m),
        })
    }
}

/// What `fit` returned.
#[derive(Debug, Clone)]
pub struct FitResult {
    /// The model's result, parsed JSON.
    pub result: serde_json::Value,
    /// True when new trained state was committed.
    pub trained: bool,
}

/// What a call may reach besides its memory: its store transaction and, when the host serves
/// task data, its view of it. A bare [`CallStore`] is a call without task data.
pub struct CallEnv {
    /// The (model, project) store transaction.
    pub store: CallStore,
    /// The call's task-data view; `None`: every fetch answers `unavailable`.
    pub task_data: Option<TaskDataCall>,
}

impl From<CallStore> for CallEnv {
    fn from(store: CallStore) -> Self {
        Self {
            store,
            task_data: None,
        }
    }
}

/// A successful call's answer and its pending store writes, for the caller to commit
/// (possibly together with host records) or drop.
pub struct CallOutcome<T> {
    /// What the guest returned.
    pub value: T,
    /// The call's store with its uncommitted writes.
    pub store: CallStore,
    /// Linear memory the instance held when the call returned, in bytes (all memories of
    /// the component): what one live instance of the model costs.
    pub memory_bytes: usize,
}

/// The inputs every call carries.
pub struct CallInput<'a> {
    /// Project id, empty when unknown.
    pub project: &'a str,
    /// The label config, parsed (and converted for guests once per project and version).
    pub config: &'a CallConfig,
    /// Version stamped on the answer.
    pub model_version: &'a str,
    /// `extra_params` from `/setup`.
    pub extra_params: Option<&'a str>,
}

impl CallInput<'_> {
    /// The calls that may share a warm instance with this one.
    fn reuse_key(&self) -> ReuseKey {
        ReuseKey {
            project: self.project.to_owned(),
            version: self.model_version.to_owned(),
        }
    }

    fn request(&self) -> std::sync::Arc<wit::Request> {
        self.config
            .request(self.project, self.model_version, self.extra_params)
    }
}

/// A validated model, ready to serve calls. Cheap to share; each call gets a warm instance
/// of its project (see [`super::warm`]) or instantiates afresh.
pub struct LoadedModel {
    /// The model's name (file stem).
    pub name: String,
    /// What the model says about itself.
    pub info: ModelInfo,
    /// SHA-256 of the component file, hex.
    pub component_hash: String,
    /// Budgets for each call.
    pub limits: CallLimits,
    /// True when the compiled artifact came from the compile cache.
    pub from_cache: bool,
    /// Capabilities beyond the default sandbox.
    pub grants: Grants,
    /// Its `wasi:nn` graphs, loaded with it and shared by its calls.
    pub graphs: std::sync::Arc<ModelGraphs>,
    /// One permit per call allowed to run at once.
    instances: std::sync::Arc<tokio::sync::Semaphore>,
    /// Instances kept between calls.
    warm: std::sync::Arc<WarmPool>,
    pre: ModelBindingsPre<HostState>,
}

impl LoadedModel {
    /// This model's version after `generation` committed trainings in a project (see
    /// [`crate::version::model_version`]); generation 0 is the untrained version.
    pub fn version(&self, generation: u64) -> String {
        crate::version::model_version(&self.info.version, &self.component_hash, generation)
    }

    /// Calls of this model running now (each holds an instance slot).
    pub fn calls_running(&self) -> usize {
        self.limits
            .max_instances
            .max(1)
            .saturating_sub(self.instances.available_permits())
    }

    /// Warm instances kept for the next calls.
    pub fn warm_instances(&self) -> usize {
        self.warm.len()
    }

    /// Validates `compiled` by instantiating it and asking for its `info`: a component that
    /// cannot start never becomes a loaded model.
    pub async fn validate(
        name: &str,
        compiled: Compiled,
        component_hash: String,
        limits: CallLimits,
        grants: Grants,
        graphs: ModelGraphs,
        store: CallStore,
    ) -> Result<Self, CallError> {
        let mut model = Self {
            name: name.to_owned(),
            info: ModelInfo {
                name: String::new(),
                version: String::new(),
                description: String::new(),
                interactive: false,
            },
            component_hash,
            instances: std::sync::Arc::new(tokio::sync::Semaphore::new(
                limits.max_instances.max(1),
            )),
            warm: WarmPool::new(limits.reuse, limits.max_instances),
            limits,
            from_cache: compiled.from_cache,
            grants,
            graphs: std::sync::Arc::new(graphs),
            pre: compiled.pre,
        };
        let budget = model.predict_budget();
        // `info` has no business writing: its writes are dropped.
        model.info = model
            .run(store, budget, None, async |bindings, store| {
                bindings.call_info(store).await
            })
            .await?
            .value;
        Ok(model)
    }

    /// Calls `predict`; returns one JSON slot per task.
    pub async fn predict(
        &self,
        store: impl Into<CallEnv>,
        input: &CallInput<'_>,
        tasks: &[String],
        context: Option<&str>,
    ) -> Result<CallOutcome<Vec<String>>, CallError> {
        let request = input.request();
        let outcome = self
            .run(
                store,
                self.predict_budget(),
                Some(input.reuse_key()),
                async |bindings, store| {
                    bindings.call_predict(store, &request, tasks, context).await
                },
            )
            .await?;
        Ok(CallOutcome {
            value: outcome.value?,
            store: outcome.store,
            memory_bytes: outcome.memory_bytes,
        })
    }

    /// Calls `fit` with a webhook event and its payload.
    pub async fn fit(
        &self,
        store: impl Into<CallEnv>,
        input: &CallInput<'_>,
        event: &str,
        payload: &str,
    ) -> Result<CallOutcome<FitResult>, CallError> {
        let request = input.request();
        let CallOutcome {
            value,
            store,
            memory_bytes,
        } = self
            .run(
                store,
                self.fit_budget(),
                Some(input.reuse_key()),
                async |bindings, store| bindings.call_fit(store, &request, event, payload).await,
            )
            .await?;
        let outcome = value?;
        let result = if outcome.result.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&outcome.result)
                .map_err(|e| CallError::InvalidOutput(format!("fit result is not JSON: {e}")))?
        };
        Ok(CallOutcome {
            value: FitResult {
                result,
                trained: outcome.trained,
            },
            store,
            memory_bytes,
        })
    }

    fn predict_budget(&self) -> Budget {
        Budget {
            time: self.limits.predict_timeout,
            fuel: self.limits.predict_fuel,
        }
    }

    fn fit_budget(&self) -> Budget {
        Budget {
            time: self.limits.fit_timeout,
            fuel: self.limits.fit_fuel,
        }
    }

    /// One call: a warm instance of `reuse` (see [`super::warm`]) with the call's store,
    /// budgets and task data swapped in, or a fresh sandboxed store and an instantiation from
    /// the pre-linked component; then the call itself, the guest's output to the log, any
    /// failure classified, and a cleanly ended instance kept warm.
    async fn run<R>(
        &self,
        store: impl Into<CallEnv>,
        budget: Budget,
        reuse: Option<ReuseKey>,
        call: impl AsyncFnOnce(&wit::ModelBindings, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<CallOutcome<R>, CallError> {
        // A free slot is taken without arming a timer: the common case stays cheap.
        let _permit = match self.instances.try_acquire() {
            Ok(permit) => permit,
            Err(_) => match tokio::time::timeout(INSTANCE_WAIT, self.instances.acquire()).await {
                Ok(Ok(permit)) => permit,
                _ => return Err(CallError::Busy(self.limits.max_instances)),
            },
        };
        let env = store.into();
        let warm = reuse.as_ref().and_then(|key| self.warm.take(key));
        let started = Instant::now();
        let mut instantiate = None;
        let (mut store, bindings, calls) = match warm {
            Some(WarmInstance {
                mut store,
                bindings,
                calls,
                ..
            }) => {
                self.begin_call(&mut store, env, budget)?;
                (store, bindings, calls)
            }
            None => {
                let mut store = self.new_store(env, budget)?;
                match self.pre.instantiate_async(&mut store).await {
                    Ok(bindings) => {
                        instantiate = Some(started.elapsed());
                        (store, bindings, 0)
                    }
                    Err(err) => {
                        self.flush_output(store.data());
                        return Err(self.classify(&store, budget, err));
                    }
                }
            }
        };
        let running = Instant::now();
        let outcome = call(&bindings, &mut store).await;
        crate::metrics::global().record_guest_call(&self.name, instantiate, running.elapsed());
        self.flush_output(store.data());
        match outcome {
            Ok(value) => {
                let state = store.data_mut();
                let call_store = state.store.detach();
                let memory_bytes = state.limiter.memory_bytes;
                // Nothing of this call's task data outlives it.
                state.task_data = None;
                if let Some(key) = reuse {
                    let instance = WarmInstance::new(store, bindings, calls + 1);
                    self.warm.put(key, instance, memory_bytes);
                }
                Ok(CallOutcome {
                    value,
                    memory_bytes,
                    store: call_store,
                })
            }
            // A failed instance is never reused: it is dropped with its store here.
            Err(err) => Err(self.classify(&store, budget, err)),
        }
    }

    fn new_store(&self, env: CallEnv, budget: Budget) -> Result<Store<HostState>, CallError> {
        let CallEnv { store, task_data } = env;
        let stdout = CapturedOutput::new(self.limits.output_bytes);
        let stderr = CapturedOutput::new(self.limits.output_bytes);
        // Grants nothing by default: no preopened directories, no environment, no arguments,
        // no network. A manifest may add one read-only folder.
        let mut wasi = WasiCtx::builder();
        wasi.stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        if let Some((host, guest)) = &self.grants.read_only_dir {
            wasi.preopened_dir(host, guest, wasmtime_wasi::FsPerms::ReadOnly)
                .map_err(|e| CallError::Sandbox(format!("{}: {e}", host.display())))?;
        }
        let wasi = wasi.build();
        let state = HostState {
            model: self.name.clone(),
            wasi,
            table: Default::default(),
            limiter: CallLimiter::new(self.limits.memory_bytes),
            store,
            stdout,
            stderr,
            log: LogBudget::new(self.limits.output_bytes),
            task_data: None,
            nn: NnCall::new(self.graphs.clone(), Instant::now() + budget.time),
        };
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.limiter);
        self.arm(&mut store, task_data, budget)?;
        Ok(store)
    }

    /// Gives a warm instance's store the next call's transaction, task data and budgets.
    fn begin_call(
        &self,
        store: &mut Store<HostState>,
        env: CallEnv,
        budget: Budget,
    ) -> Result<(), CallError> {
        let state = store.data_mut();
        state.store = env.store;
        state.log = LogBudget::new(self.limits.output_bytes);
        state.limiter.memory_limit_hit = false;
        self.arm(store, env.task_data, budget)
    }

    /// Starts the call's clocks: its task-data and inference deadlines, fuel and epoch
    /// deadline all end with `budget`.
    fn arm(
        &self,
        store: &mut Store<HostState>,
        mut task_data: Option<TaskDataCall>,
        budget: Budget,
    ) -> Result<(), CallError> {
        let deadline = Instant::now() + budget.time;
        if let Some(task_data) = &mut task_data {
            // Fetches end with the call's budget: the guest does not run while the host
            // fetches, so the epoch deadline alone would not stop a slow fetch.
            task_data.set_deadline(deadline);
        }
        let state = store.data_mut();
        state.task_data = task_data;
        // Inferences are stopped at the same deadline, for the same reason.
        state.nn.set_deadline(deadline);
        if self.limits.metered() {
            // A metered model's calls without a budget of their own (e.g. `fit` when only
            // `predict_fuel` is set) run unmetered in practice.
            store
                .set_fuel(budget.fuel.unwrap_or(u64::MAX))
                .map_err(|e| CallError::Sandbox(format!("cannot set the fuel budget: {e}")))?;
        }
        let timeout = budget.time;
        let started = Instant::now();
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if started.elapsed() >= timeout {
                Err(BudgetSpent.into())
            } else {
                // Yield to the executor each tick so one busy guest cannot starve the others.
                Ok(UpdateDeadline::Yield(1))
            }
        });
        Ok(())
    }

    fn classify(
        &self,
        store: &Store<HostState>,
        budget: Budget,
        err: wasmtime::Error,
    ) -> CallError {
        let detail = format!("{err:?}");
        tracing::warn!(model = %self.name, "guest call failed: {detail}");
        let trap = err.downcast_ref::<wasmtime::Trap>();
        if err.downcast_ref::<BudgetSpent>().is_some() {
            CallError::Timeout(budget.time)
        } else if let (Some(wasmtime::Trap::OutOfFuel), Some(fuel)) = (trap, budget.fuel) {
            CallError::FuelExhausted(fuel)
        } else if let Some(spent) = err.downcast_ref::<TensorBudgetSpent>() {
            CallError::MemoryLimitOf(spent.to_string())
        } else if store.data().limiter.memory_limit_hit {
            CallError::MemoryLimit(self.limits.memory_bytes)
        } else if let Some(trap) = trap {
            CallError::Trap(trap.to_string())
        } else {
            // Host-side failures during the call (e.g. a guest passing invalid UTF-8); the
            // first line is enough for the client, the rest went to the log above.
            let first = format!("{err}");
            CallError::Trap(truncate(&first, 200).to_owned())
        }
    }

    fn flush_output(&self, state: &HostState) {
        for (stream, output) in [("stdout", &state.stdout), ("stderr", &state.stderr)] {
            let (text, dropped) = output.take();
            for line in text.lines().filter(|l| !l.is_empty()) {
                tracing::info!(target: "wasml::guest", model = %self.name, stream, "{line}");
            }
            if dropped > 0 {
                tracing::warn!(target: "wasml::guest", model = %self.name, stream, dropped, "guest output over the cap was dropped");
            }
        }
        let (messages, dropped) = state.log.dropped();
        if messages > 0 {
            tracing::warn!(target: "wasml::guest", model = %self.name, stream = "log", messages, dropped, "guest log messages over the cap were dropped");
        }
    }
}
